import { describe, expect, it } from 'vitest';
import { createMssqlCollector } from '../../collectors/mssql/index.js';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import * as R from '../fixtures/mssql/rows.js';
import { SQL2019 } from '../fixtures/mssql/servers.js';
import { byKey, modeOf, shipper } from '../helpers/delta-consumer.js';
import { FakeSqlServer, type Identity } from '../helpers/mssql-fake.js';
import { mssqlTarget } from '../helpers/mssql.js';

/*
 * mssql.query_stats ships as deltas (docs/payload-v2.md). Attacked with the ways a
 * SQL Server's statistics go back or change identity between two cycles, each one
 * checked by a consumer that holds only the shipped bytes and must rebuild exactly
 * what the server reports:
 * - a plan evicted from the cache and compiled again (its row disappears, or comes
 *   back with a new creation_time and smaller counters): that row ships whole, the
 *   others stay differences;
 * - DBCC FREEPROCCACHE / a recompile between two cycles (same statement, new
 *   creation_time, counters possibly LARGER than before): that row ships whole;
 * - a server restart (tempdb's create_date moves): a full baseline;
 * - Query Store cleared (ALTER DATABASE … SET QUERY_STORE CLEAR: plan ids come back
 *   with a new initial_compile_start_time);
 * - Query Store turned off (the plan cache takes over: other rows, other source).
 *
 * The fake answers with the columns the statement selects, computed the way the
 * server computes them from its documented columns:
 * - sys.dm_exec_query_stats (learn.microsoft.com, "sys.dm_exec_query_stats"): one row
 *   per query statement within a cached plan (plan_handle, statement_start_offset,
 *   statement_end_offset); creation_time "Time at which the plan was compiled";
 *   execution_count, total_elapsed_time and total_worker_time (microseconds),
 *   total_logical_reads, total_physical_reads, total_rows are totals "since it was
 *   compiled"; "when a plan is removed from the cache, the corresponding rows are
 *   eliminated from this view";
 * - sys.query_store_runtime_stats (one row per plan_id, runtime_stats_interval_id and
 *   execution_type; avg_* × count_executions are the interval's totals),
 *   sys.query_store_plan (plan_id, query_id, query_plan_hash,
 *   initial_compile_start_time), sys.query_store_query (query_hash).
 */

const LEAST: Identity = {
  login: 'monitor',
  user: 'monitor',
  serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER STATE', 'VIEW ANY DEFINITION'],
  msdbLogShipping: true,
};
const KEY = ['source', 'query_id', 'plan_id', 'plan_handle', 'statement_start_offset', 'statement_end_offset'];
const T0 = Date.parse('2026-12-01T00:00:00Z');

interface CacheEntry {
  plan_handle: string;
  start: number;
  end: number;
  query_hash: string;
  query_plan_hash: string;
  creation_time: Date;
  execution_count: number;
  total_elapsed_time: number;
  total_worker_time: number;
  total_logical_reads: number;
  total_physical_reads: number;
  total_rows: number;
  last_execution_time: Date;
  text: string;
}
interface StoreRun {
  interval: number;
  count_executions: number;
  avg_duration: number;
  avg_cpu_time: number;
  avg_logical_io_reads: number;
  avg_physical_io_reads: number;
  avg_rowcount: number;
  last_execution_time: Date;
}
interface StorePlan {
  plan_id: number;
  query_id: number;
  query_hash: string;
  query_plan_hash: string;
  initial_compile_start_time: Date;
  runs: StoreRun[];
  text: string;
}

const handle = (n: number): string => `0x06000500${n.toString(16).toUpperCase().padStart(8, '0')}${'A'.repeat(112)}`;

function cacheEntry(n: number, execs: number, creation = new Date(T0 - 3_600_000)): CacheEntry {
  return {
    plan_handle: handle(n),
    start: 0,
    end: -1,
    query_hash: `0x${n.toString(16).toUpperCase().padStart(16, '0')}`,
    query_plan_hash: `0x${(n * 7).toString(16).toUpperCase().padStart(16, '0')}`,
    creation_time: creation,
    execution_count: execs,
    total_elapsed_time: execs * 1500,
    total_worker_time: execs * 900,
    total_logical_reads: execs * 40,
    total_physical_reads: execs,
    total_rows: execs * 3,
    last_execution_time: new Date(T0 - 60_000),
    text: `SELECT * FROM dbo.orders WHERE id = ${n}`,
  };
}

