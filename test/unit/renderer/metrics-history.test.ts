// The dashboard charts' model: key metrics read from cycles, rates from counters,
// a bounded one-hour ring per target, and unavailable metrics kept apart from 0.
import { describe, expect, it } from 'vitest';
import type { Preview } from '../../../contract/api.js';
import { readFileSync } from 'node:fs';
import { Long } from 'mongodb';
import { describeSeries, formatMetric, MetricsHistory, Ring, WINDOW_MS } from '../../../renderer/src/lib/metrics-history.js';
import { serverSignals as mongoServerSignals } from '../../../collectors/mongodb/catalog-server.js';
import type { MongoSession } from '../../../collectors/mongodb/session.js';
import { readContext, DEFAULT_POLICY } from '../../../collectors/core/policy.js';
import { deployment } from '../../fixtures/mongodb/deployment.js';
import { serverStatus } from '../../fixtures/mongodb/server-docs.js';
import { FILE_IO, MEMORY, SESSIONS } from '../../fixtures/mssql/rows.js';

type Payload = Preview['payload'];
type Signal = Payload['signals'][number];

const T0 = Date.parse('2026-11-26T10:00:00Z');
const agent = { id: 'a', version: '0', host: 'h' };

function payload(engine: string, at: number, signals: Signal[], id = 'db'): Payload {
  return { schema: 'logstag.payload/v1', agent, target: { id, engine, name: id }, collectedAt: new Date(at).toISOString(), signals } as unknown as Payload;
}
const ok = (id: string, value: unknown): Signal => ({ id, family: 'server_stats', status: 'ok', value }) as Signal;
const down = (id: string, detail: string): Signal => ({ id, family: 'activity', status: 'unavailable', reason: 'permission', detail }) as Signal;

const pgDatabases = (commits: number, hit: number, read: number) =>
  ok('postgres.databases', [
    { datname: 'app', numbackends: 3, xact_commit: commits, blks_hit: hit, blks_read: read },
    { datname: 'postgres', numbackends: 1, xact_commit: 0, blks_hit: 0, blks_read: 0 },
  ]);
const pgActivity = (states: string[]) =>
  ok(
    'postgres.activity',
    states.map((state, pid) => ({ pid, state })),
  );

const byId = (h: MetricsHistory, target = 'db', now = T0 + 120_000) => new Map(h.view(target, now).map((s) => [s.id, s]));

