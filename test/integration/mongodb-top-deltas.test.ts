import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongodbCatalog } from '../../collectors/mongodb/catalog.js';
import { mongodbCollector } from '../../collectors/mongodb/index.js';
import { type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { LEAST } from '../fixtures/mongodb/identities.js';
import { byKey, modeOf, shipper } from '../helpers/delta-consumer.js';
import { mongoTarget } from '../helpers/mongo.js';

/*
 * mongodb.top ships as deltas (docs/payload-v2.md), through the real driver against
 * the fake mongod, attacked with the ways `top` goes back between two cycles, each
 * checked by a consumer that holds only the shipped bytes and must rebuild exactly
 * what the server reports:
 * - a restart: `top` is kept in memory since startup ("top … returns usage statistics
 *   for each collection"; src/mongo/db/stats/top.cpp keeps them in the process), so
 *   every namespace starts from zero; serverStatus `uptime` goes back and the start
 *   time (localTime − uptime) moves: a full baseline, even where the new counters
 *   are larger than the old;
 * - a collection dropped (top.cpp collectionDropped erases its entry): its row is
 *   removed; dropped and re-created between two cycles: its counters go down and
 *   only that row ships whole;
 * - new namespaces, and namespaces that did not move.
 */

const KEY = ['ns'];
const T0 = Date.parse('2026-12-01T00:00:00Z');

let fake: FakeMongod;
beforeAll(async () => {
  fake = await startFakeMongod({ deployment: { topology: 'standalone' } });
});
afterAll(async () => {
  await fake.stop();
});

describe('mongodb.top: deltas per namespace', () => {
  it('is declared a delta signal keyed by namespace, with flat counters, reset by a restart', () => {
    const spec = mongodbCatalog.find((s) => s.id === 'mongodb.top')!;
    expect(spec.delta).toMatchObject({ key: KEY, rowReset: true });
    expect(spec.delta?.counters).toContain('total_time_us');
    expect(spec.delta?.counters).toContain('commands_count');
    expect(spec.delta?.counters).toHaveLength(18);
    expect(spec.delta?.resetWhen).toEqual([{ signal: 'mongodb.server_status', field: 'started_at' }]);
  });

  it('serverStatus gives the process start time, the same on every read of one process', async () => {
    const target = mongoTarget(fake.port, LEAST);
    const sh = shipper(target, () => mongodbCollector, { startMs: T0, stepMs: 60_000, password: LEAST.password });
    const started = (await sh.truth('mongodb.server_status')) as { started_at: string; uptime_seconds: number };
    expect(started.started_at).toBe(new Date(Math.floor(fake.dep.startedAt.getTime() / 1000) * 1000).toISOString());
    await new Promise((r) => setTimeout(r, 1100));
    expect(((await sh.truth('mongodb.server_status')) as { started_at: string }).started_at).toBe(started.started_at);
  });

  it('rebuilds top across changes, a new and a dropped collection, a drop and re-create between cycles, and a restart', async () => {
    const target = mongoTarget(fake.port, LEAST, { schedule: { activity: 'interval', waits_locks: 'interval' } });
    const sh = shipper(target, () => mongodbCollector, { startMs: T0, stepMs: 60_000, password: LEAST.password });
    const top = () => sh.last('mongodb.top');
    const check = async () => {
      expect(byKey(sh.consumer.held.get('mongodb.top')?.value, KEY)).toEqual(byKey(await sh.truth('mongodb.top'), KEY));
      expect(sh.consumer.gaps).toEqual([]);
    };
    const ns = (name: string) => fake.dep.top.find((t) => t.ns === name)!;

    await sh.ship();
    expect(modeOf(top())).toBe('full:first');
    expect((top().value as Array<{ ns: string; total_time_us: number; total_count: number }>)[0]).toMatchObject({
      ns: 'shop.orders',
      total_time_us: 9_876_543,
      total_count: 45_000,
    });
    await check();

    // Work on one collection: only its differences.
    ns('shop.orders').time += 1000;
    ns('shop.orders').count += 10;
    await sh.ship();
    expect(modeOf(top())).toBe('delta');
    const d = top().value as { added: object[]; changed: Array<Record<string, number | string>>; removed: object[] };
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toHaveLength(1);
    expect(d.changed[0]).toMatchObject({ ns: 'shop.orders', total_time_us: 1000, total_count: 10 });
    await check();

    await sh.ship();
    expect(modeOf(top())).toBe('unchanged');
    await check();

    // A new collection; crm.contacts dropped.
    fake.dep.top.push({ ns: 'shop.invoices', time: 500, count: 5 });
    fake.dep.top.splice(
      fake.dep.top.findIndex((t) => t.ns === 'crm.contacts'),
      1,
    );
    await sh.ship();
    expect(top().value).toMatchObject({ added: [{ ns: 'shop.invoices' }], changed: [], removed: [{ ns: 'crm.contacts' }] });
    await check();

    // shop.customers dropped and re-created between two cycles: its counters went down. Only that row restarts.
    ns('shop.customers').time = 2_000;
    ns('shop.customers').count = 20;
    ns('shop.orders').count += 1;
    await sh.ship();
    expect(modeOf(top())).toBe('delta');
    const r = top().value as { added: Array<{ ns: string; total_count: number }>; changed: Array<{ ns: string }> };
    expect(r.added).toEqual([expect.objectContaining({ ns: 'shop.customers', total_count: 20 })]);
    expect(r.changed.map((c) => c.ns)).toEqual(['shop.orders']);
    await check();

    // A restart (the process started anew; uptime went back) with more work already done than before on one namespace:
    // a difference against the old process's counters would be wrong. A full baseline.
    fake.dep.startedAt = new Date(Date.now() - 5_000);
    fake.dep.top = [
      { ns: 'shop.orders', time: 99_000_000, count: 450_000 },
      { ns: 'shop.invoices', time: 1, count: 1 },
    ];
    await sh.ship();
    expect(modeOf(top())).toBe('full:reset');
    await check();

    ns('shop.invoices').count += 2;
    await sh.ship();
    expect(modeOf(top())).toBe('delta');
    await check();
  });
});
