/**
 * The dashboard's charts, without Svelte or uPlot so it can be tested alone: a
 * few key metrics per engine read from the payloads the renderer already receives
 * (the live feed), kept per target in a bounded ring covering the last hour.
 *
 * A metric that a cycle could not read is never stored as 0: its point is a gap
 * (null) and the metric carries the reason, so the chart can say
 * "unavailable: <reason>" instead of drawing a flat line.
 */
import { type ChartReadings, chartReadings, METRICS, type MetricDef, type Reading, type Unit, WINDOW_MS } from '../../../contract/chart-readings.js';
import type { Preview } from '../../../contract/api.js';
import { plainUnavailable } from './format.js';

export { WINDOW_MS, type Unit };
/** Points kept per metric: a 10 s interval for an hour, plus room for "Collect now" clicks. */
export const RING_CAPACITY = 720;

type Payload = Preview['payload'];

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

export class MetricsHistory {
  private readonly targets = new Map<string, TargetState>();
  constructor(private readonly capacity = RING_CAPACITY) {}

  /** Records one cycle from its payload (the agent's history). Payloads of engines without charts are ignored. */
  record(payload: Payload): void {
    const charts = chartReadings(payload);
    if (charts !== undefined) this.recordReadings(payload.target.id, payload.target.engine, payload.collectedAt, charts);
  }

  /** Records one cycle from what the charts read of it (a live-feed entry carries these, not the payload). */
  recordReadings(targetId: string, engine: string, collectedAt: string, charts: ChartReadings): void {
    const defs = METRICS[engine as Payload['target']['engine']] ?? [];
    const time = Date.parse(collectedAt);
    if (Number.isNaN(time)) return;
    let target = this.targets.get(targetId);
    if (target === undefined || target.engine !== engine) {
      target = { engine, metrics: new Map(), cloud: [] };
      this.targets.set(targetId, target);
    }
    if (charts.cloud !== undefined) target.cloud = charts.cloud.map((c): MetricSeries => ({ ...c }));
    for (const { id, reading } of charts.metrics) {
      const def = defs.find((d) => d.id === id);
      if (def === undefined) continue;
      let m = target.metrics.get(id);
      if (m === undefined) {
        m = { ring: new Ring(this.capacity) };
        target.metrics.set(id, m);
      }
      // A cycle older than the last one (out of order) would make a negative rate: skip it.
      if (m.last !== undefined && time <= m.last.time) continue;
      m.ring.push(time, this.pointOf(def, m, reading, time));
    }
  }

  private pointOf(def: MetricDef, m: MetricState, reading: Reading | { part: number; whole: number }, time: number): number | null {
    m.waiting = undefined;
    if ('unavailable' in reading) {
      m.unavailable = reading.reason === undefined ? reading.unavailable : plainUnavailable(reading.reason, reading.unavailable);
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