describe('metrics history', () => {
  it('reads PostgreSQL gauges and turns counters into per-second rates and interval ratios', () => {
    const h = new MetricsHistory();
    h.record(payload('postgres', T0, [pgDatabases(1000, 900, 100), pgActivity(['active', 'idle', 'active'])]));
    h.record(payload('postgres', T0 + 60_000, [pgDatabases(1600, 1890, 110), pgActivity(['idle'])]));
    const m = byId(h);
    expect(m.get('connections')!.v).toEqual([4, 4]);
    expect(m.get('active')!.v).toEqual([2, 0]);
    // (1600 - 1000) commits over 60 s; the first cycle has no rate yet (a gap, not 0).
    expect(m.get('commits')!.v).toEqual([null, 10]);
    // (1890 - 900) hits of (990 + 10) block reads in the interval.
    expect(m.get('cache_hit')!.v[1]).toBeCloseTo(99, 5);
    expect(m.get('commits')!.t).toEqual([T0, T0 + 60_000]);
  });

  it('a v2 payload without a family that was not due leaves its charts alone: no gap, and the rate spans to the next reading', () => {
    const h = new MetricsHistory();
    const v2 = (at: number, families: string[], signals: Signal[]) =>
      ({ ...payload('postgres', at, signals), schema: 'logstag.payload/v2', sequence: 1, families }) as Payload;
    h.record(v2(T0, ['server_stats', 'activity'], [pgDatabases(1000, 900, 100), pgActivity(['active'])]));
    // 10 s later only activity was due: postgres.databases is absent, not unavailable.
    h.record(v2(T0 + 10_000, ['activity'], [pgActivity(['active', 'active'])]));
    h.record(v2(T0 + 60_000, ['server_stats', 'activity'], [pgDatabases(1600, 1890, 110), pgActivity(['idle'])]));
    const m = byId(h);
    expect(m.get('active')!.v).toEqual([1, 2, 0]);
    expect(m.get('connections')!.t).toEqual([T0, T0 + 60_000]);
    expect(m.get('commits')!.v).toEqual([null, 10]);
    expect(m.get('commits')!.unavailable).toBeUndefined();
  });

  it('shows an unavailable metric with its reason, never as 0, and does not bridge a rate across the gap', () => {
    const h = new MetricsHistory();
    h.record(payload('postgres', T0, [pgDatabases(100, 10, 0), down('postgres.activity', 'needs pg_read_all_stats')]));
    let m = byId(h);
    expect(m.get('active')!.unavailable).toBe('needs pg_read_all_stats');
    expect(m.get('active')!.v).toEqual([null]);
    expect(describeSeries(m.get('active')!)).toBe('Active sessions: unavailable: needs pg_read_all_stats');
    expect(m.get('commits')!.waiting).toBe('needs a second cycle');

    h.record(payload('postgres', T0 + 60_000, [down('postgres.databases', 'server closed the connection')]));
    h.record(payload('postgres', T0 + 120_000, [pgDatabases(400, 10, 0)]));
    m = byId(h);
    expect(m.get('connections')!.v).toEqual([4, null, 4]);
    expect(m.get('connections')!.unavailable).toBeUndefined();
    // After the gap the rate starts again instead of averaging across it.
    expect(m.get('commits')!.v).toEqual([null, null, null]);
    // A signal missing from the payload and a field the policy excluded both say why.
    expect(m.get('active')!.unavailable).toBe('postgres.activity was not collected in this cycle');
    const excluded = { ...pgDatabases(1, 1, 1), policy: { numbackends: 'exclude' } } as Signal;
    h.record(payload('postgres', T0 + 180_000, [excluded]));
    expect(byId(h, 'db', T0 + 180_000).get('connections')!.unavailable).toBe('numbackends is excluded by the policy');
  });

  it('treats a counter that went down (server restart) as a gap, not a negative rate', () => {
    const h = new MetricsHistory();
    h.record(payload('postgres', T0, [pgDatabases(5000, 0, 0)]));
    h.record(payload('postgres', T0 + 10_000, [pgDatabases(20, 0, 0)]));
    h.record(payload('postgres', T0 + 20_000, [pgDatabases(120, 0, 0)]));
    expect(byId(h).get('commits')!.v).toEqual([null, null, 10]);
    // No block reads at all in an interval: no ratio, not 0 % and not 100 %.
    expect(byId(h).get('cache_hit')!.v).toEqual([null, null, null]);
  });

  it('reads Redis INFO sections (one object, numbers or numeric strings)', () => {
    const h = new MetricsHistory();
    h.record(
      payload('redis', T0, [
        ok('redis.memory', [{ used_memory: 1_048_576 }]),
        ok('redis.clients', { connected_clients: '7' }),
        ok('redis.stats', [{ instantaneous_ops_per_sec: 42, keyspace_hits: 10, keyspace_misses: 0 }]),
      ]),
    );
    h.record(
      payload('redis', T0 + 60_000, [
        ok('redis.memory', [{ used_memory: null }]),
        ok('redis.stats', [{ instantaneous_ops_per_sec: 40, keyspace_hits: 40, keyspace_misses: 10 }]),
      ]),
    );
    const m = byId(h);
    expect(m.get('memory')!.v).toEqual([1_048_576, null]);
    expect(m.get('memory')!.unavailable).toBe('the server did not report used_memory');
    expect(m.get('clients')!.v).toEqual([7, null]);
    expect(m.get('ops')!.v).toEqual([42, 40]);
    expect(m.get('hit')!.v).toEqual([null, 75]);
  });

  it('keeps only the last hour, per target, and ignores engines without charts', () => {
    const h = new MetricsHistory();
    for (let i = 0; i <= 70; i += 1) h.record(payload('redis', T0 + i * 60_000, [ok('redis.clients', [{ connected_clients: i }])], 'r'));
    h.record(payload('cassandra', T0, [], 'sql'));
    const now = T0 + 70 * 60_000;
    const clients = byId(h, 'r', now).get('clients')!;
    expect(clients.t[0]).toBe(now - WINDOW_MS);
    expect(clients.v.at(-1)).toBe(70);
    expect(clients.v).toHaveLength(61);
    expect(h.view('sql', now)).toEqual([]);
    expect(h.view('db', now)).toEqual([]);
    // Out-of-order cycles are not recorded twice.
    h.record(payload('redis', T0, [ok('redis.clients', [{ connected_clients: 999 }])], 'r'));
    expect(byId(h, 'r', now).get('clients')!.v).not.toContain(999);
  });
});

