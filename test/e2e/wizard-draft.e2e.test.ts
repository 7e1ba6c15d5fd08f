// The wizard is a draft until Finish (issue 22): it survives switching screens and a
// reload, can be cancelled with nothing kept, and a first run opens it.
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { gotoScreen, openApp, useApp } from './app.js';

const app = useApp();
const wizard = (page: Page) => page.getByRole('region', { name: 'Set up a target' });
const atStep = (page: Page, name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();

describe('setup wizard draft', () => {
  it('first run opens the wizard; switching screens and reloading resume it; the same ID never fails with "already exists"; cancel keeps nothing', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    // First run: the guided setup.
    await expect(page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Setup wizard' }).getAttribute('aria-current')).resolves.toBe(
      'page',
    );
    const w = wizard(page);
    await w.getByLabel('PostgreSQL').check();
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Connection');
    await w.getByLabel('ID').fill('draft-pg');
    await w.getByLabel('Host').fill(pg.host);
    await w.getByLabel('Port').fill(String(pg.port));
    await w.getByLabel('Database').fill(pg.database);
    await w.getByLabel('TLS mode').selectOption('disable');

    // Another screen and back: same step, same entries.
    await gotoScreen(page, 'Readiness');
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Connection');
    await expect(w.getByLabel('ID').inputValue()).resolves.toBe('draft-pg');
    await expect(w.getByLabel('TLS mode').inputValue()).resolves.toBe('disable');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Credentials');
    await w.getByLabel('User').fill(pg.users.monitor.user);
    await w.getByLabel('From an environment variable').check();
    await w.getByLabel('Variable name').fill('E2E_PG_MONITOR');
    await w.getByRole('button', { name: /continue$/ }).click();
    await atStep(page, 'Test connection');

    // A reload resumes after the credentials: no second create, no "already exists".
    await page.reload();
    await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Test connection');
    await w.getByRole('button', { name: 'Test connection' }).click();
    await expect(w.getByRole('status', { name: 'Connection verdict' }).textContent()).resolves.toMatch(/Connected/);
    await w.getByRole('button', { name: 'Back' }).click();
    await atStep(page, 'Credentials');
    await w.getByRole('button', { name: /continue$/ }).click();
    await atStep(page, 'Test connection');
    await expect(w.getByText(/already exists/).count()).resolves.toBe(0);
    // No password was ever written to the draft.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(stored).not.toContain(pg.users.monitor.password);

    // Cancel: asked once, then nothing is kept (the saved target is removed), the wizard starts over.
    await w.getByRole('button', { name: 'Cancel setup' }).click();
    await w.getByRole('group', { name: 'Cancel the setup' }).getByRole('button', { name: 'Discard the setup' }).click();
    await atStep(page, 'Engine');
    await w.getByText('Setup cancelled: nothing was kept.').waitFor();
    expect(api.store.target('draft-pg')).toBeUndefined();
    await gotoScreen(page, 'Dashboard');
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Engine');
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.getByLabel('ID').inputValue()).resolves.toBe('');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
