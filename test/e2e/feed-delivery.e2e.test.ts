// Spooled or sent, per Live feed entry (issue 22): the agent reports where each payload it
// handed to delivery is (status.get → delivery.payloads), and the feed says it: still spooled,
// with why delivery is failing; sent, and when; kept local without a destination. Against a
// real ingest server (HTTPS, its own CA) that goes down and comes back.
import { describe, expect, inject, it } from 'vitest';
import { AppDelivery } from '../../agent/delivery/app-delivery.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { DestinationSchema } from '../../contract/destination.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { addTarget, gotoScreen, openApp, screenshot, useApp } from './app.js';
import { axeViolations } from './axe.js';

const app = useApp();
const AGENT = { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'e2e-host' };

/** The app's delivery on the API's home, fed the way the run loop feeds it: every collected payload is put. */
function withDelivery(env: NodeJS.ProcessEnv) {
  let delivery: AppDelivery | undefined;
  const api = app.api(env, { status: () => delivery!.status() });
  const start = (): AppDelivery => {
    const d = new AppDelivery({
      home: api.home,
      agent: AGENT,
      store: api.store,
      vault: () => {
        throw new VaultError('unavailable', 'no OS keystore in this test');
      },
      env,
      log: () => {},
    });
    delivery = d;
    api.ops.cycles.on('cycle', (r: { payload: Parameters<AppDelivery['put']>[0] }) => void d.put(r.payload));
    return d;
  };
  return { api, start };
}

describe('live feed: spooled or sent, per entry', () => {
  it('an entry says spooled (and why) while the destination is down, then sent (when) once it is back', async () => {
    const pg = inject('pg');
    const ingest = await startIngestServer();
    const env = { E2E_PG_MONITOR: pg.users.monitor.password, E2E_INGEST_KEY: ingest.apiKey };
    const { api, start } = withDelivery(env);
    await api.store.updateSettings({
      destination: DestinationSchema.parse({
        url: ingest.url('localhost'),
        apiKey: { env: 'E2E_INGEST_KEY' },
        caFile: ingest.pki.caFile,
        allowPrivateAddress: true,
      }),
    });
    await ingest.stop();
    const delivery = start();
    try {
      const { page, problems } = await openApp(app.browser(), app.base(), api);
      await addTarget(page, {
        id: 'shipdb',
        name: 'Ship DB',
        host: pg.host,
        port: String(pg.port),
        user: pg.users.monitor.user,
        database: pg.database,
        env: 'E2E_PG_MONITOR',
      });
      await gotoScreen(page, 'Live feed');
      const feed = page.getByRole('region', { name: 'Live feed' });
      await feed.getByText('Listening').waitFor();
      const payload = (await page.evaluate(`window.logstag.call('collect.now', { id: 'shipdb' })`)) as { result: { collectedAt: string } };
      const entry = feed.getByRole('list', { name: 'Payload previews' }).getByRole('listitem').first();
      // Down: the entry is spooled and says why delivery fails.
      const state = entry.locator('[data-delivery]');
      await expect.poll(() => state.getAttribute('data-delivery').catch(() => null), { timeout: 15_000 }).toBe('spooled');
      await expect.poll(() => state.textContent(), { timeout: 15_000 }).toMatch(/^Spooled, waiting: .*(refused|not answer|connect)/i);
      expect(ingest.accepted.map((a) => a.payload.collectedAt)).not.toContain(payload.result.collectedAt);
      // A long reason is cut with an ellipsis on the entry's one line, at 900 px too; the opened entry has it whole.
      await page.setViewportSize({ width: 900, height: 600 });
      await expect(entry.locator('.line').evaluate((e) => e.scrollWidth - e.clientWidth)).resolves.toBeLessThanOrEqual(1);
      await expect(state.evaluate((e) => [getComputedStyle(e).textOverflow, getComputedStyle(e).whiteSpace])).resolves.toEqual(['ellipsis', 'nowrap']);
      await screenshot(page, 'feed-delivery-spooled-900', feed);
      await page.setViewportSize({ width: 1280, height: 900 });
      await screenshot(page, 'feed-delivery-spooled', feed);
      await expect(axeViolations(page)).resolves.toEqual([]);

      // Back: the shipper retries; the entry says sent, with the time, and the service has that payload.
      await ingest.start();
      await expect.poll(() => state.getAttribute('data-delivery'), { timeout: 30_000 }).toBe('sent');
      await expect(state.textContent()).resolves.toMatch(/^Sent \d{1,2}:\d{2}:\d{2}/);
      expect(ingest.accepted.map((a) => a.payload.collectedAt)).toContain(payload.result.collectedAt);
      // The API says the same, per payload.
      const st = (await page.evaluate(`window.logstag.call('status.get', {})`)) as {
        result: { delivery: { payloads: Array<{ targetId: string; collectedAt: string; state: string; at: string | null }> } };
      };
      expect(st.result.delivery.payloads).toContainEqual(
        expect.objectContaining({ targetId: 'shipdb', collectedAt: payload.result.collectedAt, state: 'sent' }),
      );
      await screenshot(page, 'feed-delivery-sent', feed);
      await expect(axeViolations(page)).resolves.toEqual([]);
      expect(problems).toEqual([]);
      await page.context().close();
    } finally {
      await delivery.shutdown(1000);
      await ingest.stop();
    }
  }, 90_000);

  it('without a destination an entry says it is kept local: nothing leaves this machine', async () => {
    const pg = inject('pg');
    const { api, start } = withDelivery({ E2E_PG_MONITOR: pg.users.monitor.password });
    const delivery = start();
    try {
      const { page, problems } = await openApp(app.browser(), app.base(), api);
      await addTarget(page, {
        id: 'localdb',
        name: 'Local DB',
        host: pg.host,
        port: String(pg.port),
        user: pg.users.monitor.user,
        database: pg.database,
        env: 'E2E_PG_MONITOR',
      });
      await gotoScreen(page, 'Live feed');
      await page.getByRole('region', { name: 'Live feed' }).getByText('Listening').waitFor();
      await page.evaluate(`window.logstag.call('collect.now', { id: 'localdb' })`);
      const state = page.getByRole('list', { name: 'Payload previews' }).getByRole('listitem').first().locator('[data-delivery]');
      await expect.poll(() => state.getAttribute('data-delivery').catch(() => null), { timeout: 15_000 }).toBe('local');
      await expect(state.textContent()).resolves.toBe('Kept local: no destination, nothing leaves this machine');
      expect(problems).toEqual([]);
      await page.context().close();
    } finally {
      await delivery.shutdown(1000);
    }
  }, 60_000);
});
