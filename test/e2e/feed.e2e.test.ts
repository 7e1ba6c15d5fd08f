// The live feed screen: payload previews arriving from real PostgreSQL collections,
// each field with its category and the policy's effect; redacted query text; filters; pause.
import type { Locator } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { CATEGORY_LABEL } from '../../renderer/src/lib/format.js';
import { addTarget, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('live feed', () => {
  it('shows redacted query text, filters by target and category, and pauses', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await addTarget(page, {
      id: 'feeddb',
      name: 'Feed DB',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    await gotoScreen(page, 'Live feed');
    const feed = page.getByRole('region', { name: 'Live feed' });
    await feed.getByText('Listening').waitFor();

    const collect = () => page.evaluate(`window.logstag.call('collect.now', { id: 'feeddb' })`);
    await collect();
    const list = feed.getByRole('list', { name: 'Payload previews' });
    await list.getByRole('listitem').first().waitFor();
    await expect.poll(() => list.getByRole('listitem').first().textContent(), { timeout: 10_000 }).toMatch(/Feed DB/);

    // Query text is redacted by default: the field says so, and its value is not the raw statement.
    await feed.getByLabel('Category').selectOption('query_text');
    const queryField = list.locator('.field.redact', { hasText: 'query' }).first();
    await queryField.waitFor();
    await expect(queryField.textContent()).resolves.toMatch(/Redacted/);
    await screenshot(page, 'feed');

    // Pause: new previews are counted, not shown, until resumed.
    await feed.getByRole('button', { name: 'Pause' }).click();
    await expect(feed.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).resolves.toBe('true');
    const before = await list.getByRole('listitem').count();
    await collect();
    await feed.getByText(/1 new not shown/).waitFor();
    expect(await list.getByRole('listitem').count()).toBe(before);
    await feed.getByRole('button', { name: 'Resume' }).click();
    await feed.getByText('2 payloads received', { exact: false }).waitFor();
    await expect(list.getByRole('listitem').count()).resolves.toBe(2);

    // The feed keeps its history while another screen is shown.
    await gotoScreen(page, 'Dashboard');
    await gotoScreen(page, 'Live feed');
    await expect(list.getByRole('listitem').count()).resolves.toBe(2);

    await feed.getByLabel('Category').selectOption('');
    await expect(feed.getByLabel('Target').locator('option').allTextContents()).resolves.toEqual(['All targets', 'Feed DB']);

    // "+N more" opens the entry: every field with its signal, its category in words, and what leaves.
    const more = list
      .getByRole('listitem')
      .first()
      .getByRole('button', { name: /^\+\d+ more$/ });
    const hidden = Number((await more.textContent())?.match(/\d+/)?.[0]);
    await more.click();
    await expect(more.getAttribute('aria-expanded')).resolves.toBe('true');
    const entry = feed.getByRole('region', { name: /^Every field of Feed DB at / });
    const rows = entry.getByRole('row');
    await expect(rows.count()).resolves.toBe(hidden + 4 + 1);
    await expect
      .poll(() => rows.filter({ hasText: 'postgres.activity' }).first().textContent(), { timeout: 10_000 })
      .toMatch(/Query text|Client host|Users, roles/);
    await expect(entry.getByRole('cell', { name: 'Query text', exact: true }).count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'feed-entry', entry);
    // A field name shared by two signals names its signal in the entry's chips (e.g. activity.usename).
    const chips = await list.getByRole('listitem').first().locator('.field .name').allTextContents();
    const names = (await entry.locator('tbody tr td:first-child').allTextContents()).map((x) => x.trim());
    for (const chip of chips) {
      const bare = chip.includes('.') ? chip.slice(chip.lastIndexOf('.') + 1) : chip;
      expect(chip.includes('.')).toBe(names.filter((n) => n === bare).length > 1);
    }
    await entry.getByRole('button', { name: 'Close' }).click();
    await expect(entry.count()).resolves.toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

/** How much of an element is cut off: its own text past its box, or its box past the chip's or the row's edge. */
async function cut(el: Locator): Promise<string | null> {
  return el.evaluate((e) => {
    const r = e.getBoundingClientRect();
    const chip = (e.closest('.field') ?? e).getBoundingClientRect();
    const row = e.closest('.fields')!.getBoundingClientRect();
    if (e.scrollWidth > e.clientWidth + 1) return `text ${e.scrollWidth}px in ${e.clientWidth}px`;
    if (r.right > chip.right + 1) return `ends at ${r.right}px, its chip at ${chip.right}px`;
    if (r.right > row.right + 1) return `ends at ${r.right}px, the row at ${row.right}px`;
    return null;
  });
}

describe('live feed: the category on collapsed chips', () => {
  it('every collapsed chip shows its field’s category in words, whole, at 640, 900 and 1280 px, with long names', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const long = 'Orders primary database in the Frankfurt data centre (production, do not restart)';
    await addTarget(page, {
      id: 'orders',
      name: long,
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    await gotoScreen(page, 'Live feed');
    const feed = page.getByRole('region', { name: 'Live feed' });
    await feed.getByText('Listening').waitFor();
    await page.evaluate(`window.logstag.call('collect.now', { id: 'orders' })`);
    const list = feed.getByRole('list', { name: 'Payload previews' });
    const first = list.getByRole('listitem').first();
    await first.waitFor();
    // The opened entry is the reference: each field's category, in full words.
    await first.getByRole('button', { name: /^\+\d+ more$/ }).click();
    const entry = feed.getByRole('region', { name: /^Every field of / });
    const table = (await entry
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())))) as string[][];
    // The words on a chip's category tag, per category.
    const SHORT: Record<string, string> = {
      query_text: 'Query',
      slowlog_args: 'Slow-log',
      current_ops: 'Ops',
      object_names: 'Objects',
      identity_metadata: 'Identity',
      client_metadata: 'Client',
      config_posture: 'Config',
    };
    const shortOf = new Map(Object.entries(CATEGORY_LABEL).map(([c, label]) => [label, SHORT[c]]));
    const categoryOf = (label: string): string | undefined =>
      table.find(([field, signal]) => field === label || `${signal!.slice(signal!.indexOf('.') + 1)}.${field}` === label)?.[2];

    // 640×480 is the window's smallest size (electron/shell/window.ts).
    for (const size of [
      { width: 640, height: 480 },
      { width: 900, height: 600 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(size);
      // A category filter shows each category's fields first on the chips: every category present gets checked.
      for (const category of ['', 'query_text', 'client_metadata', 'identity_metadata']) {
        await feed.getByLabel('Category').selectOption(category);
        const chips = first.locator('.field');
        const n = await chips.count();
        expect(n, `${size.width} px, filter "${category}"`).toBeGreaterThan(0);
        for (let i = 0; i < n; i++) {
          const chip = chips.nth(i);
          const name = (await chip.locator('.name').textContent())!.trim();
          const expected = shortOf.get(categoryOf(name) ?? '');
          expect(expected, `${name} is in the opened entry`).toBeDefined();
          // The category is on the chip in words, not only in the tooltip: visible and not cut off.
          const tag = chip.getByText(expected!, { exact: true });
          await expect(tag.isVisible(), `${name}: category tag`).resolves.toBe(true);
          await expect(cut(tag), `${name}: category tag at ${size.width} px`).resolves.toBeNull();
          // And what leaves (Collected / Redacted / Excluded) stays whole next to it.
          await expect(cut(chip.locator('.tag')), `${name}: action at ${size.width} px`).resolves.toBeNull();
          // The sample gives way before the name: a chip never cuts its field's name while it shows a sample.
          const squeezed = await chip.evaluate((c) => {
            const label = c.querySelector('.name')!;
            const sample = c.querySelector('code');
            return label.scrollWidth > label.clientWidth + 1 && sample !== null && sample.getBoundingClientRect().width > 0;
          });
          expect(squeezed, `${name}: name cut while its sample is shown, at ${size.width} px`).toBe(false);
        }
        const more = first.getByRole('button', { name: /^\+\d+ more$/ });
        if ((await more.count()) > 0) await expect(cut(more), '+N more at the row end').resolves.toBeNull();
      }
      await feed.getByLabel('Category').selectOption('');
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await screenshot(page, `feed-chips-${size.width}-${scheme}`, feed);
      }
      await page.emulateMedia({ colorScheme: 'light' });
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
