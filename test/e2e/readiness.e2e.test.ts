// The readiness page: each item checked live against the agent API; what the API
// cannot tell is said to be not checked, never shown green.
import { chmodSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();
const item = (page: Page, id: string) => page.locator(`li[data-item="${id}"]`);

describe('readiness', () => {
  it('checks identities, least privilege, secrets, destination and categories live', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_ADMIN: pg.users.admin.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await addTarget(page, {
      id: 'mon',
      name: 'Monitor',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    await addTarget(page, {
      id: 'adm',
      name: 'Admin',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.admin.user,
      database: pg.database,
      env: 'E2E_PG_ADMIN',
    });
    await gotoScreen(page, 'Readiness');
    await page.getByText(/Checked live at/).waitFor();

    await expect(item(page, 'identity').getAttribute('data-state')).resolves.toBe('fail');
    await expect(item(page, 'identity').textContent()).resolves.toMatch(/Administrator identity used by: Admin/);
    // pg_monitor lacks only the superuser-only pg_hba_file_rules, which is optional: nothing required is missing.
    await expect(item(page, 'least-privilege').getAttribute('data-state')).resolves.toBe('pass');
    await expect(item(page, 'least-privilege').textContent()).resolves.toMatch(/No grant missing on any target/);
    await expect(item(page, 'secrets').getAttribute('data-state')).resolves.toBe('pass');
    await expect(item(page, 'destination').getAttribute('data-state')).resolves.toBe('fail');
    await expect(item(page, 'categories').getAttribute('data-state')).resolves.toBe('fail');
    // Checked live from status.get: the fresh home is private; passwords from the environment have no known age.
    await expect(item(page, 'config-permissions').getAttribute('data-state')).resolves.toBe('pass');
    await expect(item(page, 'rotation').getAttribute('data-state')).resolves.toBe('unknown');
    await expect(item(page, 'rotation').textContent()).resolves.toMatch(
      /cannot tell when these were set: .*Monitor \(password\): from an environment variable/,
    );
    for (const id of ['network', 'workspace-access']) {
      await expect(item(page, id).getAttribute('data-state')).resolves.toBe('not_checked');
      await expect(item(page, id).textContent()).resolves.toMatch(/Not checked by this build|cannot check/);
    }
    await screenshot(page, 'readiness');

    // Fix two items through the API, then check again.
    await page.evaluate(`window.logstag.call('targets.delete', { id: 'adm' })`);
    await page.evaluate(
      `window.logstag.call('settings.update', { policy: { client_metadata: 'redact' }, destination: { url: 'https://ingest.example.com/v1', apiKey: { env: 'LOGSTAG_KEY' } } })`,
    );
    await page.getByRole('button', { name: 'Check again' }).click();
    await page.locator('li[data-item="destination"][data-state="pass"]').waitFor();
    await expect(item(page, 'identity').getAttribute('data-state')).resolves.toBe('pass');
    await expect(item(page, 'categories').getAttribute('data-state')).resolves.toBe('pass');

    // The state file opened to other users is reported with the command that fixes it.
    chmodSync(api.store.file, 0o644);
    await page.getByRole('button', { name: 'Check again' }).click();
    await page.locator('li[data-item="config-permissions"][data-state="fail"]').waitFor();
    await expect(item(page, 'config-permissions').textContent()).resolves.toContain(`chmod 600 "${api.store.file}"`);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
