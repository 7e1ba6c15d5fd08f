// The targets dashboard: navigation, a target's health after a collection, dark theme.
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('dashboard', () => {
  it('lists targets with their health and last cycle, and the navigation reaches every screen', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_LOWPRIV: pg.users.lowpriv.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const nav = page.getByRole('navigation', { name: 'Screens' });
    await expect(nav.getByRole('button', { name: 'Dashboard' }).getAttribute('aria-current')).resolves.toBe('page');
    await addTarget(page, { id: 'dash', name: 'Dash DB', host: pg.host, port: String(pg.port), user: pg.users.monitor.user, database: pg.database, env: 'E2E_PG_MONITOR' });
    const c = card(page, 'Dash DB');
    await c.getByRole('button', { name: 'Collect now' }).click();
    await c.getByText(/All signals available|Some signals unavailable/).waitFor();

    // Charts of key metrics, fed by the cycles of the live feed: a second cycle gives the rates.
    const charts = c.getByRole('region', { name: 'Key metrics of Dash DB, last hour' });
    await charts.getByRole('img', { name: /^Connections, last hour: latest \d+/ }).waitFor();
    await expect(charts.getByRole('img', { name: /^Commits, last hour: no value yet \(needs a second cycle\)/ }).count()).resolves.toBe(1);
    await c.getByRole('button', { name: 'Collect now' }).click();
    await charts.getByRole('img', { name: /^Commits, last hour: latest [\d.,]+\/s/ }).waitFor();
    await expect(charts.locator('canvas').count()).resolves.toBeGreaterThanOrEqual(3);

    // A least-privileged identity cannot read other sessions: that chart says why instead of drawing 0.
    await addTarget(page, { id: 'low', name: 'Low DB', host: pg.host, port: String(pg.port), user: pg.users.lowpriv.user, database: pg.database, env: 'E2E_PG_LOWPRIV' });
    const low = card(page, 'Low DB');
    await low.getByRole('button', { name: 'Collect now' }).click();
    const active = low.getByRole('img', { name: /^Active sessions: unavailable: / });
    await active.waitFor();
    await expect(active.textContent()).resolves.toMatch(/^unavailable: .*pg_read_all_stats/);
    await screenshot(page, 'dashboard');
    await screenshot(page, 'dashboard-charts', charts);
    await screenshot(page, 'dashboard-charts-limited', low.getByRole('region', { name: /^Key metrics/ }));

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
    await screenshot(page, 'dashboard-charts-dark', card(page, 'Dash DB').getByRole('region', { name: /^Key metrics/ }));
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
