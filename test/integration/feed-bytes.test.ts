import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { RunLoop } from '../../agent/run/run-loop.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { type Payload, serializePayload } from '../../collectors/core/payload.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { pgTarget, superClient } from '../helpers/pg.js';

const pg = inject('pg');

/*
 * The live feed takes every cycle's result from TargetOperations' `cycle` event (agent/api/handlers.ts
 * previewOf); the run loop spools the same result's payload. On the real cluster, two scheduled cycles:
 * the second ships a delta / unchanged values, and the feed's bytes are the spooled bytes.
 */
describe('live feed and spool carry the same bytes, deltas included', () => {
  it('second cycle: query statistics as a delta or unchanged, slow families absent, feed bytes = spooled bytes', async () => {
    const su = await superClient(pg);
    const home = mkdtempSync(join(tmpdir(), 'lsa-feed-bytes-'));
    const user = pg.users.monitor;
    const ops = new TargetOperations(
      { id: 'agent-1', version: '0.1.0', host: 'test' },
      new AuditLedger(join(home, 'audit')),
      () => {
        throw new Error('no vault in this test');
      },
      { PW: user.password },
      undefined,
      new TargetMemoryStore(join(home, 'state')),
    );
    const feed: string[] = [];
    ops.cycles.on('cycle', (r: CycleResult) => feed.push(serializePayload(r.payload)));
    const spooled: string[] = [];
    // Ticks every second (activity: 1 s) so the test does not wait 10 s; query statistics on the same tick.
    const target = pgTarget(pg, user.user, { id: 'pg-feed', intervalSeconds: 10, schedule: { activity: 1, query_stats: 1 } });
    const loop = new RunLoop({
      ops,
      deliver: async (p: Payload) => {
        spooled.push(serializePayload(p));
        return { key: `k${spooled.length}` };
      },
      policy: () => undefined,
    });
    try {
      loop.plan([{ target, intervalSeconds: 10 }]);
      const deadline = Date.now() + 30_000;
      while (spooled.length < 2 && Date.now() < deadline) {
        await su.query('SELECT 1 AS feed_bytes_probe');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await loop.stop(10_000);
      await su.end();
    }
    expect(spooled.length).toBeGreaterThanOrEqual(2);
    expect(feed.slice(0, spooled.length)).toEqual(spooled);
    const [first, second] = spooled.map((b) => JSON.parse(b) as Payload);
    expect(first!.families).toContain('schema');
    expect(second!.families).not.toContain('schema');
    expect(second!.signals.some((s) => s.family === 'schema')).toBe(false);
    const qs = second!.signals.find((s) => s.id === 'postgres.query_stats');
    expect(qs).toMatchObject({ status: 'ok', base: { sequence: first!.sequence } });
    expect(['delta', 'unchanged']).toContain(qs?.status === 'ok' ? qs.mode : undefined);
  });
});
