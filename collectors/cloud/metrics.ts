import type { AnySignalSpec, Unavailable } from '../core/signal.js';
import { defineSignal, SignalUnavailable } from '../core/signal.js';
import type { CloudSession } from './provider.js';
import type { Engine } from '../target.js';

/** The cloud signals: the same kinds of metric for every provider, plus the service's own. */
export const CLOUD_SIGNALS = ['cpu', 'memory', 'storage', 'iops', 'connections', 'replica_lag', 'service'] as const;
export type CloudSignalKind = (typeof CLOUD_SIGNALS)[number];

/** One provider metric to read. */
export interface MetricQuery {
  /** Unique within the binding; the key of the fetch result. */
  id: string;
  signal: CloudSignalKind;
  /** The provider's metric name (CloudWatch MetricName, Azure metric name, Cloud Monitoring metric type). */
  name: string;
  /** Provider aggregation (Average, Maximum, ALIGN_MEAN, …). */
  statistic: string;
  /** Unit after conversion: percent, bytes, count, count/s, seconds, milliseconds. */
  unit: string;
  periodSeconds: number;
  /** Multiplies provider values into `unit` (e.g. 100 for a 0–1 utilisation fraction). */
  scale?: number;
  /** Only for targets of these engines (a service that runs several engines publishes per-engine metrics). */
  engines?: readonly Engine[];
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

/** Points oldest first, [ISO time, value]. An empty list means the provider returned no data points. */
export interface Series {
  points: Array<[string, number]>;
}

/** A query either has a series (possibly empty) or is unavailable with a reason of its own. */
export type QueryResult = Series | Unavailable;

export interface MetricRow {
  metric: string;
  statistic: string;
  unit: string;
  periodSeconds: number;
  /** 'no_data': the provider published no point in the window; latest is then null, never 0. */
  status: 'ok' | 'no_data';
  latest: number | null;
  latestAt: string | null;
  points: Array<[string, number]>;
}

const isUnavailable = (r: QueryResult): r is Unavailable => 'status' in r && r.status === 'unavailable';

export function windowEnding(end: Date, lookbackMinutes: number): TimeWindow {
  return { start: new Date(end.getTime() - lookbackMinutes * 60_000), end };
}

/**
 * The cycle's fetch, shared by every cloud signal: the first signal's read calls
 * the provider once for every query; the others reuse the answer.
 */
export class CloudReads {
  private answer?: Promise<Map<string, QueryResult>>;
  constructor(
    readonly session: CloudSession,
    readonly queries: readonly MetricQuery[],
    readonly window: TimeWindow,
  ) {}
  all(): Promise<Map<string, QueryResult>> {
    this.answer ??= this.session.fetch(this.queries, this.window);
    return this.answer;
  }
}

const DESCRIPTIONS: Record<CloudSignalKind, string> = {
  cpu: 'CPU utilisation reported by the cloud provider',
  memory: 'memory use or freeable memory reported by the cloud provider',
  storage: 'storage used or free, reported by the cloud provider',
  iops: 'read and write I/O operations per second, reported by the cloud provider',
  connections: 'client connections, reported by the cloud provider',
  replica_lag: 'replica lag, reported by the cloud provider',
  service: "the managed service's own metrics (cache hits, deadlocks, evictions, …)",
};

const ROW_FIELDS = { metric: null, statistic: null, unit: null, periodSeconds: null, status: null, latest: null, latestAt: null, points: null } as const;

/** The cloud.* signals for a binding's queries: one per kind that has at least one query. */
export function cloudCatalog(queries: readonly MetricQuery[]): AnySignalSpec<CloudReads>[] {
  const kinds = CLOUD_SIGNALS.filter((k) => queries.some((q) => q.signal === k));
  return kinds.map((kind) =>
    defineSignal<CloudReads, MetricRow>({
      id: `cloud.${kind}`,
      family: 'cloud',
      description: DESCRIPTIONS[kind],
      requires: ['cloud:metrics-read'],
      shape: 'rows',
      fields: ROW_FIELDS,
      async read(reads) {
        const all = await reads.all();
        const mine = reads.queries.filter((q) => q.signal === kind);
        const rows: MetricRow[] = [];
        let firstUnavailable: Unavailable | undefined;
        for (const q of mine) {
          const r = all.get(q.id);
          if (r === undefined || isUnavailable(r)) {
            firstUnavailable ??= r ?? { status: 'unavailable', reason: 'error', detail: `the provider did not answer for ${q.name}` };
            continue;
          }
          const last = r.points.at(-1);
          rows.push({
            metric: q.name,
            statistic: q.statistic,
            unit: q.unit,
            periodSeconds: q.periodSeconds,
            status: last === undefined ? 'no_data' : 'ok',
            latest: last === undefined ? null : last[1],
            latestAt: last === undefined ? null : last[0],
            points: r.points,
          });
        }
        // Nothing readable at all: the signal is unavailable with the first reason, never an empty list.
        if (rows.length === 0 && firstUnavailable !== undefined)
          throw new SignalUnavailable(firstUnavailable.reason, firstUnavailable.detail, firstUnavailable.fix);
        return rows;
      },
    }),
  );
}
