// Honest status (issue 22): a correct least-privilege setup (a pg_monitor role) is not
// yellow. pg_hba_file_rules is readable only by superusers unless granted one by one,
// so its checklist item is optional: it is shown with its fix, never counted as missing,
// and its unavailable signal makes neither the dashboard card nor the tray "limited".
import { describe, expect, inject, it } from 'vitest';
import { AgentRuntime } from '../../agent/run/app-runtime.js';
import { trayViewOf } from '../../electron/shell/tray-state.js';
import { addTarget, card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('honest status', () => {
  it('a pg_monitor setup is complete: optional items stay neutral, the card and the tray agree', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_LOW: pg.users.lowpriv.password });
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
      id: 'low',
      name: 'Low',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.lowpriv.user,
      database: pg.database,
      env: 'E2E_PG_LOW',
    });

    // The agent marks the item; the report says "optional" in a neutral badge.
    const answer = (await page.evaluate(`window.logstag.call('targets.checkPermissions', { id: 'mon' })`)) as {
      ok: boolean;
      result: { items: { grant: string; status: string; optional?: true }[] };
    };
    expect(answer.ok).toBe(true);
    const report = answer.result;
    const hba = report.items.find((i) => i.grant === 'pg_hba_file_rules');
    expect(hba).toMatchObject({ status: 'missing', optional: true });
    expect(report.items.filter((i) => i.status === 'missing' && i.optional !== true)).toEqual([]);
    const mon = card(page, 'Monitor');
    await mon.getByRole('button', { name: 'Check permissions' }).click();
    const region = mon.getByRole('region', { name: 'Permissions for Monitor' });
    await region.waitFor();
    const row = region.getByRole('row').filter({ hasText: 'pg_hba_file_rules' });
    await expect(row.getByText('Missing (optional)').count()).resolves.toBe(1);
    await expect(region.getByText('-- optional, pg_hba_file_rules:').count()).resolves.toBe(1);
    for (const size of [
      { width: 1280, height: 800 },
      { width: 900, height: 600 },
    ]) {
      await page.setViewportSize(size);
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await screenshot(page, `status-optional-item-${size.width}x${size.height}-${scheme}`, region);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });

    // The tray, through the runtime the app runs, and the dashboard cards after the same cycles.
    const runtime = new AgentRuntime({ store: api.store, ops: api.ops, deliver: () => Promise.resolve(undefined) });
    const hbaState: string[] = [];
    api.ops.cycles.on('cycle', (r: { payload: { target: { id: string }; signals: { id: string; status: string }[] } }) => {
      if (r.payload.target.id === 'mon') hbaState.push(r.payload.signals.find((x) => x.id === 'postgres.hba_rules')?.status ?? 'absent');
    });
    runtime.start();
    try {
      await expect.poll(() => runtime.status().targets.every((t) => t.state !== 'never_collected'), { timeout: 30_000 }).toBe(true);
      const status = runtime.status();
      const byId = new Map(status.targets.map((t) => [t.id, t]));
      // The optional signal is still reported unavailable (nothing hidden), but it is no grant gap.
      expect(hbaState).toContain('unavailable');
      expect(byId.get('mon')).toMatchObject({ permissionGaps: 0 });
      expect(byId.get('mon')?.unavailableSignals).toBeGreaterThan(0);
      // The lowpriv role lacks required grants: limited, and the tray names the grants.
      expect(byId.get('low')?.permissionGaps).toBeGreaterThan(0);
      const tray = trayViewOf(status);
      expect(tray.state).toBe('limited');
      expect(tray.tooltip).toMatch(/low: \d+ signals need a grant/);
      expect(tray.tooltip).not.toMatch(/mon: \d+ signals? need a grant/);
      // The tray and the dashboard agree, target by target.
      for (const t of status.targets) {
        const alone = trayViewOf({ ...status, targets: [t] }).state;
        const c = card(page, t.name);
        await c.getByRole('button', { name: 'Collect now' }).click();
        await c.getByText(/All required signals available|Some signals unavailable/).waitFor();
        const limitedOnCard = await c.getByText('Some signals unavailable').isVisible();
        expect({ id: t.id, limited: alone === 'limited' }).toEqual({ id: t.id, limited: limitedOnCard });
        expect(api.ops.healthOf(t.id).state === 'limited').toBe(limitedOnCard);
      }
    } finally {
      await runtime.stop();
    }

    // Readiness counts required grants only: Low is named, Monitor is not.
    await gotoScreen(page, 'Readiness');
    const least = page.locator('li[data-item="least-privilege"]');
    await least.getByText(/Missing grants: Low \(\d+ missing\)/).waitFor();
    await expect(least.textContent()).resolves.not.toMatch(/Monitor/);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 120_000);
});
