import monitoring, { type protos } from '@google-cloud/monitoring';
import type { JWT } from 'google-auth-library';
import { egressRefusalIn, keepRefusal } from '../egress.js';
import { type Unavailable, unavailable } from '../../core/signal.js';
import type { GcpBinding } from '../binding.js';
import type { MetricQuery, QueryResult, Series, TimeWindow } from '../metrics.js';
import type { CloudContext, CloudSession } from '../provider.js';
import { errorCode, mapGcpError } from './errors.js';
import { metricFilter, reducerOf } from './metrics.js';

type ITimeSeries = protos.google.monitoring.v3.ITimeSeries;
type ITimestamp = protos.google.protobuf.ITimestamp;
type MetricServiceClient = InstanceType<typeof monitoring.MetricServiceClient>;

/**
 * Retries for a collector that runs every 60 s: at most two attempts, and only
 * for UNAVAILABLE (14), the code ListTimeSeries' own config retries; the next
 * cycle is the real retry. Throttling (RESOURCE_EXHAUSTED) is never retried
 * within a cycle: asking again at once only deepens the quota hole.
 */
export const CALL_OPTIONS = {
  timeout: 20_000,
  autoPaginate: false,
  retry: {
    retryCodes: [14],
    backoffSettings: {
      initialRetryDelayMillis: 250,
      retryDelayMultiplier: 2,
      maxRetryDelayMillis: 1_000,
      initialRpcTimeoutMillis: 10_000,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: 10_000,
      maxRetries: 1,
    },
  },
};

const iso = (t: ITimestamp | null | undefined): string | undefined => {
  if (t?.seconds === undefined || t.seconds === null) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6)).toISOString();
};
const timestamp = (d: Date): ITimestamp => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

/** A point's number: DOUBLE or INT64 (the JSON mapping sends int64 as a string). */
function pointValue(v: protos.google.monitoring.v3.ITypedValue | null | undefined): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (v.int64Value !== null && v.int64Value !== undefined) return Number(v.int64Value);
  return undefined;
}

export class GcpSession implements CloudSession {
  constructor(
    readonly binding: GcpBinding,
    readonly principal: string,
    readonly client: MetricServiceClient,
    readonly auth: JWT,
    private readonly ctx: CloudContext,
  ) {}

  /** Records one provider call in the audit trail (never a value, never a secret). */
  audit(statement: string, started: number, err?: unknown, rows?: number): void {
    this.ctx.audit.record({
      time: new Date(started).toISOString(),
      targetId: this.ctx.targetId,
      engine: 'gcp',
      statement,
      durationMs: Date.now() - started,
      outcome: err === undefined ? 'ok' : 'error',
      ...(err === undefined ? {} : { code: errorCode(err) }),
      ...(rows === undefined ? {} : { rows }),
    });
  }

  /** One projects.timeSeries.list call for one metric type (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list). */
  async listSeries(q: MetricQuery, window: TimeWindow, pageSize = 100): Promise<ITimeSeries[]> {
    const reducer = reducerOf(this.binding, q);
    const statement = `ListTimeSeries projects/${this.binding.projectId} ${q.name} ${q.statistic}/${reducer} ${q.periodSeconds}s`;
    const started = Date.now();
    try {
      // google-gax retries and re-wraps transport errors: the guard is asked whether it refused.
      const [series] = await keepRefusal(this.ctx.egress.guard, () =>
        this.client.listTimeSeries(
          {
            name: `projects/${this.binding.projectId}`,
            filter: metricFilter(this.binding, q),
            interval: { startTime: timestamp(window.start), endTime: timestamp(window.end) },
            aggregation: {
              alignmentPeriod: { seconds: q.periodSeconds },
              perSeriesAligner: q.statistic as keyof typeof protos.google.monitoring.v3.Aggregation.Aligner,
              crossSeriesReducer: reducer,
              // Keeps the region label on the reduced series, for the region check.
              groupByFields: ['resource.labels.region'],
            },
            view: 'FULL',
            pageSize,
          },
          CALL_OPTIONS,
        ),
      );
      this.audit(
        statement,
        started,
        undefined,
        series.reduce((n, s) => n + (s.points?.length ?? 0), 0),
      );
      return series;
    } catch (err) {
      this.audit(statement, started, err);
      throw err;
    }
  }

  /**
   * Cloud Monitoring is global, so the region is checked on the answer: a series
   * from another region than the binding's is refused, not shown as this
   * instance's. Points come newest first (TimeSeries.points); the result is
   * oldest first, scaled into the query's unit.
   */
  toSeries(q: MetricQuery, series: readonly ITimeSeries[]): QueryResult {
    const points: Array<[string, number]> = [];
    for (const s of series) {
      const region = s.resource?.labels?.region;
      if (region !== this.binding.region) {
        return unavailable(
          'error',
          region === undefined || region === null || region === ''
            ? `Cloud Monitoring returned ${q.name} without a region; the agent only accepts metrics it can place in ${this.binding.region}`
            : `Cloud Monitoring returned ${q.name} for region ${region}, not the binding's region ${this.binding.region}: refused (check cloud.region and the instance)`,
        );
      }
      for (const p of s.points ?? []) {
        const at = iso(p.interval?.endTime);
        const v = pointValue(p.value);
        if (at !== undefined && v !== undefined && Number.isFinite(v)) points.push([at, v * (q.scale ?? 1)]);
      }
    }
    points.sort((a, b) => a[0].localeCompare(b[0]));
    return { points } satisfies Series;
  }

  /**
   * One call per metric type (the API takes one per filter). The first call goes
   * alone: when it fails for the whole project (permission, throttling,
   * credentials, egress) the cycle stops there instead of repeating the failure
   * for every metric. After a first answer, a later metric's own failure is that
   * metric's reason.
   */
  async fetch(queries: readonly MetricQuery[], window: TimeWindow): Promise<Map<string, QueryResult>> {
    const out = new Map<string, QueryResult>();
    const [first, ...rest] = queries;
    if (first === undefined) return out;
    out.set(first.id, this.toSeries(first, await this.listSeries(first, window)));
    const answers = await Promise.allSettled(rest.map((q) => this.listSeries(q, window)));
    rest.forEach((q, i) => {
      const a = answers[i]!;
      out.set(q.id, a.status === 'fulfilled' ? this.toSeries(q, a.value) : this.unavailableFor(a.reason));
    });
    return out;
  }

  private unavailableFor(err: unknown): Unavailable {
    const refused = egressRefusalIn(err);
    if (refused !== undefined) return unavailable('error', `egress guard: ${refused.message}`);
    return mapGcpError(err, this.binding);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
