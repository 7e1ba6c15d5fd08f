// The permission checklist of a least-privileged PostgreSQL user (LOGIN only):
// the missing grants, the exact script, and re-check.
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('permission checklist', () => {
  it('shows the missing grants of a least-privileged user, with the script, and re-checks', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_LOWPRIV: pg.users.lowpriv.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await addTarget(page, {
      id: 'lowdb',
      name: 'Low privilege',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.lowpriv.user,
      database: pg.database,
      env: 'E2E_PG_LOWPRIV',
    });
    const c = card(page, 'Low privilege');
    await c.getByRole('button', { name: 'Check permissions' }).click();
    const report = c.getByRole('region', { name: 'Permissions for Low privilege' });
    await report.waitFor();
    await expect(report.getByRole('alert').count()).resolves.toBe(0); // not an administrator
    const missing = report.locator('tbody tr', { hasText: 'Missing' });
    expect(await missing.count()).toBeGreaterThanOrEqual(2);
    const rows = await missing.allTextContents();
    expect(rows.join('\n')).toMatch(/pg_read_all_stats/);
    expect(rows.join('\n')).toMatch(/pg_read_all_settings/);
    const script = (await report.getByLabel('Grant script').textContent()) ?? '';
    expect(script).toMatch(/GRANT pg_read_all_stats TO lowpriv|GRANT pg_monitor TO lowpriv/);
    await screenshot(page, 'checklist');
    // Re-check after "the DBA acted" (nothing changed here): the same verdicts come back.
    await c.getByRole('button', { name: 'Check permissions' }).click();
    await report.waitFor();
    expect(await report.locator('tbody tr', { hasText: 'Missing' }).count()).toBe(rows.length);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