describe('engine charts from the rows the collectors emit', () => {
  it('SQL Server: sessions and active sessions, file I/O as a rate, page life expectancy', () => {
    // mssql.sessions, mssql.file_io and mssql.memory pass the server's rows through as they are (test/fixtures/mssql/rows.ts).
    const io = (extraReads: number, extraWrites: number) =>
      FILE_IO.map((f, i) => (i === 0 ? { ...f, num_of_reads: f.num_of_reads + extraReads, num_of_writes: f.num_of_writes + extraWrites } : f));
    const h = new MetricsHistory();
    h.record(payload('mssql', T0, [ok('mssql.sessions', SESSIONS), ok('mssql.file_io', io(0, 0)), ok('mssql.memory', MEMORY)]));
    h.record(
      payload('mssql', T0 + 60_000, [
        ok('mssql.sessions', [SESSIONS[1]]),
        ok('mssql.file_io', io(1_200, 600)),
        ok('mssql.memory', { ...MEMORY, page_life_expectancy_s: 5460 }),
      ]),
    );
    const m = byId(h);
    expect(m.get('sessions')!.v).toEqual([2, 1]);
    expect(m.get('active')!.v).toEqual([1, 0]);
    // (1200 + 600) reads and writes over 60 s.
    expect(m.get('io')!.v).toEqual([null, 30]);
    expect(m.get('ple')!.v).toEqual([5400, 5460]);
  });

  it('MongoDB: the serverStatus row as the collector builds it from the fake mongod answer', async () => {
    const spec = mongoServerSignals.find((x) => x.id === 'mongodb.server_status')!;
    const read = async (doc: Record<string, unknown>) => {
      const session = { memo: (_: string, f: () => Promise<unknown>) => f(), command: async () => doc } as unknown as MongoSession;
      return (await spec.read(session, readContext(DEFAULT_POLICY)))[0];
    };
    const doc = serverStatus(deployment());
    const first = await read(doc);
    const later = await read({
      ...doc,
      connections: { ...(doc['connections'] as object), current: 40 },
      opcounters: {
        insert: Long.fromNumber(120_300),
        query: Long.fromNumber(450_600),
        update: Long.fromNumber(80_000),
        delete: Long.fromNumber(1_200),
        getmore: Long.fromNumber(33_000),
        command: Long.fromNumber(900_300),
      },
    });
    const h = new MetricsHistory();
    h.record(payload('mongodb', T0, [ok('mongodb.server_status', first)]));
    h.record(payload('mongodb', T0 + 60_000, [ok('mongodb.server_status', later)]));
    const m = byId(h);
    expect(m.get('connections')!.v).toEqual([42, 40]);
    // (300 + 600 + 300) operations over 60 s.
    expect(m.get('ops')!.v).toEqual([null, 20]);
    expect(m.get('resident')!.v).toEqual([1024 * 1_048_576, 1024 * 1_048_576]);
    expect(m.get('cache')!.v).toEqual([1_900_000_000, 1_900_000_000]);
  });

  it('Oracle: V$SYSMETRIC name/value rows (already per second or %) and active sessions', () => {
    // The session lower-cases Oracle's upper-case column names (collectors/oracle/session.ts).
    const rowsOf = (file: string, signal: string): Record<string, unknown>[] => {
      const fixture = JSON.parse(readFileSync(new URL(`../../fixtures/oracle/${file}`, import.meta.url), 'utf8')) as {
        cases: Array<{ signal: string; rows: Record<string, unknown>[] }>;
      };
      const rows = fixture.cases.find((c) => c.signal === signal)!.rows;
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])));
    };
    const sessions = rowsOf('activity.json', 'oracle.sessions');
    const metrics = rowsOf('instance.json', 'oracle.sysmetrics');
    const metric = (metric_name: string, value: number, metric_unit: string) => ({ ...metrics[0], metric_name, value, metric_unit });
    const sysmetrics = (commits: number) => [
      ...metrics,
      metric('Buffer Cache Hit Ratio', 99.1234, '% (LogRead - PhyRead)/LogRead'),
      metric('Session Count', 57, 'Sessions'),
      metric('User Commits Per Sec', commits, 'Commits Per Second'),
    ];
    const h = new MetricsHistory();
    h.record(payload('oracle', T0, [ok('oracle.sysmetrics', sysmetrics(12.5)), ok('oracle.sessions', sessions)]));
    h.record(
      payload('oracle', T0 + 60_000, [
        ok('oracle.sysmetrics', sysmetrics(14)),
        ok(
          'oracle.sessions',
          sessions.map((r) => ({ ...r, status: 'ACTIVE' })),
        ),
      ]),
    );
    const m = byId(h);
    expect(m.get('sessions')!.v).toEqual([57, 57]);
    expect(m.get('active')!.v).toEqual([1, 2]);
    // A per-second metric is plotted as read: no waiting for a second cycle.
    expect(m.get('commits')!.v).toEqual([12.5, 14]);
    expect(m.get('cache_hit')!.v).toEqual([99.1234, 99.1234]);
    // A metric missing from the list says so.
    h.record(payload('oracle', T0 + 120_000, [ok('oracle.sysmetrics', metrics), ok('oracle.sessions', [])]));
    const later = byId(h, 'db', T0 + 120_000);
    expect(later.get('commits')!.unavailable).toBe('the server did not report User Commits Per Sec');
    expect(later.get('active')!.v.at(-1)).toBe(0);
  });

  it('an unavailable signal shows its reason on every engine, never 0', () => {
    const h = new MetricsHistory();
    h.record(
      payload(
        'mssql',
        T0,
        [down('mssql.sessions', 'needs VIEW SERVER STATE'), down('mssql.memory', 'instance memory is not available on Azure SQL Database')],
        'sql',
      ),
    );
    h.record(payload('mongodb', T0, [down('mongodb.server_status', 'needs serverStatus on the cluster')], 'mongo'));
    h.record(payload('oracle', T0, [down('oracle.sysmetrics', 'ORA-00942: needs SELECT on V$SYSMETRIC')], 'ora'));
    const sql = byId(h, 'sql');
    expect(sql.get('sessions')).toMatchObject({ v: [null], unavailable: 'needs VIEW SERVER STATE' });
    expect(sql.get('active')).toMatchObject({ v: [null], unavailable: 'needs VIEW SERVER STATE' });
    expect(describeSeries(sql.get('ple')!)).toBe('Page life expectancy (s): unavailable: instance memory is not available on Azure SQL Database');
    expect(sql.get('io')).toMatchObject({ v: [null], unavailable: 'mssql.file_io was not collected in this cycle' });
    for (const s of h.view('mongo', T0)) expect(s).toMatchObject({ v: [null], unavailable: 'needs serverStatus on the cluster' });
    const ora = byId(h, 'ora');
    expect(ora.get('commits')).toMatchObject({ v: [null], unavailable: 'ORA-00942: needs SELECT on V$SYSMETRIC' });
    expect(ora.get('active')).toMatchObject({ v: [null], unavailable: 'oracle.sessions was not collected in this cycle' });
    // A mongos has no WiredTiger cache: the field is null in the row, so the chart says so.
    h.record(
      payload(
        'mongodb',
        T0 + 60_000,
        [ok('mongodb.server_status', { connections: { current: 3 }, opcounters: {}, memory: { resident_mb: null }, wiredtiger_cache: null })],
        'mongo',
      ),
    );
    const mongo = byId(h, 'mongo', T0 + 60_000);
    expect(mongo.get('connections')!.v).toEqual([null, 3]);
    expect(mongo.get('cache')!.unavailable).toBe('the server did not report wiredtiger_cache.bytes_in_cache');
    expect(mongo.get('resident')!.unavailable).toBe('the server did not report memory.resident_mb');
    expect(mongo.get('ops')!.unavailable).toBe('the server did not report opcounters.insert');
  });
});

