import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecentHistory } from '../../agent/state/recent-history.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';

const payload = (id: string, i: number, pad = 0): PayloadV1 =>
  ({
    schema: 'logstag.payload/v1',
    agent: { id: 'a', version: '0.1.0', host: 'h' },
    target: { id, engine: 'postgres', name: id },
    collectedAt: new Date(Date.UTC(2026, 11, 5, 10, 0, i)).toISOString(),
    signals: [{ id: 'connections', family: 'activity', status: 'ok', value: [{ n: i, pad: 'x'.repeat(pad) }] }],
  }) as unknown as PayloadV1;

describe('the recent history behind the charts', () => {
  it('keeps the newest cycles within the count bound, oldest first, and an app restart reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hist-'));
    const h = new RecentHistory(dir, { maxCycles: 5 });
    for (let i = 0; i < 12; i++) await h.record(payload('t1', i));
    expect((await h.get('t1')).map((p) => p.collectedAt)).toEqual((await h.get('t1')).map((p) => p.collectedAt).sort());
    expect(await h.get('t1')).toHaveLength(5);
    expect((await h.get('t1'))[0]!.collectedAt).toBe(payload('t1', 7).collectedAt);
    expect(statSync(h.file('t1')!).mode & 0o777).toBe(0o600);
    const restarted = new RecentHistory(dir, { maxCycles: 5 });
    expect(await restarted.get('t1')).toEqual(await h.get('t1'));
    expect(await restarted.get('t2')).toEqual([]);
  });

  it('keeps the byte bound: large payloads push the oldest out, in memory and on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hist-'));
    const h = new RecentHistory(dir, { maxCycles: 100, maxBytes: 10_000 });
    for (let i = 0; i < 20; i++) await h.record(payload('big', i, 3000));
    const kept = await h.get('big');
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept.at(-1)!.collectedAt).toBe(payload('big', 19).collectedAt);
    expect(readFileSync(h.file('big')!).length).toBeLessThan(10_000 + 100);
  });

  it('a damaged, oversized or foreign file is ignored, never fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hist-'));
    const h = new RecentHistory(dir, { maxBytes: 1000 });
    writeFileSync(h.file('x')!, '{not json');
    expect(await new RecentHistory(dir, { maxBytes: 1000 }).get('x')).toEqual([]);
    writeFileSync(h.file('y')!, JSON.stringify({ version: 1, payloads: [payload('y', 1, 5000)] }));
    expect(await new RecentHistory(dir, { maxBytes: 1000 }).get('y')).toEqual([]);
    // Another target's payload in this target's file is not this target's history.
    writeFileSync(h.file('z')!, JSON.stringify({ version: 1, payloads: [payload('other', 1)] }));
    expect(await new RecentHistory(dir).get('z')).toEqual([]);
  });
});
