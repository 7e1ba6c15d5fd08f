import { ClientSecretCredential } from '@azure/identity';
import { MetricsClient, type MetricsQueryResult } from '@azure/monitor-query-metrics';
import { ConfigError } from '../../core/engine.js';
import { unavailable } from '../../core/signal.js';
import type { AzureBinding } from '../binding.js';
import type { MetricQuery, QueryResult, TimeWindow } from '../metrics.js';
import type { CloudContext, CloudSession } from '../provider.js';
import { authorityUrl, metricsUrl } from './endpoints.js';
import { isPermission, isThrottle, permissionReason } from './errors.js';
import { auditPolicy, RETRY_OPTIONS, retryAfterCapPolicy } from './pipeline.js';
import { isoInterval } from './queries.js';
import { NAMESPACE, resourceIdOf } from './resource.js';
import { keepRefusal } from '../egress.js';

/** The token audience the metrics SDK asks for (KnownMonitorMetricsQueryAudience.AzurePublicCloud); ARM accepts the same token. */
export const MANAGEMENT_SCOPE = 'https://management.azure.com/.default';

/** An Entra client secret: printable ASCII without spaces (generated secrets are 40 characters of [A-Za-z0-9~._-]). */
const CLIENT_SECRET = /^[\x21-\x7e]{8,256}$/;

type Metric = MetricsQueryResult['metrics'][number];
type Aggregation = 'average' | 'maximum' | 'total';

export class AzureSession implements CloudSession {
  readonly resourceId: string;
  constructor(
    readonly binding: AzureBinding,
    readonly credential: ClientSecretCredential,
    readonly metrics: MetricsClient,
    readonly ctx: CloudContext,
  ) {
    this.resourceId = resourceIdOf(binding);
  }

  /** One metrics:getBatch call per distinct period (all of today's queries share PT1M: one call). */
  fetch(queries: readonly MetricQuery[], window: TimeWindow): Promise<Map<string, QueryResult>> {
    return this.guarded(() => this.fetchAll(queries, window));
  }

  /** Runs an SDK call so that an egress refusal stays the reason (MSAL drops its cause: keepRefusal asks the guard). */
  guarded<T>(call: () => Promise<T>): Promise<T> {
    return keepRefusal(this.ctx.egress.guard, call);
  }

  private async fetchAll(queries: readonly MetricQuery[], window: TimeWindow): Promise<Map<string, QueryResult>> {
    const out = new Map<string, QueryResult>();
    const byPeriod = new Map<number, MetricQuery[]>();
    for (const q of queries) byPeriod.set(q.periodSeconds, [...(byPeriod.get(q.periodSeconds) ?? []), q]);
    for (const [period, group] of byPeriod) {
      const aggregations = [...new Set(group.map((q) => aggregationOf(q)))];
      const results = await this.metrics.queryResources(
        [this.resourceId],
        group.map((q) => q.name),
        NAMESPACE[this.binding.service],
        {
          startTime: window.start,
          endTime: window.end,
          interval: isoInterval(period),
          aggregation: aggregations.join(','),
        },
      );
      const mine = results.find((r) => r.resourceId?.toLowerCase() === this.resourceId.toLowerCase()) ?? results[0];
      for (const q of group) out.set(q.id, this.toResult(q, mine === undefined ? undefined : metricNamed(mine.metrics, q.name)));
    }
    return out;
  }

  private toResult(q: MetricQuery, m: Metric | undefined): QueryResult {
    if (m === undefined) return unavailable('error', `Azure Monitor returned nothing for ${q.name}`);
    if (m.errorCode !== undefined && m.errorCode !== 'Success') {
      // A per-metric failure inside a successful batch answer: this metric only.
      if (isThrottle(undefined, m.errorCode)) return unavailable('error', `throttled by Azure Monitor (${m.errorCode}); the next cycle retries`);
      if (isPermission(undefined, m.errorCode)) return permissionReason(this.binding, m.errorCode);
      return unavailable('error', `Azure Monitor could not read ${q.name} (${m.errorCode})`);
    }
    const key = aggregationOf(q);
    const scale = q.scale ?? 1;
    // No dimension filter is sent, so Azure aggregates the resource into one series.
    // A time grain without a value comes back as a bare timeStamp: skipped, never read as 0.
    const points = (m.timeseries[0]?.data ?? [])
      .filter((d) => typeof d[key] === 'number')
      .sort((a, b) => a.timeStamp.getTime() - b.timeStamp.getTime())
      .map((d): [string, number] => [d.timeStamp.toISOString(), (d[key] as number) * scale]);
    return { points };
  }

  /** The checklist's live probe: one metric over the last five minutes. */
  async probe(name: string, now = new Date()): Promise<void> {
    await this.guarded(() =>
      this.metrics.queryResources([this.resourceId], [name], NAMESPACE[this.binding.service], {
        startTime: new Date(now.getTime() - 5 * 60_000),
        endTime: now,
        interval: 'PT1M',
      }),
    );
  }

  /** The bearer token the SDK uses (cached by the credential, so usually no second token request). */
  async token(): Promise<string> {
    const t = await this.guarded(() => this.credential.getToken(MANAGEMENT_SCOPE));
    if (t === null) throw new Error('Microsoft Entra ID returned no access token');
    return t.token;
  }

  async close(): Promise<void> {
    // The clients hold no connection of their own: the guarded agent is destroyed by the cycle.
  }
}

const aggregationOf = (q: MetricQuery): Aggregation => q.statistic.toLowerCase() as Aggregation;

/**
 * The SDK's `name` is the localized display name ("Cache Hits") when Azure
 * sends one, so the metric is matched on its id, which ends in
 * /providers/Microsoft.Insights/metrics/<REST name>.
 */
function metricNamed(metrics: readonly Metric[], name: string): Metric | undefined {
  const suffix = `/metrics/${name}`.toLowerCase();
  return metrics.find((m) => m.id?.toLowerCase().endsWith(suffix)) ?? metrics.find((m) => m.name.toLowerCase() === name.toLowerCase());
}

export async function openAzure(binding: AzureBinding, secret: string | undefined, ctx: CloudContext): Promise<AzureSession> {
  if (secret === undefined || secret === '') throw new ConfigError("cloud.secret: the service principal's client secret is not set");
  if (!CLIENT_SECRET.test(secret))
    throw new ConfigError('cloud.secret: this is not a Microsoft Entra client secret (expected 8-256 printable characters without spaces)');
  resourceIdOf(binding); // a malformed resource name is a configuration error before any request
  const common = {
    // Every request, token and metrics alike, goes through the guarded agent (core-rest-pipeline's agentPolicy).
    agent: ctx.egress.agent,
    retryOptions: RETRY_OPTIONS,
  };
  const credential = new ClientSecretCredential(binding.tenantId, binding.clientId, secret, {
    ...common,
    authorityHost: authorityUrl(binding),
    // Instance discovery asks login.microsoftonline.com about the authority: not for an override authority.
    disableInstanceDiscovery: binding.authorityHost !== undefined,
    additionalPolicies: [{ policy: auditPolicy(ctx.audit, ctx.targetId), position: 'perRetry' }],
  });
  const metrics = new MetricsClient(metricsUrl(binding), credential, {
    ...common,
    additionalPolicies: [
      { policy: auditPolicy(ctx.audit, ctx.targetId), position: 'perRetry' },
      { policy: retryAfterCapPolicy(), position: 'perRetry' },
    ],
  });
  return new AzureSession(binding, credential, metrics, ctx);
}
