// The Live feed receives a row per preview, never the payload; an entry's exact bytes
// come from the agent when the operator opens them, and an entry whose bytes the agent
// no longer keeps says so in words. Real PostgreSQL cycles, the real agent API.
import { describe, expect, inject, it } from 'vitest';
import { pgTarget } from '../helpers/pg.js';
import { gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('live feed: the payload’s bytes on demand', () => {
  it('opens the newest entries’ exact bytes from the agent, says in words when an entry’s bytes are gone, and never sends the payload per preview', async () => {
    const pg = inject('pg');
    // The agent keeps the bytes of the newest two entries only, so the third newest is gone.
    const api = app.api({ PW: pg.users.monitor.password }, undefined, { entries: 2, bytes: 32 * 1024 * 1024 });
    const { page, problems, eventSizes } = await openApp(app.browser(), app.base(), api);
    try {
      await api.store.putTarget(pgTarget(pg, pg.users.monitor.user, { id: 'bytesdb', name: 'Bytes DB' }));
      await gotoScreen(page, 'Live feed');
      const feed = page.getByRole('region', { name: 'Live feed' });
      await feed.getByText('Listening').waitFor();
      for (let i = 0; i < 3; i++) await page.evaluate(`window.logstag.call('collect.now', { id: 'bytesdb' })`);
      await feed.getByText('3 payloads received', { exact: false }).waitFor();
      const items = feed.getByRole('list', { name: 'Payload previews' }).getByRole('listitem');
      const entry = feed.getByRole('region', { name: /^Every field of Bytes DB at / });
      const summary = entry.getByText(/^The payload’s exact bytes \(JSON, [\d,]+ bytes\)$/);
      const open = (i: number) =>
        items
          .nth(i)
          .getByRole('button', { name: /^(\+\d+ more|Details)$/ })
          .click();

      // The oldest of the three: its bytes are no longer kept, and the entry says so.
      await open(2);
      await summary.click();
      await entry
        .getByText(/^The agent no longer keeps this entry’s payload bytes \(it keeps those of the newest 2 entries, at most 32\.0 MB\); open a newer entry\.$/)
        .waitFor();
      await expect(entry.getByLabel('Payload JSON, exact bytes').count()).resolves.toBe(0);
      await screenshot(page, 'feed-bytes-gone', entry);
      await entry.getByRole('button', { name: 'Close' }).click();

      // The newest: fetched when opened, exactly as long as the entry said, a payload of this target.
      await open(0);
      await summary.click();
      const json = (await entry.getByLabel('Payload JSON, exact bytes').textContent()) ?? '';
      const said = Number((await summary.textContent())?.match(/JSON, ([\d,]+) bytes/)?.[1]?.replace(/,/g, ''));
      expect(Buffer.byteLength(json)).toBe(said);
      const payload = JSON.parse(json) as { target: { id: string }; collectedAt: string };
      expect(payload.target.id).toBe('bytesdb');
      await expect(items.nth(0).locator('time').getAttribute('datetime')).resolves.toBe(payload.collectedAt);

      // Per preview the window was sent the row only: a small fraction of the payload, whatever its size, and
      // once: the Live feed and the charts share the window's one subscription.
      expect(eventSizes).toHaveLength(3);
      for (const size of eventSizes) expect(size).toBeLessThan(Math.min(16_384, said / 4));
      expect(problems).toEqual([]);
    } finally {
      await page.context().close();
    }
  }, 120_000);
});