describe('ring', () => {
  it('is bounded: the oldest point is overwritten first', () => {
    const r = new Ring(3);
    for (let i = 1; i <= 5; i += 1) r.push(i, i === 4 ? null : i * 10);
    expect(r.size).toBe(3);
    expect(r.since(0)).toEqual({ t: [3, 4, 5], v: [30, null, 50] });
    expect(r.since(5)).toEqual({ t: [5], v: [50] });
  });
});

describe('formatting', () => {
  it('formats by unit', () => {
    expect(formatMetric(1_572_864, 'bytes')).toBe('1.5 MiB');
    expect(formatMetric(99.123, 'percent')).toBe('99.1 %');
    expect(formatMetric(2.5, 'per_second')).toBe('2.50/s');
    expect(formatMetric(1234.4, 'count')).toBe('1,234');
    expect(formatMetric(null, 'count')).toBe('–');
  });
});

describe('cloud charts', () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const cloud = (id: string, rows: unknown[]): Signal => ({ id, family: 'cloud', status: 'ok', value: rows }) as Signal;
  const row = (metric: string, unit: string, points: Array<[number, number]>) => ({
    metric,
    statistic: 'Average',
    unit,
    periodSeconds: 60,
    status: points.length === 0 ? 'no_data' : 'ok',
    latest: points.at(-1)?.[1] ?? null,
    latestAt: points.length === 0 ? null : iso(points.at(-1)![0]),
    points: points.map(([t, v]) => [iso(t), v]),
  });

  it("draws the provider's own last hour, for any engine; no data and unavailable say why, never 0", () => {
    const h = new MetricsHistory();
    const at = T0 + 120_000;
    h.record(
      payload('mssql', at, [
        cloud('cloud.cpu', [
          row('cpu_percent', 'percent', [
            [T0 - 2 * WINDOW_MS, 5],
            [T0, 40],
            [T0 + 60_000, 42.5],
          ]),
        ]),
        cloud('cloud.connections', [row('sessions_count', 'count', [])]),
        { id: 'cloud.memory', family: 'cloud', status: 'unavailable', reason: 'permission', detail: 'AuthorizationFailed: assign Monitoring Reader' } as Signal,
      ]),
    );
    const m = byId(h, 'db', at);
    // The point older than the hour is left out; the others are the provider's, as published.
    expect(m.get('cloud.cpu')).toMatchObject({ label: 'Cloud CPU (cpu_percent)', unit: 'percent', t: [T0, T0 + 60_000], v: [40, 42.5] });
    expect(m.get('cloud.connections')).toMatchObject({ t: [], unavailable: expect.stringMatching(/no data points/) });
    expect(m.get('cloud.memory')).toMatchObject({ unavailable: 'AuthorizationFailed: assign Monitoring Reader' });
    expect(m.has('cloud.iops')).toBe(false);
  });

  it("the latest cycle's provider series replaces the previous one (it already holds the hour)", () => {
    const h = new MetricsHistory();
    h.record(payload('postgres', T0, [cloud('cloud.cpu', [row('CPUUtilization', 'percent', [[T0 - 60_000, 10]])])]));
    h.record(
      payload('postgres', T0 + 60_000, [
        cloud('cloud.cpu', [
          row('CPUUtilization', 'percent', [
            [T0 - 60_000, 10],
            [T0, 12],
          ]),
        ]),
      ]),
    );
    expect(byId(h, 'db', T0 + 60_000).get('cloud.cpu')!.v).toEqual([10, 12]);
  });
});
