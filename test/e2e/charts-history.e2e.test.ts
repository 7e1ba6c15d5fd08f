// Charts survive a reload and an app restart (issue 22): the agent keeps each target's
// recent cycles (bounded, in memory and in the target-state folder) and the dashboard
// draws its charts from them on load, then goes on with the live feed.
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { createHandlers } from '../../agent/api/handlers.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { StateStore } from '../../agent/config/state-store.js';
import { RecentHistory } from '../../agent/state/recent-history.js';
import { card, openApp, screenshot, useApp } from './app.js';

const app = useApp();

/** Every chart's accessible name (its latest, lowest and highest values, or why it has none). */
async function chartNames(page: Page): Promise<string[]> {
  const charts = card(page, 'Charts DB').getByRole('region', { name: 'Key metrics of Charts DB, last hour' });
  await charts.getByRole('img', { name: /^Commits, last hour: latest [\d.,]+\/s/ }).waitFor();
  return charts.getByRole('img').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
}

describe('charts survive a reload', () => {
  it('after a few cycles, a reload and an app restart show the same points', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    await api.store.putTarget({
      id: 'charts',
      name: 'Charts DB',
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      user: pg.users.monitor.user,
      database: pg.database,
      password: { env: 'E2E_PG_MONITOR' },
      tls: { mode: 'disable' },
    } as Parameters<typeof api.store.putTarget>[0]);
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const c = card(page, 'Charts DB');
    for (let i = 0; i < 3; i++) {
      await c.getByRole('button', { name: 'Collect now' }).click();
      await c.getByRole('button', { name: 'Collect now' }).waitFor();
      await expect.poll(async () => (await api.history.get('charts')).length).toBe(i + 1);
    }
    const before = await chartNames(page);
    expect(before.some((n) => /^Connections, last hour: latest \d+/.test(n))).toBe(true);

    // A reload: the window's own memory is gone; the charts come back from the agent.
    await page.reload();
    await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
    await expect(chartNames(page)).resolves.toEqual(before);
    await screenshot(page, 'charts-after-reload', c.getByRole('region', { name: 'Key metrics of Charts DB, last hour' }));
    await page.context().close();

    // An app restart: a new handler table and history over the same home read the saved history.
    const file = new RecentHistory(targetStateDir(api.home)).file('charts')!;
    expect(existsSync(file)).toBe(true);
    const store = new StateStore(api.home);
    const restarted = { ...api, store, ...createHandlers({ store, ops: api.ops, history: new RecentHistory(targetStateDir(api.home)) }) };
    const again = await openApp(app.browser(), app.base(), restarted);
    await expect(chartNames(again.page)).resolves.toEqual(before);
    expect([...problems, ...again.problems]).toEqual([]);

    // Removing the target removes its history.
    await again.page.evaluate(`window.logstag.call('targets.delete', { id: 'charts' })`);
    expect(existsSync(file)).toBe(false);
    await again.page.context().close();
  }, 90_000);
});
