/**
 * What a cycle gives the dashboard's charts: a few key metrics per engine, each read
 * from the payload as one number (or why there is none), and the cloud provider's own
 * last hour. The agent reads them once per cycle for the live feed (a feed entry carries
 * them, never the payload); the window reads them from the payloads of history.get. Pure
 * (no Node APIs): the renderer imports it. Rates, gaps and the hour are the window's
 * (renderer/src/lib/metrics-history.ts).
 */
import { z } from 'zod';
import type { PayloadV1 } from '../collectors/core/payload.js';

/** The charts' window: the last hour. */
export const WINDOW_MS = 3_600_000;

type Payload = PayloadV1;
type Signal = Payload['signals'][number];
export type Unit = 'count' | 'per_second' | 'percent' | 'bytes';
const UNITS = ['count', 'per_second', 'percent', 'bytes'] as const satisfies readonly Unit[];

/** A cycle's signal by id. */
type Signals = (id: string) => Signal | undefined;

/** No number this cycle, and why; `reason` is set when the signal itself was not read (the window words it). */
type Unavailable = { unavailable: string; reason?: string };
/** A reading from one cycle: a number, or why there is none. */
export type Reading = { value: number } | Unavailable;

/** What a metric reads from a cycle; counters are turned into rates by the window's history. */
export interface MetricDef {
  id: string;
  label: string;
  unit: Unit;
  /** 'gauge': plotted as read. 'rate': per-second change of a counter. 'ratio': change of `part` over change of `whole`, in %. */
  kind: 'gauge' | 'rate' | 'ratio';
  read(signals: Signals): Reading | { part: number; whole: number };
}

// ---------------------------------------------------------------- reading payloads

function rowsOf(s: Signal & { status: 'ok' }): Record<string, unknown>[] {
  const v: unknown = s.value;
  const list: unknown[] = Array.isArray(v) ? v : [v];
  return list.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r));
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** The ok signal's rows, or the reason it has none, in plain words. */
function signalRows(signals: Signals, id: string, field?: string): Record<string, unknown>[] | Unavailable {
  const s = signals(id);
  if (s === undefined) return { unavailable: `${id} was not collected in this cycle` };
  // The reason goes with the detail: the window words it (a target not reached says why, in its own terms).
  if (s.status === 'unavailable') return { unavailable: s.detail, reason: s.reason };
  if (field !== undefined && s.policy?.[field] === 'exclude') return { unavailable: `${field} is excluded by the policy` };
  return rowsOf(s);
}

/** The sum of a numeric field over a signal's rows (e.g. every database's counter). */
function sumOf(signals: Signals, id: string, field: string): Reading {
  const rows = signalRows(signals, id, field);
  if (!Array.isArray(rows)) return rows;
  let total = 0;
  let seen = 0;
  for (const r of rows) {
    const n = num(r[field]);
    if (n !== undefined) {
      total += n;
      seen += 1;
    }
  }
  return seen === 0 ? { unavailable: `the server did not report ${field}` } : { value: total };
}

function countWhere(signals: Signals, id: string, field: string, equals: string): Reading {
  const rows = signalRows(signals, id, field);
  if (!Array.isArray(rows)) return rows;
  return { value: rows.filter((r) => r[field] === equals).length };
}

/** How many rows a signal has (e.g. sessions); an empty list is a real 0. */
function countRows(signals: Signals, id: string): Reading {
  const rows = signalRows(signals, id);
  return Array.isArray(rows) ? { value: rows.length } : rows;
}

/** A number inside a sub-document of the signal's row, e.g. MongoDB serverStatus `connections.current`; the policy is the top-level field's. */
function valueAt(signals: Signals, id: string, field: string, key: string): Reading {
  const rows = signalRows(signals, id, field);
  if (!Array.isArray(rows)) return rows;
  for (const r of rows) {
    const doc = r[field];
    const n = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? num((doc as Record<string, unknown>)[key]) : undefined;
    if (n !== undefined) return { value: n };
  }
  return { unavailable: `the server did not report ${field}.${key}` };
}

/**
 * The value of a named row in a name/value list (e.g. Oracle V$SYSMETRIC's metric_name / value).
 * Rows come ordered by container, so the first match is the lowest con_id: the whole database.
 */
function named(signals: Signals, id: string, nameField: string, name: string, valueField: string): Reading {
  const rows = signalRows(signals, id, valueField);
  if (!Array.isArray(rows)) return rows;
  for (const r of rows) {
    if (r[nameField] !== name) continue;
    const n = num(r[valueField]);
    if (n !== undefined) return { value: n };
  }
  return { unavailable: `the server did not report ${name}` };
}

