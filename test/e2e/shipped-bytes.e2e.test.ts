// What the operator sees is what leaves (issue 24): the app's run loop collects a real
// PostgreSQL target for several cycles and ships them to a real ingest server (HTTPS);
// for every payload the service accepted, the live feed's JSON view of that entry shows
// exactly the bytes the service received inside the batch envelope, deltas and
// `unchanged` digests included. The window's preview is by design a read of every
// family: it says so, shows the exact bytes of that payload, and a collection of every
// family shipped right after it has the same sequence, families, modes and bases.
import { describe, expect, inject, it } from 'vitest';
import type { CycleResult } from '../../collectors/cycle.js';
import { AppDelivery } from '../../agent/delivery/app-delivery.js';
import { AgentRuntime } from '../../agent/run/app-runtime.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { DestinationSchema } from '../../contract/destination.js';
import { startIngestServer, type IngestEntry } from '../helpers/ingest-server.js';
import { pgTarget } from '../helpers/pg.js';
import { card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();
const AGENT = { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'e2e-host' };

type Signal = { id: string; status: string; mode?: string; base?: { sequence: number }; digest?: string };
type Shipped = { sequence: number; families: string[]; collectedAt: string; signals: Signal[] };

/** How a signal is to be read against earlier payloads: full, or relative to which one (and, unchanged, which digest). */
const shape = (p: Shipped) =>
  p.signals.map((s) => [
    s.id,
    s.status,
    s.mode === undefined || s.mode === 'full' ? 'full' : `base ${s.base?.sequence}`,
    s.mode === 'unchanged' ? s.digest : '',
  ]);

describe('the bytes on screen are the bytes that leave', () => {
  it('every accepted payload is, byte for byte, its live-feed entry’s JSON; the preview says it reads every family and shows its exact bytes', async () => {
    const pg = inject('pg');
    const ingest = await startIngestServer();
    const env = { PW: pg.users.monitor.password, E2E_INGEST_KEY: ingest.apiKey };
    // The API reports the delivery made below (status.get is first called after it exists).
    const api = app.api(env, { status: () => delivery.status() });
    await api.store.updateSettings({
      destination: DestinationSchema.parse({
        url: ingest.url('localhost'),
        apiKey: { env: 'E2E_INGEST_KEY' },
        caFile: ingest.pki.caFile,
        allowPrivateAddress: true,
      }),
    });
    const delivery = new AppDelivery({
      home: api.home,
      agent: AGENT,
      store: api.store,
      vault: () => {
        throw new VaultError('unavailable', 'no OS keystore in this test');
      },
      env,
      log: () => {},
    });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    // As the desktop app wires it: the run loop hands each scheduled payload to delivery; the window's preview is not handed.
    const runtime = new AgentRuntime({
      store: api.store,
      ops: api.ops,
      deliver: (p) => delivery.put(p),
      log: (err) => problems.push(`runtime: ${String(err)}`),
    });
    const cycles: CycleResult['payload'][] = [];
    api.ops.cycles.on('cycle', (r: CycleResult) => cycles.push(r.payload));
    try {
      await gotoScreen(page, 'Live feed');
      const feed = page.getByRole('region', { name: 'Live feed' });
      await feed.getByText('Listening').waitFor();
      await api.store.putTarget(pgTarget(pg, pg.users.monitor.user, { id: 'bytes-pg', name: 'Bytes PG', intervalSeconds: 600 }));
      const mine = (): IngestEntry[] => ingest.accepted.filter((e) => e.payload.target.id === 'bytes-pg');
      // The first cycle reads every family in full; each later one (the operator's collect now, through the run loop)
      // every family again, as deltas and digests against the last shipped payload.
      runtime.start();
      await expect.poll(() => mine().length, { timeout: 60_000 }).toBe(1);
      for (let n = 2; n <= 4; n++) {
        await runtime.collectNow();
        await expect.poll(() => mine().length, { timeout: 60_000 }).toBe(n);
      }
      const shipped = mine();
      expect(shipped.map((e) => (e.payload as unknown as Shipped).sequence)).toEqual([1, 2, 3, 4]);
      const later = shipped.slice(1).flatMap((e) => (e.payload as unknown as Shipped).signals);
      expect(later.some((s) => s.mode === 'delta')).toBe(true);
      expect(later.some((s) => s.mode === 'unchanged')).toBe(true);

      const bodies = ingest.requests.filter((r) => r.status === 200).map((r) => r.text ?? '');
      const list = feed.getByRole('list', { name: 'Payload previews' });
      for (const e of shipped) {
        const exact = JSON.stringify(e.payload);
        // On the wire: the entry's payload, its envelope removed, is exactly these bytes.
        const framed = `{"key":${JSON.stringify(e.key)},"spooledAt":${JSON.stringify(e.spooledAt)},"payload":${exact}}`;
        expect(bodies.filter((b) => b.includes(framed))).toHaveLength(1);
        // On screen: that payload's entry in the live feed, opened, shows the same bytes.
        const row = list.getByRole('listitem').filter({ has: page.locator(`time[datetime="${e.payload.collectedAt}"]`) });
        await expect(row.count()).resolves.toBe(1);
        await row.getByRole('button', { name: /^(\+\d+ more|Details)$/ }).click();
        const entry = feed.getByRole('region', { name: /^Every field of Bytes PG at / });
        await entry.getByText(/^The payload’s exact bytes \(JSON, [\d,]+ bytes\)$/).click();
        const shown = await entry.getByLabel('Payload JSON, exact bytes').textContent();
        expect(shown).toBe(exact);
        await expect.poll(() => entry.getByText(/^Sent \d{1,2}:\d{2}:\d{2}/).count(), { timeout: 15_000 }).toBe(1);
        await entry.getByRole('button', { name: 'Close' }).click();
      }
      await screenshot(page, 'shipped-bytes-feed', feed);

      // The preview: a read of every family, not shipped; it says so and shows the exact bytes of that payload.
      await gotoScreen(page, 'Dashboard');
      const c = card(page, 'Bytes PG');
      await c.getByRole('button', { name: 'Collect now' }).click();
      const result = c.getByRole('region', { name: 'Collection result for Bytes PG' });
      await result.waitFor();
      await expect(result.getByTestId('full-read').textContent()).resolves.toMatch(
        /^This preview reads every family now, due or not, and is not shipped: a scheduled cycle ships only the families that are due\. Below are the exact bytes of this payload: sequence 5, with deltas and digests against what was shipped before \(the last payload shipped is 4; each signal names its base\)\.$/,
      );
      await result.getByText(/^Payload exactly as it would be sent \(JSON, [\d,]+ bytes; every family\)$/).click();
      const previewText = (await result.getByLabel('Payload JSON').textContent()) ?? '';
      const preview = JSON.parse(previewText) as Shipped;
      const produced = cycles.find((p) => p.collectedAt === preview.collectedAt);
      expect(produced).toBeDefined();
      expect(previewText).toBe(JSON.stringify(produced));
      expect(mine()).toHaveLength(4);
      // What a collection of every family ships next is that payload again, read a moment later.
      await runtime.collectNow();
      await expect.poll(() => mine().length, { timeout: 60_000 }).toBe(5);
      const next = mine()[4]!.payload as unknown as Shipped;
      expect(next.sequence).toBe(preview.sequence);
      expect(next.families).toEqual(preview.families);
      expect(shape(next)).toEqual(shape(preview));
      await screenshot(page, 'shipped-bytes-preview', result);
      expect(problems).toEqual([]);
    } finally {
      await runtime.stop();
      await delivery.shutdown(1000);
      await ingest.stop();
      await page.context().close();
    }
  }, 240_000);
});
