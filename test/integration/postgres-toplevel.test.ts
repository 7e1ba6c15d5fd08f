// pg_stat_statements on PostgreSQL 14+ keeps a statement run at top level and the
// same statement run nested (inside a function, a DO block) as two entries with the
// same queryid, dbid and userid, told apart only by `toplevel`, when
// pg_stat_statements.track = all (pg_stat_statements.c: pgssHashKey has `toplevel`;
// docs "F.32 pg_stat_statements": "toplevel: True if the query was executed as a
// top-level statement (always true if pg_stat_statements.track is set to top)").
// Attacked on a real server: without `toplevel` in the row key, the two rows share a
// key and the signal can never ship as a delta (or, worse, one row's counters would be
// diffed against the other's); with it, each is its own row and a consumer rebuilds both.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postgresCollector } from '../../collectors/postgres/index.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { startPostgres, type PgHarness } from '../harness/postgres.js';
import { byKey, modeOf, shipper } from '../helpers/delta-consumer.js';
import { pgTarget, superClient } from '../helpers/pg.js';

const shared = inject('pg');
const KEY = ['queryid', 'dbid', 'userid', 'toplevel'];
const T0 = Date.parse('2026-12-01T00:00:00Z');

describe('postgres.query_stats: a statement run top-level and nested is two rows', () => {
  let own: PgHarness;
  beforeAll(async () => {
    // A server of its own: this test changes what pg_stat_statements tracks and runs statements the shared server's log readers would see.
    own = await startPostgres({ bin: shared.bin });
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('is keyed by queryid, dbid, userid and toplevel', () => {
    expect(postgresCatalog.find((s) => s.id === 'postgres.query_stats')?.delta?.key).toEqual(KEY);
  });

  it('track = all: both entries ship, as deltas, and a consumer rebuilds each from the shipped bytes', async () => {
    const su = await superClient(own);
    const probe = async (nested: number, top: number) => {
      await su.query("SET pg_stat_statements.track = 'all'");
      for (let i = 0; i < top; i++) await su.query("SELECT count(*) FROM pg_class WHERE relname = 'toplevel_probe'");
      for (let i = 0; i < nested; i++) await su.query("DO $$ BEGIN EXECUTE 'SELECT count(*) FROM pg_class WHERE relname = ''toplevel_probe'''; END $$");
    };
    try {
      await probe(2, 3);
      const { rows: entries } = await su.query<{ queryid: string; toplevel: boolean; calls: string }>(
        "SELECT queryid::text, toplevel, calls::text FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM pg_class WHERE relname = $1%' ORDER BY toplevel",
      );
      // The server's own answer: one queryid, two entries.
      expect(entries.map((e) => [e.toplevel, e.calls])).toEqual([
        [false, '2'],
        [true, '3'],
      ]);
      expect(entries[0]!.queryid).toBe(entries[1]!.queryid);
      const queryid = entries[0]!.queryid;

      const target = pgTarget(own, own.users.monitor.user, { schedule: { activity: 'interval', waits_locks: 'interval' } });
      const sh = shipper(target, () => postgresCollector, { startMs: T0, stepMs: 60_000, password: own.users.monitor.password });
      type Row = { queryid: string; toplevel: boolean | null; calls: number };
      const probeRows = (v: unknown) =>
        byKey(
          (v as Row[]).filter((r) => r.queryid === queryid),
          KEY,
        ) as Row[];
      // Times are floats: a consumer's held + difference is within one rounding step of the server's value (docs/payload-v2.md).
      const rounded = (rows: Row[]) =>
        rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(12)) : v])));
      const check = async () => {
        expect(rounded(probeRows(sh.consumer.held.get('postgres.query_stats')?.value))).toEqual(rounded(probeRows(await sh.truth('postgres.query_stats'))));
        expect(sh.consumer.gaps).toEqual([]);
      };

      await sh.ship();
      expect(modeOf(sh.last('postgres.query_stats'))).toBe('full:first');
      expect(probeRows(sh.last('postgres.query_stats').value).map((r) => [r.toplevel, r.calls])).toEqual([
        [false, 2],
        [true, 3],
      ]);
      await check();

      // Only the nested entry runs again: its row changes, the top-level one does not.
      await probe(4, 0);
      await sh.ship();
      const qs = sh.last('postgres.query_stats');
      // The agent's own statements are counted too, so other rows may change: what matters is that it is a delta.
      expect(modeOf(qs)).toBe('delta');
      const changed = (qs.value as { changed: Row[] }).changed.filter((r) => r.queryid === queryid);
      expect(changed).toEqual([expect.objectContaining({ toplevel: false, calls: 4 })]);
      await check();
    } finally {
      await su.end();
    }
  });
});