function storePlan(id: number, execs: number, compiled = new Date(T0 - 86_400_000)): StorePlan {
  return {
    plan_id: id,
    query_id: id * 10,
    query_hash: `0x${(id * 11).toString(16).toUpperCase().padStart(16, '0')}`,
    query_plan_hash: `0x${(id * 13).toString(16).toUpperCase().padStart(16, '0')}`,
    initial_compile_start_time: compiled,
    runs: [run(1, execs)],
    text: `SELECT name FROM dbo.customers WHERE id = @p${id}`,
  };
}
function run(interval: number, execs: number): StoreRun {
  return {
    interval,
    count_executions: execs,
    avg_duration: 2500.5,
    avg_cpu_time: 1200.25,
    avg_logical_io_reads: 12,
    avg_physical_io_reads: 0.5,
    avg_rowcount: 1,
    last_execution_time: new Date(T0 - 30_000),
  };
}

class Server {
  startedAt = '2026-11-30T00:00:00.000Z';
  queryStore = true;
  cache: CacheEntry[] = [];
  store: StorePlan[] = [];

  /** The SELECT's columns over sys.dm_exec_query_stats, TOP (500) by total_elapsed_time. */
  planCacheRows(): object[] {
    return [...this.cache]
      .sort((a, b) => b.total_elapsed_time - a.total_elapsed_time)
      .slice(0, 500)
      .map((e) => ({
        source: 'plan_cache',
        database_name: 'app',
        query_id: null,
        plan_id: null,
        // varbinary(64): the driver hands a Buffer, the session ships it as 0x… hex.
        plan_handle: Buffer.from(e.plan_handle.slice(2), 'hex'),
        statement_start_offset: e.start,
        statement_end_offset: e.end,
        query_hash: e.query_hash,
        query_plan_hash: e.query_plan_hash,
        stats_since: e.creation_time,
        executions: e.execution_count,
        total_duration_ms: e.total_elapsed_time / 1000,
        total_cpu_ms: e.total_worker_time / 1000,
        logical_reads: e.total_logical_reads,
        physical_reads: e.total_physical_reads,
        returned_rows: e.total_rows,
        last_execution_time: e.last_execution_time,
        query_text: e.text,
        text_restricted: false,
      }));
  }

  /** The SELECT's columns over Query Store: every retained interval summed per plan, TOP (500) by duration. */
  queryStoreRows(): object[] {
    const sum = (p: StorePlan, f: (r: StoreRun) => number) => p.runs.reduce((n, r) => n + f(r), 0);
    return this.store
      .map((p) => ({ p, duration_us: sum(p, (r) => r.avg_duration * r.count_executions) }))
      .sort((a, b) => b.duration_us - a.duration_us)
      .slice(0, 500)
      .map(({ p, duration_us }) => ({
        source: 'query_store',
        database_name: 'app',
        query_id: String(p.query_id),
        plan_id: String(p.plan_id),
        plan_handle: null,
        statement_start_offset: null,
        statement_end_offset: null,
        query_hash: p.query_hash,
        query_plan_hash: p.query_plan_hash,
        stats_since: p.initial_compile_start_time,
        executions: sum(p, (r) => r.count_executions),
        total_duration_ms: duration_us / 1000,
        total_cpu_ms: sum(p, (r) => r.avg_cpu_time * r.count_executions) / 1000,
        logical_reads: sum(p, (r) => r.avg_logical_io_reads * r.count_executions),
        physical_reads: sum(p, (r) => r.avg_physical_io_reads * r.count_executions),
        returned_rows: sum(p, (r) => r.avg_rowcount * r.count_executions),
        last_execution_time: new Date(Math.max(...p.runs.map((r) => r.last_execution_time.getTime()))),
        query_text: p.text,
        text_restricted: false,
      }));
  }

  fake(): FakeSqlServer {
    return new FakeSqlServer({
      model: SQL2019,
      identity: LEAST,
      queryStore: this.queryStore,
      override: [
        {
          match: /SERVERPROPERTY\('ProductLevel'\)/,
          answer: () => [{ ...R.serverRow(15, SQL2019.productVersion, SQL2019.edition, 3, false), started_at: new Date(this.startedAt) }],
        },
        { match: /FROM sys\.query_store_runtime_stats/, answer: () => this.queryStoreRows() },
        { match: /FROM sys\.dm_exec_query_stats/, answer: () => this.planCacheRows() },
      ],
    });
  }
}