/** The sum of readings (counters reported apart); any unavailable part makes the sum unavailable. */
function plus(...readings: Reading[]): Reading {
  let total = 0;
  for (const r of readings) {
    if ('unavailable' in r) return r;
    total += r.value;
  }
  return { value: total };
}

const scaled = (r: Reading, factor: number): Reading => ('unavailable' in r ? r : { value: r.value * factor });
const MIB = 1_048_576;
const MONGO_OPCOUNTERS = ['insert', 'query', 'update', 'delete', 'getmore', 'command'];

function ratioOf(signals: Signals, id: string, hit: string, miss: string): { part: number; whole: number } | Reading {
  const h = sumOf(signals, id, hit);
  const m = sumOf(signals, id, miss);
  if ('unavailable' in h) return h;
  if ('unavailable' in m) return m;
  return { part: h.value, whole: h.value + m.value };
}

// ---------------------------------------------------------------- the metrics per engine

export const METRICS: Partial<Record<Payload['target']['engine'], MetricDef[]>> = {
  postgres: [
    { id: 'connections', label: 'Connections', unit: 'count', kind: 'gauge', read: (s) => sumOf(s, 'postgres.databases', 'numbackends') },
    { id: 'active', label: 'Active sessions', unit: 'count', kind: 'gauge', read: (s) => countWhere(s, 'postgres.activity', 'state', 'active') },
    { id: 'commits', label: 'Commits', unit: 'per_second', kind: 'rate', read: (s) => sumOf(s, 'postgres.databases', 'xact_commit') },
    { id: 'cache_hit', label: 'Cache hit', unit: 'percent', kind: 'ratio', read: (s) => ratioOf(s, 'postgres.databases', 'blks_hit', 'blks_read') },
  ],
  redis: [
    { id: 'memory', label: 'Used memory', unit: 'bytes', kind: 'gauge', read: (s) => sumOf(s, 'redis.memory', 'used_memory') },
    { id: 'clients', label: 'Connected clients', unit: 'count', kind: 'gauge', read: (s) => sumOf(s, 'redis.clients', 'connected_clients') },
    { id: 'ops', label: 'Operations', unit: 'per_second', kind: 'gauge', read: (s) => sumOf(s, 'redis.stats', 'instantaneous_ops_per_sec') },
    { id: 'hit', label: 'Keyspace hit', unit: 'percent', kind: 'ratio', read: (s) => ratioOf(s, 'redis.stats', 'keyspace_hits', 'keyspace_misses') },
  ],
  // The collector reads no Batch Requests/sec or User Connections counter: sessions, file I/O and buffer pool counters instead.
  mssql: [
    { id: 'sessions', label: 'User sessions', unit: 'count', kind: 'gauge', read: (s) => countRows(s, 'mssql.sessions') },
    { id: 'active', label: 'Active sessions', unit: 'count', kind: 'gauge', read: (s) => countWhere(s, 'mssql.sessions', 'session_status', 'running') },
    {
      id: 'io',
      label: 'File I/O operations',
      unit: 'per_second',
      kind: 'rate',
      read: (s) => plus(sumOf(s, 'mssql.file_io', 'num_of_reads'), sumOf(s, 'mssql.file_io', 'num_of_writes')),
    },
    { id: 'ple', label: 'Page life expectancy (s)', unit: 'count', kind: 'gauge', read: (s) => sumOf(s, 'mssql.memory', 'page_life_expectancy_s') },
  ],
  mongodb: [
    { id: 'connections', label: 'Connections', unit: 'count', kind: 'gauge', read: (s) => valueAt(s, 'mongodb.server_status', 'connections', 'current') },
    {
      id: 'ops',
      label: 'Operations',
      unit: 'per_second',
      kind: 'rate',
      read: (s) => plus(...MONGO_OPCOUNTERS.map((op) => valueAt(s, 'mongodb.server_status', 'opcounters', op))),
    },
    {
      id: 'resident',
      label: 'Resident memory',
      unit: 'bytes',
      kind: 'gauge',
      read: (s) => scaled(valueAt(s, 'mongodb.server_status', 'memory', 'resident_mb'), MIB),
    },
    {
      id: 'cache',
      label: 'WiredTiger cache',
      unit: 'bytes',
      kind: 'gauge',
      read: (s) => valueAt(s, 'mongodb.server_status', 'wiredtiger_cache', 'bytes_in_cache'),
    },
  ],
  // V$SYSMETRIC values are already per second or % over the last minute: gauges, not counters.
  oracle: [
    { id: 'sessions', label: 'Sessions', unit: 'count', kind: 'gauge', read: (s) => named(s, 'oracle.sysmetrics', 'metric_name', 'Session Count', 'value') },
    { id: 'active', label: 'Active sessions', unit: 'count', kind: 'gauge', read: (s) => countWhere(s, 'oracle.sessions', 'status', 'ACTIVE') },
    {
      id: 'commits',
      label: 'User commits',
      unit: 'per_second',
      kind: 'gauge',
      read: (s) => named(s, 'oracle.sysmetrics', 'metric_name', 'User Commits Per Sec', 'value'),
    },
    {
      id: 'cache_hit',
      label: 'Buffer cache hit',
      unit: 'percent',
      kind: 'gauge',
      read: (s) => named(s, 'oracle.sysmetrics', 'metric_name', 'Buffer Cache Hit Ratio', 'value'),
    },
  ],
};

