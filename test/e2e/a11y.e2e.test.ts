// Accessibility (issue 22): axe-core finds 0 violations on every screen, light and dark,
// with real content (a pg_monitor target with its permission report, a result and its
// payload JSON opened, an unreachable target). axe is injected through the DevTools
// protocol, so the renderer's Content-Security-Policy stays exactly as shipped.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, useApp } from './app.js';

const app = useApp();
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe on the whole page: every violation, one line per rule and element. */
async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
  const found = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`)) as AxeViolation[];
  return found.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`));
}

async function checkSchemes(page: Page, screen: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(50);
    expect(await violations(page), `${screen}, ${scheme}`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

describe('accessibility', () => {
  it('axe finds 0 violations on every screen, light and dark', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await page.setViewportSize({ width: 1280, height: 800 });

    // A first run: the setup wizard, empty.
    await page.getByRole('heading', { name: 'Set up a target', level: 2 }).waitFor();
    // The check can fail: a button without a name is reported, then removed.
    await page.evaluate(`document.body.append(Object.assign(document.createElement('button'), { id: 'axe-probe' }))`);
    expect((await violations(page)).some((v) => v.startsWith('button-name') && v.includes('#axe-probe'))).toBe(true);
    await page.evaluate(`document.getElementById('axe-probe').remove()`);
    await checkSchemes(page, 'wizard (first run)');

    await addTarget(page, {
      id: 'mon',
      name: 'Monitor',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    await addTarget(page, { id: 'gone', name: 'Gone', host: 'host-that-does-not-resolve.invalid', port: '5432', user: 'nobody', database: 'postgres' });
    const c = card(page, 'Monitor');
    await c.getByRole('button', { name: 'Check permissions' }).click();
    await c.getByRole('region', { name: 'Permissions for Monitor' }).waitFor();
    await c.getByRole('button', { name: 'Collect now' }).click();
    const result = c.getByRole('region', { name: 'Collection result for Monitor' });
    await result.waitFor();
    await result.getByText(/^Payload exactly as it would be sent \(JSON/).click();
    await card(page, 'Gone').getByRole('button', { name: 'Collect now' }).click();
    await card(page, 'Gone').getByRole('region', { name: 'Collection result for Gone' }).waitFor();
    await checkSchemes(page, 'dashboard');

    await gotoScreen(page, 'Live feed');
    await page.getByRole('heading', { name: 'Live feed', level: 2 }).waitFor();
    await checkSchemes(page, 'feed');
    await page
      .getByRole('button', { name: /^\+\d+ more$/ })
      .first()
      .click();
    await page.getByRole('region', { name: /^Every field of / }).waitFor();
    await checkSchemes(page, 'feed, an entry opened');
    await gotoScreen(page, 'Readiness');
    await page.getByText(/Checked live at/).waitFor();
    await checkSchemes(page, 'readiness');
    await gotoScreen(page, 'Settings');
    await page.getByRole('heading', { name: 'Settings', level: 2 }).waitFor();
    await checkSchemes(page, 'settings');
    await gotoScreen(page, 'Setup wizard');
    await page.getByRole('heading', { name: 'Set up a target', level: 2 }).waitFor();
    await checkSchemes(page, 'wizard');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 240_000);
});