const target = mssqlTarget({ schedule: { query_stats: 'interval', activity: 'interval', waits_locks: 'interval' } });
const spec = mssqlCatalog.find((s) => s.id === 'mssql.query_stats')!;

function harness(srv: Server) {
  const sh = shipper(target, () => createMssqlCollector(srv.fake().connect), { startMs: T0, stepMs: 60_000 });
  const check = async () => {
    expect(byKey(sh.consumer.held.get('mssql.query_stats')?.value, KEY)).toEqual(byKey(await sh.truth('mssql.query_stats'), KEY));
    expect(sh.consumer.gaps).toEqual([]);
  };
  return { ...sh, check, qs: () => sh.last('mssql.query_stats') };
}

describe('mssql.query_stats: deltas against the plan cache', () => {
  it('is declared a delta signal keyed by the plan cache entry or the Query Store plan, reset by a restart', () => {
    expect(spec.delta).toMatchObject({ key: KEY, since: 'stats_since', rowReset: true });
    expect(spec.delta?.resetWhen).toEqual([{ signal: 'mssql.server', field: 'started_at' }]);
  });

  it('rebuilds the plan cache across changes, an eviction, a recompile with larger counters, a cache flush and a restart', async () => {
    const srv = new Server();
    srv.queryStore = false;
    srv.cache = [cacheEntry(1, 100), cacheEntry(2, 50), cacheEntry(3, 10)];
    // The same statement twice in one batch: one plan_handle, two offsets, two rows with one query_hash.
    srv.cache.push({ ...cacheEntry(4, 5), start: 0, end: 120 }, { ...cacheEntry(4, 7), start: 122, end: -1 });
    const h = harness(srv);

    await h.ship();
    expect(modeOf(h.qs())).toBe('full:first');
    await h.check();

    // Work on two statements: a delta of their differences only.
    srv.cache[0]!.execution_count += 3;
    srv.cache[0]!.total_elapsed_time += 4500;
    srv.cache[4]!.execution_count += 1;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    const d = h.qs().value as { added: object[]; changed: Array<Record<string, unknown>>; removed: object[] };
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toHaveLength(2);
    expect(d.changed[0]).toMatchObject({ plan_handle: handle(1), executions: 3, total_duration_ms: 4.5 });
    expect(d.changed[0]).not.toHaveProperty('query_text');
    expect(d.changed[1]).toMatchObject({ plan_handle: handle(4), statement_start_offset: 122, executions: 1 });
    await h.check();

    // Nothing ran: unchanged.
    await h.ship();
    expect(modeOf(h.qs())).toBe('unchanged');
    await h.check();

    // Entry 2 evicted and compiled again before the cycle: smaller counters, new creation_time.
    srv.cache[1] = cacheEntry(2, 4, new Date(T0 + 150_000));
    srv.cache[0]!.execution_count += 1;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    expect((h.qs().value as { added: Array<{ plan_handle: string; executions: number }> }).added).toEqual([
      expect.objectContaining({ plan_handle: handle(2), executions: 4 }),
    ]);
    await h.check();

    // Entry 3 recompiled (a new creation_time) and run so much that every counter is LARGER than before:
    // a difference against the old plan's totals would be wrong. The row ships whole.
    srv.cache[2] = cacheEntry(3, 500, new Date(T0 + 230_000));
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    expect((h.qs().value as { added: Array<{ plan_handle: string }>; changed: object[] }).added.map((r) => r.plan_handle)).toEqual([handle(3)]);
    expect((h.qs().value as { changed: object[] }).changed).toEqual([]);
    await h.check();

    // The counters of one row went down with the same creation_time (a server that reuses it): that row ships whole, nothing else.
    srv.cache[0]!.execution_count -= 50;
    srv.cache[0]!.total_elapsed_time -= 10;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    expect((h.qs().value as { added: Array<{ plan_handle: string }> }).added.map((r) => r.plan_handle)).toEqual([handle(1)]);
    await h.check();

    // An eviction (row gone) and a new plan.
    srv.cache.splice(1, 1);
    srv.cache.push(cacheEntry(9, 2, new Date(T0 + 350_000)));
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    expect(h.qs().value).toMatchObject({ added: [{ plan_handle: handle(9) }], removed: [{ plan_handle: handle(2) }] });
    await h.check();

    // A restart: the plan cache starts empty and fills again; the state is shipped full.
    srv.startedAt = '2026-12-01T00:07:30.000Z';
    srv.cache = [cacheEntry(1, 1, new Date(T0 + 451_000)), cacheEntry(3, 600, new Date(T0 + 452_000))];
    await h.ship();
    expect(modeOf(h.qs())).toBe('full:reset');
    await h.check();

    // After the baseline, deltas again.
    srv.cache[1]!.execution_count += 2;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    await h.check();
  });
});

