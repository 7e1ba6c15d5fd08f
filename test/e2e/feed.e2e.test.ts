// The live feed screen: payload previews arriving from real PostgreSQL collections,
// each field with its category and the policy's effect; redacted query text; filters; pause.
import { describe, expect, inject, it } from 'vitest';
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
    await expect(list.getByRole('listitem').first().textContent()).resolves.toMatch(/Feed DB/);

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
    await expect(rows.filter({ hasText: 'postgres.activity' }).first().textContent()).resolves.toMatch(/Query text|Client host|Users, roles/);
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
