/**
 * The dashboard's charts, without Svelte or uPlot so it can be tested alone: a
 * few key metrics per engine read from the payloads the renderer already receives
 * (the live feed), kept per target in a bounded ring covering the last hour.
 *
 * A metric that a cycle could not read is never stored as 0: its point is a gap
 * (null) and the metric carries the reason, so the chart can say
 * "unavailable: <reason>" instead of drawing a flat line.
 */
import type { Preview } from '../../../contract/api.js';
import { plainUnavailable } from './format.js';

export const WINDOW_MS = 3_600_000;
/** Points kept per metric: a 10 s interval for an hour, plus room for "Collect now" clicks. */
export const RING_CAPACITY = 720;

type Payload = Preview['payload'];
type Signal = Payload['signals'][number];
export type Unit = 'count' | 'per_second' | 'percent' | 'bytes';

/** A cycle's signal by id. */
type Signals = (id: string) => Signal | undefined;

/** A reading from one cycle: a number, or why there is none. */
export type Reading = { value: number } | { unavailable: string };

/** What a metric reads from a cycle; counters are turned into rates by the history. */
interface MetricDef {
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
function signalRows(signals: Signals, id: string, field?: string): Record<string, unknown>[] | { unavailable: string } {
  const s = signals(id);
  if (s === undefined) return { unavailable: `${id} was not collected in this cycle` };
  if (s.status === 'unavailable') return { unavailable: plainUnavailable(s.reason, s.detail) };
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

const METRICS: Partial<Record<Payload['target']['engine'], MetricDef[]>> = {
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

export const chartedEngines = (): string[] => Object.keys(METRICS);

// ---------------------------------------------------------------- the ring

/** Fixed-capacity time series; the oldest point is overwritten first. Times in ms, gaps as NaN. */
export class Ring {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  constructor(readonly capacity = RING_CAPACITY) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }
  push(time: number, value: number | null): void {
    this.times[this.head] = time;
    this.values[this.head] = value ?? Number.NaN;
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }
  get size(): number {
    return this.count;
  }
  /** Points at or after `since`, oldest first; gaps as null. */
  since(since: number): { t: number[]; v: (number | null)[] } {
    const t: number[] = [];
    const v: (number | null)[] = [];
    for (let i = 0; i < this.count; i += 1) {
      const k = (this.head - this.count + i + this.capacity) % this.capacity;
      const time = this.times[k]!;
      if (time < since) continue;
      const value = this.values[k]!;
      t.push(time);
      v.push(Number.isNaN(value) ? null : value);
    }
    return { t, v };
  }
}

// ---------------------------------------------------------------- per target

export interface MetricSeries {
  id: string;
  label: string;
  unit: Unit;
  /** Times in ms and values, oldest first, within the window; null is a gap. */
  t: number[];
  v: (number | null)[];
  /** Why the latest cycle has no value (unavailable signal, excluded field...); absent when it has one. */
  unavailable?: string;
  /** Set while a rate or ratio waits for its second cycle. */
  waiting?: string;
}

interface MetricState {
  ring: Ring;
  /** The last counter reading, for rates and ratios. */
  last?: { time: number; value: number; whole?: number };
  unavailable?: string;
  waiting?: string;
}

interface TargetState {
  engine: string;
  metrics: Map<string, MetricState>;
  /** The provider's own last hour, as the latest cycle carried it (cloud.* signals): replaced, not accumulated. */
  cloud: MetricSeries[];
}

/** The cloud.* signals charted for a target with a cloud binding, first provider metric of each. */
const CLOUD_CHARTS: ReadonlyArray<{ id: string; label: string }> = [
  { id: 'cloud.cpu', label: 'Cloud CPU' },
  { id: 'cloud.memory', label: 'Cloud memory' },
  { id: 'cloud.connections', label: 'Cloud connections' },
  { id: 'cloud.iops', label: 'Cloud IOPS' },
];
const CLOUD_UNIT: Record<string, Unit> = { percent: 'percent', bytes: 'bytes', count: 'count', 'count/s': 'per_second' };

/** A cloud signal's first metric as a chart series: the provider's points (already an hour), or why there are none. */
function cloudSeries(signal: Signal | undefined, def: { id: string; label: string }, since: number): MetricSeries | undefined {
  if (signal === undefined) return undefined;
  const base = { id: def.id, label: def.label, unit: 'count' as Unit, t: [] as number[], v: [] as (number | null)[] };
  if (signal.status === 'unavailable') return { ...base, unavailable: signal.detail };
  const row = rowsOf(signal)[0];
  if (row === undefined) return { ...base, unavailable: 'the provider returned no metric' };
  const unit = CLOUD_UNIT[String(row.unit)];
  if (unit === undefined) return undefined;
  const series: MetricSeries = { ...base, label: `${def.label} (${String(row.metric)})`, unit };
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

export class MetricsHistory {
  private readonly targets = new Map<string, TargetState>();
  constructor(private readonly capacity = RING_CAPACITY) {}

  /** Records one cycle. Payloads of engines without charts are ignored. */
  record(payload: Payload): void {
    const defs = METRICS[payload.target.engine] ?? [];
    const hasCloud = payload.signals.some((s) => s.family === 'cloud');
    if (defs.length === 0 && !hasCloud) return;
    const time = Date.parse(payload.collectedAt);
    if (Number.isNaN(time)) return;
    let target = this.targets.get(payload.target.id);
    if (target === undefined || target.engine !== payload.target.engine) {
      target = { engine: payload.target.engine, metrics: new Map(), cloud: [] };
      this.targets.set(payload.target.id, target);
    }
    // A lookup, not a map of every signal: a payload has dozens, the charts read two or three, and this runs for every preview.
    // A v2 payload carries only the families due this cycle: a chart whose signal is absent skips the cycle (no gap, no point).
    let notDue: boolean;
    const signals: Signals = (id) => {
      const s = payload.signals.find((x) => x.id === id);
      if (s === undefined && payload.families !== undefined) notDue = true;
      return s;
    };
    if (hasCloud) {
      target.cloud = CLOUD_CHARTS.map((def) => cloudSeries(signals(def.id), def, time - WINDOW_MS)).filter((x): x is MetricSeries => x !== undefined);
    }
    for (const def of defs) {
      let m = target.metrics.get(def.id);
      if (m === undefined) {
        m = { ring: new Ring(this.capacity) };
        target.metrics.set(def.id, m);
      }
      // A cycle older than the last one (out of order) would make a negative rate: skip it.
      if (m.last !== undefined && time <= m.last.time) continue;
      notDue = false;
      const reading = def.read(signals);
      if (notDue) continue;
      m.ring.push(time, this.pointOf(def, m, reading, time));
    }
  }

  private pointOf(def: MetricDef, m: MetricState, reading: ReturnType<MetricDef['read']>, time: number): number | null {
    m.waiting = undefined;
    if ('unavailable' in reading) {
      m.unavailable = reading.unavailable;
      m.last = undefined; // a rate across a gap would hide the gap
      return null;
    }
    m.unavailable = undefined;
    if (def.kind === 'gauge' && 'value' in reading) return reading.value;
    const value = 'value' in reading ? reading.value : reading.part;
    const whole = 'whole' in reading ? reading.whole : undefined;
    const prev = m.last;
    m.last = { time, value, ...(whole === undefined ? {} : { whole }) };
    if (prev === undefined) {
      m.waiting = 'needs a second cycle';
      return null;
    }
    const dv = value - prev.value;
    // A counter that went down was reset (server restart): no honest value for this interval.
    if (dv < 0) return null;
    if (def.kind === 'rate') return dv / ((time - prev.time) / 1000);
    const dw = (whole ?? 0) - (prev.whole ?? 0);
    return dw > 0 ? (100 * dv) / dw : null;
  }

  /** The charts of a target for the hour before `now`; empty for an engine without charts or a target with no cycle yet. */
  view(targetId: string, now: number = Date.now()): MetricSeries[] {
    const target = this.targets.get(targetId);
    if (target === undefined) return [];
    const defs = METRICS[target.engine as Payload['target']['engine']] ?? [];
    const since = now - WINDOW_MS;
    const cloud = target.cloud.map((c) => {
      const keep = c.t.map((t) => t >= since);
      return { ...c, t: c.t.filter((_, i) => keep[i]), v: c.v.filter((_, i) => keep[i]) };
    });
    const engine = defs.map((def): MetricSeries => {
      const m = target.metrics.get(def.id);
      const { t, v } = m?.ring.since(now - WINDOW_MS) ?? { t: [], v: [] };
      return {
        id: def.id,
        label: def.label,
        unit: def.unit,
        t,
        v,
        ...(m?.unavailable === undefined ? {} : { unavailable: m.unavailable }),
        ...(m?.waiting === undefined ? {} : { waiting: m.waiting }),
      };
    });
    return [...engine, ...cloud];
  }

  forget(targetId: string): void {
    this.targets.delete(targetId);
  }
}

/** A value for people: the unit's usual form. */
export function formatMetric(value: number | null | undefined, unit: Unit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  switch (unit) {
    case 'percent':
      return `${value.toFixed(value >= 99.95 ? 0 : 1)} %`;
    case 'per_second':
      return `${value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en')}/s`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
      }
      return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
    }
    default:
      return Math.round(value).toLocaleString('en');
  }
}

/** The chart's accessible name: what it shows and its latest, lowest and highest values. */
export function describeSeries(s: MetricSeries): string {
  if (s.unavailable !== undefined) return `${s.label}: unavailable: ${s.unavailable}`;
  const values = s.v.filter((x): x is number => x !== null);
  if (values.length === 0) return `${s.label}, last hour: no value yet${s.waiting ? ` (${s.waiting})` : ''}`;
  const latest = [...s.v].reverse().find((x): x is number => x !== null);
  return `${s.label}, last hour: latest ${formatMetric(latest, s.unit)}, lowest ${formatMetric(Math.min(...values), s.unit)}, highest ${formatMetric(Math.max(...values), s.unit)}`;
}