describe('mssql.query_stats: deltas against Query Store', () => {
  it('sums every retained interval per plan, so a new interval is a difference; a cleared Query Store or a plan id reused ships whole', async () => {
    const srv = new Server();
    srv.store = [storePlan(1, 100), storePlan(2, 40), storePlan(3, 2)];
    srv.cache = [cacheEntry(1, 100)];
    const h = harness(srv);

    await h.ship();
    expect(modeOf(h.qs())).toBe('full:first');
    expect((h.qs().value as Array<{ source: string }>).every((r) => r.source === 'query_store')).toBe(true);
    await h.check();

    // A new runtime-stats interval opens for plan 1 (the hourly interval rolled over): a difference, not a reset.
    srv.store[0]!.runs.push(run(2, 10));
    srv.store[1]!.runs[0]!.count_executions += 1;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    const changed = (h.qs().value as { changed: Array<Record<string, unknown>> }).changed;
    expect(changed.map((c) => [c['plan_id'], c['executions']])).toEqual([
      ['1', 10],
      ['2', 1],
    ]);
    await h.check();

    // Query Store cleared (ALTER DATABASE … SET QUERY_STORE CLEAR) and filled again: plan ids 1 and 2 are reused by
    // other compilations (new initial_compile_start_time), plan 1 with more executions than before.
    srv.store = [storePlan(1, 5000, new Date(T0 + 100_000)), storePlan(2, 1, new Date(T0 + 101_000))];
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    const v = h.qs().value as { added: Array<{ plan_id: string }>; changed: object[]; removed: Array<{ plan_id: string }> };
    expect(v.added.map((r) => r.plan_id).sort()).toEqual(['1', '2']);
    expect(v.changed).toEqual([]);
    expect(v.removed.map((r) => r.plan_id)).toEqual(['3']);
    await h.check();

    // The size-based cleanup deletes plan 1's oldest interval: its totals go down, the row ships whole.
    srv.store[0]!.runs.push(run(3, 10));
    srv.store[0]!.runs.shift();
    await h.ship();
    expect((h.qs().value as { added: Array<{ plan_id: string }> }).added.map((r) => r.plan_id)).toEqual(['1']);
    await h.check();

    // Query Store turned off: the plan cache answers. Different rows (different source), still rebuilt exactly.
    srv.queryStore = false;
    await h.ship();
    expect(modeOf(h.qs())).toBe('delta');
    expect(h.qs().value).toMatchObject({ added: [{ source: 'plan_cache' }] });
    expect((h.qs().value as { removed: object[] }).removed).toHaveLength(2);
    await h.check();
  });

  it('reads Query Store per plan with its key and start, and the plan cache per statement entry with its creation time', async () => {
    const srv = new Server();
    srv.store = [storePlan(1, 1)];
    const fake = srv.fake();
    const h = shipper(target, () => createMssqlCollector(fake.connect), { startMs: T0, stepMs: 60_000 });
    await h.ship();
    const qs = fake.sent.find((s) => /FROM sys\.query_store_runtime_stats/.test(s))!;
    expect(qs).toMatch(/GROUP BY rs\.plan_id/);
    expect(qs).not.toMatch(/DATEADD\(HOUR/);
    expect(qs).toMatch(/p\.initial_compile_start_time/);
    srv.queryStore = false;
    const fake2 = srv.fake();
    await shipper(target, () => createMssqlCollector(fake2.connect), { startMs: T0, stepMs: 60_000 }).ship();
    const pc = fake2.sent.find((s) => /FROM sys\.dm_exec_query_stats/.test(s))!;
    expect(pc).toMatch(/qs\.plan_handle/);
    expect(pc).toMatch(/qs\.creation_time/);
    expect(pc).toMatch(/qs\.statement_start_offset AS statement_start_offset/);
  });
});
