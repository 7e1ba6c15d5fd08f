// Layout that holds (issue 22): no screen overflows sideways at 900×600 or 1280×800,
// with a large payload (a pg_monitor target), long names, an opened permission report,
// an opened result and its payload JSON. Long content scrolls inside its own pane.
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

const SIZES = [
  { width: 1280, height: 800 },
  { width: 900, height: 600 },
] as const;

/**
 * Everything that sticks out sideways: the page wider than the window, and any box whose
 * content is wider than the box while the box does not scroll (so the content is cut off
 * or spills over a neighbour). Visually hidden text (1 px boxes) is not layout.
 */
async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page is ${doc.scrollWidth}px wide in a ${doc.clientWidth}px window`);
    const name = (el: Element): string => {
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${cls} "${(el.textContent ?? '').trim().slice(0, 40)}"`;
    };
    for (const el of document.querySelectorAll('body *')) {
      if (!(el instanceof HTMLElement) || el.closest('[hidden]')) continue;
      const cs = getComputedStyle(el);
      if (cs.display === 'none' || cs.display === 'inline' || cs.display === 'contents') continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 2 || r.height <= 2) continue;
      const scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
      // A single line cut with an ellipsis says so on screen (a sample of a long value); nothing is hidden silently.
      const marksCut = cs.overflowX === 'hidden' && cs.textOverflow === 'ellipsis' && cs.whiteSpace === 'nowrap';
      if (!scrolls && !marksCut && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)}: content ${el.scrollWidth}px in ${el.clientWidth}px`);
      // Only the outermost box past the window's edge (its content goes with it).
      const parent = el.parentElement?.getBoundingClientRect();
      if (r.right > doc.clientWidth + 1 && (parent === undefined || parent.right <= doc.clientWidth + 1))
        out.push(`${name(el)}: right edge at ${Math.round(r.right)}px, window ${doc.clientWidth}px`);
    }
    return out;
  });
}

async function checkBothSizes(page: Page, screen: string): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(50);
    const found = await overflow(page);
    expect(found, `${screen} at ${size.width}×${size.height}`).toEqual([]);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await screenshot(page, `layout-${screen}-${size.width}x${size.height}-${scheme}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }
}

describe('layout', () => {
  it('no screen overflows sideways at 900×600 or 1280×800, with large payloads and long names', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const long = 'Orders primary database in the Frankfurt data centre (production, do not restart)';
    await addTarget(page, {
      id: 'orders-primary-frankfurt-production-database-cluster-01',
      name: long,
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    await addTarget(page, { id: 'gone', name: 'Gone', host: 'host-that-does-not-resolve.invalid', port: '5432', user: 'nobody', database: 'postgres' });

    const c = card(page, long);
    await c.getByRole('button', { name: 'Check permissions' }).click();
    await c.getByRole('region', { name: `Permissions for ${long}` }).waitFor();
    await c.getByRole('button', { name: 'Collect now' }).click();
    const result = c.getByRole('region', { name: `Collection result for ${long}` });
    await result.waitFor();
    await result.getByText(/^Payload exactly as it would be sent \(JSON/).click();
    await card(page, 'Gone').getByRole('button', { name: 'Collect now' }).click();
    await card(page, 'Gone').getByRole('region', { name: 'Collection result for Gone' }).waitFor();
    await checkBothSizes(page, 'dashboard');
    // Results collapse: the page does not grow by every signal's rows.
    await page.setViewportSize(SIZES[0]);
    const height = await page.evaluate('document.documentElement.scrollHeight');
    expect(height).toBeLessThan(3000);

    await gotoScreen(page, 'Live feed');
    await page.getByRole('heading', { name: 'Live feed', level: 2 }).waitFor();
    await checkBothSizes(page, 'feed');
    await page
      .getByRole('button', { name: /^\+\d+ more$/ })
      .first()
      .click();
    await page.getByRole('region', { name: /^Every field of / }).waitFor();
    await checkBothSizes(page, 'feed-entry');
    await gotoScreen(page, 'Readiness');
    await page.getByRole('heading', { name: 'Production readiness', level: 2 }).waitFor();
    await page.getByText(/Checked live at/).waitFor();
    await checkBothSizes(page, 'readiness');
    await gotoScreen(page, 'Settings');
    await page.getByRole('heading', { name: 'Settings', level: 2 }).waitFor();
    await checkBothSizes(page, 'settings');
    await gotoScreen(page, 'Setup wizard');
    await page.getByRole('heading', { name: 'Set up a target', level: 2 }).waitFor();
    await checkBothSizes(page, 'wizard');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 240_000);
});