/** The cloud.* signals charted for a target with a cloud binding, first provider metric of each. */
export const CLOUD_CHARTS: ReadonlyArray<{ id: string; label: string }> = [
  { id: 'cloud.cpu', label: 'Cloud CPU' },
  { id: 'cloud.memory', label: 'Cloud memory' },
  { id: 'cloud.connections', label: 'Cloud connections' },
  { id: 'cloud.iops', label: 'Cloud IOPS' },
];
const CLOUD_UNIT: Record<string, Unit> = { percent: 'percent', bytes: 'bytes', count: 'count', 'count/s': 'per_second' };

/** A cloud signal's first metric as a chart series: the provider's points (already an hour), or why there are none. */
function cloudSeries(signal: Signal | undefined, def: { id: string; label: string }, since: number): CloudSeries | undefined {
  if (signal === undefined) return undefined;
  const base = { id: def.id, label: def.label, unit: 'count' as Unit, t: [] as number[], v: [] as (number | null)[] };
  if (signal.status === 'unavailable') return { ...base, unavailable: signal.detail };
  const row = rowsOf(signal)[0];
  if (row === undefined) return { ...base, unavailable: 'the provider returned no metric' };
  const unit = CLOUD_UNIT[String(row.unit)];
  if (unit === undefined) return undefined;
  const series: CloudSeries = { ...base, label: `${def.label} (${String(row.metric)})`, unit };
  if (row.status === 'no_data') return { ...series, unavailable: 'the provider published no data points in the window' };
  const points = Array.isArray(row.points) ? (row.points as unknown[]) : [];
  for (const p of points) {
    if (!Array.isArray(p)) continue;
    const time = Date.parse(String(p[0]));
    const value = num(p[1]);
    if (Number.isNaN(time) || time < since || value === undefined) continue;
    series.t.push(time);
    series.v.push(value);
  }
  return series;
}

/** A cloud metric's series as the provider published it (its own last hour). */
export const CloudSeriesSchema = z
  .object({
    id: z.string(),
    label: z.string(),
    unit: z.enum(UNITS),
    t: z.array(z.number()),
    v: z.array(z.number().nullable()),
    unavailable: z.string().optional(),
  })
  .strict();
export type CloudSeries = z.infer<typeof CloudSeriesSchema>;

const ReadingSchema = z.union([
  z.object({ value: z.number() }).strict(),
  z.object({ unavailable: z.string(), reason: z.string().optional() }).strict(),
  z.object({ part: z.number(), whole: z.number() }).strict(),
]);

export const ChartReadingsSchema = z
  .object({
    /** Each metric of the engine read this cycle; one whose signal was not due (payload v2) is absent: no point, no gap. */
    metrics: z.array(z.object({ id: z.string(), reading: ReadingSchema }).strict()),
    /** Set when the payload has cloud signals: the charted ones, replacing the previous cycle's. */
    cloud: z.array(CloudSeriesSchema).optional(),
  })
  .strict();
export type ChartReadings = z.infer<typeof ChartReadingsSchema>;

/** What the charts take from a cycle; undefined for an engine without charts and no cloud signals. */
export function chartReadings(payload: Payload): ChartReadings | undefined {
  const defs = METRICS[payload.target.engine] ?? [];
  const hasCloud = payload.signals.some((s) => s.family === 'cloud');
  if (defs.length === 0 && !hasCloud) return undefined;
  // A lookup, not a map of every signal: a payload has dozens, the charts read two or three.
  // A v2 payload carries only the families due this cycle: a metric whose signal is absent is not read this cycle.
  let notDue: boolean;
  const signals: Signals = (id) => {
    const s = payload.signals.find((x) => x.id === id);
    if (s === undefined && payload.families !== undefined) notDue = true;
    return s;
  };
  const metrics: ChartReadings['metrics'] = [];
  for (const def of defs) {
    notDue = false;
    const reading = def.read(signals);
    if (!notDue) metrics.push({ id: def.id, reading });
  }
  if (!hasCloud) return { metrics };
  const since = Date.parse(payload.collectedAt) - WINDOW_MS;
  return { metrics, cloud: CLOUD_CHARTS.map((def) => cloudSeries(signals(def.id), def, since)).filter((x): x is CloudSeries => x !== undefined) };
}
