// The readiness page: each item checked live against the agent API; what the API
// cannot tell is said to be not checked, never shown green.
import { chmodSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, gotoScreen, openApp, screenshot, useApp } from './app.js';
import { axeViolations } from './axe.js';

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

describe('readiness you can act on', () => {
  const ORDER = ['fail', 'pending', 'unknown', 'not_checked', 'pass'];

  it('heads the page with counts by state, sorts targets and items worst first, and each problem has a button that goes where the fix is', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_ADMIN: pg.users.admin.password, E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.base() });
    // Added in the best-first order, so a list that is not sorted shows it.
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
    // Nothing listens on port 1: the permission check cannot reach it.
    await addTarget(page, { id: 'gone', name: 'Gone', host: '127.0.0.1', port: '1', user: 'nobody', database: 'postgres' });
    chmodSync(api.store.file, 0o644);
    await gotoScreen(page, 'Readiness');
    await page.getByText(/Checked live at/).waitFor();

    // The summary: counts by state, of the checklist and of the targets.
    const summary = page.getByRole('region', { name: 'Readiness summary' });
    const states = (await page.locator('li[data-item]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))) as string[];
    for (const state of new Set(states)) {
      await expect(summary.locator(`[data-summary="${state}"]`).textContent()).resolves.toContain(String(states.filter((s) => s === state).length));
    }
    await expect(summary.locator('[data-target-summary="unreachable"]').textContent()).resolves.toMatch(/Not reachable\s*1\s*target/);
    await expect(summary.locator('[data-target-summary="attention"]').textContent()).resolves.toMatch(/Needs attention\s*1\s*target/);
    await expect(summary.locator('[data-target-summary="ready"]').textContent()).resolves.toMatch(/Ready\s*1\s*target/);

    // Worst first: items by state, targets not reachable, then needing attention, then ready.
    expect(states.map((s) => ORDER.indexOf(s))).toEqual([...states.map((s) => ORDER.indexOf(s))].sort((a, b) => a - b));
    expect(states[0]).toBe('fail');
    await expect(page.locator('li[data-target]').evaluateAll((els) => els.map((e) => e.getAttribute('data-target')))).resolves.toEqual(['gone', 'adm', 'mon']);
    await screenshot(page, 'readiness-summary');
    await expect(axeViolations(page)).resolves.toEqual([]);

    // A command shown there has its Copy button, and it copies the command itself.
    const perms = item(page, 'config-permissions');
    await perms.getByRole('button', { name: `Copy the command chmod 600 "${api.store.file}"` }).click();
    await perms.getByText('Copied.').waitFor();
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(`chmod 600 "${api.store.file}"`);

    // The administrator identity: the button opens Admin's permission report on the dashboard, focused.
    await item(page, 'identity').getByRole('button', { name: 'Open the permission report of Admin' }).click();
    const adminReport = page.getByRole('region', { name: 'Permissions for Admin' });
    await adminReport.waitFor();
    await expect(page.evaluate('document.activeElement?.closest("section")?.getAttribute("aria-label")')).resolves.toBe('Permissions for Admin');
    await expect(adminReport.getByRole('alert').textContent()).resolves.toMatch(/is an administrator/);

    // The unreachable target: its connection test, with the plain-words reason.
    await gotoScreen(page, 'Readiness');
    await page.locator('li[data-target="gone"]').getByRole('button', { name: 'Test the connection of Gone' }).click();
    await page
      .getByRole('article', { name: 'Gone' })
      .getByRole('status', { name: 'Connection verdict' })
      .getByText(/refused/i)
      .first()
      .waitFor();
    await expect(page.evaluate('document.activeElement?.closest("article")?.getAttribute("aria-labelledby")')).resolves.toBe('target-gone-heading');

    // No destination: Settings, at the destination form.
    await gotoScreen(page, 'Readiness');
    await item(page, 'destination').getByRole('button', { name: 'Open Settings → Logstag destination' }).click();
    await page.getByRole('form', { name: 'Logstag destination' }).waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('dest-heading');

    // No policy: Settings, at the workspace policy.
    await gotoScreen(page, 'Readiness');
    await item(page, 'categories').getByRole('button', { name: 'Open Settings → Workspace default policy' }).click();
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('ws-policy-heading');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
