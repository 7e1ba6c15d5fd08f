// The targets dashboard: navigation, a target's health after a collection, dark theme.
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('dashboard', () => {
  it('lists targets with their health and last cycle, and the navigation reaches every screen', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const nav = page.getByRole('navigation', { name: 'Screens' });
    await expect(nav.getByRole('button', { name: 'Dashboard' }).getAttribute('aria-current')).resolves.toBe('page');
    await addTarget(page, { id: 'dash', name: 'Dash DB', host: pg.host, port: String(pg.port), user: pg.users.monitor.user, database: pg.database, env: 'E2E_PG_MONITOR' });
    const c = card(page, 'Dash DB');
    await c.getByRole('button', { name: 'Collect now' }).click();
    await c.getByText(/All signals available|Some signals unavailable/).waitFor();
    await screenshot(page, 'dashboard');

    for (const [name, heading] of [
      ['Setup wizard', 'Set up a target'],
      ['Live feed', 'Live feed'],
      ['Readiness', 'Production readiness'],
      ['Settings', 'Settings'],
      ['Dashboard', 'Targets'],
    ] as const) {
      await gotoScreen(page, name);
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      await expect(nav.getByRole('button', { name }).getAttribute('aria-current')).resolves.toBe('page');
    }
    await card(page, 'Dash DB').getByText(/All signals available|Some signals unavailable/).waitFor();

    // The OS dark theme is followed.
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).not.toBe('rgb(246, 247, 249)');
    await screenshot(page, 'dashboard-dark');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
