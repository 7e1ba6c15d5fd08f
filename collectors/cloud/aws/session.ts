import { CloudWatchClient, GetMetricDataCommand, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { fromIni } from '@aws-sdk/credential-providers';
import { GetCallerIdentityCommand, getDefaultRoleAssumer, getDefaultRoleAssumerWithWebIdentity, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { keepRefusal } from '../egress.js';
import { ConfigError } from '../../core/engine.js';
import { type Unavailable, unavailable } from '../../core/signal.js';
import type { AwsBinding } from '../binding.js';
import type { MetricQuery, QueryResult, TimeWindow } from '../metrics.js';
import type { CloudContext, CloudSession } from '../provider.js';
import { awsAccessScript, METRICS_ACTION } from './access.js';
import { auditPlugin, type Describe } from './audit.js';
import { awsUrls } from './endpoints.js';
import { awsDimensions, awsNamespace } from './metrics.js';

/**
 * Two attempts: one retry absorbs a dropped connection or a one-off throttle;
 * more would only delay a cycle that runs again in 60 s anyway (the SDK backs
 * off up to ~1 s before the retry of a throttled call).
 */
export const MAX_ATTEMPTS = 2;
/** A GetMetricData answer is paged only when it holds more than 100,800 points; a few pages bound a bad token loop. */
const MAX_PAGES = 5;

/** An AWS secret access key: 40 characters of base64 (letters, digits, / and +). */
const SECRET_KEY = /^[A-Za-z0-9/+]{40}$/;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type CredentialSource = () => Promise<Credentials>;

export interface CallerIdentity {
  arn: string;
  account: string;
}

/** The one session of a cycle: a CloudWatch client and an STS client, both on the guarded agent. */
export class AwsSession implements CloudSession {
  constructor(
    readonly binding: AwsBinding,
    private readonly cloudwatch: CloudWatchClient,
    private readonly sts: STSClient,
  ) {}

  async fetch(queries: readonly MetricQuery[], window: TimeWindow): Promise<Map<string, QueryResult>> {
    const byId = new Map<string, { results: MetricDataResult[] }>(queries.map((q) => [q.id, { results: [] }]));
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await this.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries.map((q) => ({
            Id: q.id,
            MetricStat: {
              Metric: { Namespace: awsNamespace(this.binding), MetricName: q.name, Dimensions: awsDimensions(this.binding) },
              Period: q.periodSeconds,
              Stat: q.statistic,
            },
            ReturnData: true,
          })),
          StartTime: window.start,
          EndTime: window.end,
          ScanBy: 'TimestampAscending',
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      );
      for (const r of out.MetricDataResults ?? []) if (r.Id !== undefined) byId.get(r.Id)?.results.push(r);
      // PartialData: the rest of the points come with NextToken (API_MetricDataResult).
      nextToken = out.NextToken;
      pages++;
    } while (nextToken !== undefined && pages < MAX_PAGES);
    const answer = new Map<string, QueryResult>();
    for (const q of queries) {
      const got = byId.get(q.id)?.results ?? [];
      if (got.length > 0) answer.set(q.id, toResult(q, got, this.binding));
    }
    return answer;
  }

  /** sts:GetCallerIdentity: who the credentials are; needs no permission and changes nothing. */
  async callerIdentity(): Promise<CallerIdentity> {
    const out = await this.sts.send(new GetCallerIdentityCommand({}));
    return { arn: out.Arn ?? 'unknown', account: out.Account ?? 'unknown' };
  }

  async close(): Promise<void> {
    this.cloudwatch.destroy();
    this.sts.destroy();
  }
}

/** One query's pages → its Series (oldest first, scaled) or its own unavailable reason. */
function toResult(q: MetricQuery, pages: readonly MetricDataResult[], binding: AwsBinding): QueryResult | Unavailable {
  const points: Array<[number, number]> = [];
  for (const p of pages) {
    const ts = p.Timestamps ?? [];
    const vs = p.Values ?? [];
    for (let i = 0; i < Math.min(ts.length, vs.length); i++) points.push([ts[i]!.getTime(), vs[i]! * (q.scale ?? 1)]);
  }
  const statuses = new Set(pages.map((p) => p.StatusCode));
  const code = pages.flatMap((p) => p.Messages ?? []).find((m) => m.Code !== undefined)?.Code;
  if (statuses.has('Forbidden')) {
    return unavailable(
      'permission',
      `CloudWatch refused ${q.name} to this identity (Forbidden${code ? `: ${code}` : ''}); it needs ${METRICS_ACTION}`,
      awsAccessScript(binding),
    );
  }
  if (statuses.has('InternalError') && points.length === 0) {
    return unavailable('error', `CloudWatch reported an internal error for ${q.name}${code ? ` (${code})` : ''}; the next cycle retries`);
  }
  points.sort((a, b) => a[0] - b[0]);
  return { points: points.map(([t, v]) => [new Date(t).toISOString(), v]) };
}

const describe =
  (binding: AwsBinding): Describe =>
  (op, input) => {
    if (op === 'GetMetricData') {
      const names = ((input.MetricDataQueries as Array<{ MetricStat?: { Metric?: { MetricName?: string } } }>) ?? []).map(
        (q) => q.MetricStat?.Metric?.MetricName ?? '?',
      );
      return `GetMetricData ${awsNamespace(binding)} ${names.join(',')}${input.NextToken === undefined ? '' : ' (next page)'}`;
    }
    if (op === 'AssumeRole' && typeof input.RoleArn === 'string') return `AssumeRole ${input.RoleArn}`;
    return op;
  };

/** Caches the credentials for the session; refreshes temporary ones five minutes before they expire. */
function memo(source: CredentialSource): CredentialSource {
  let held: Promise<Credentials> | undefined;
  return async () => {
    const current = held && (await held.catch(() => undefined));
    if (current && (current.expiration === undefined || current.expiration.getTime() - Date.now() > 5 * 60_000)) return current;
    held = source();
    return held;
  };
}

function credentialsFor(binding: AwsBinding, secret: string | undefined, handler: NodeHttpHandler, ctx: CloudContext): CredentialSource {
  if (binding.auth === 'access_key') {
    const key = (secret ?? '').trim();
    // One line, and never the value: the secret may be a mistyped neighbour of the real one.
    if (!SECRET_KEY.test(key)) throw new ConfigError('the AWS secret access key is not in AWS format (40 characters: letters, digits, "/" and "+")');
    const creds = { accessKeyId: binding.accessKeyId ?? '', secretAccessKey: key };
    return async () => creds;
  }
  // The profile's own inner clients (STS AssumeRole, SSO, sign-in) get the guarded handler too. The
  // role assumer is pinned to the binding's region and STS endpoint, so a profile that names another
  // region still assumes its role in this one; any other host (an SSO portal) meets the egress guard.
  const stsOptions = {
    region: binding.region,
    requestHandler: handler,
    maxAttempts: MAX_ATTEMPTS,
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    useGlobalEndpoint: false,
    ignoreConfiguredEndpointUrls: true,
    // getDefaultRoleAssumer passes its options on to its STSClient as they are (its type names only a few).
    endpoint: awsUrls(binding).sts,
  };
  const plugins = [auditPlugin(ctx, describe(binding))];
  const provider = fromIni({
    profile: binding.profile ?? 'default',
    clientConfig: { requestHandler: handler, maxAttempts: MAX_ATTEMPTS, ignoreConfiguredEndpointUrls: true },
    roleAssumer: getDefaultRoleAssumer(stsOptions, plugins),
    roleAssumerWithWebIdentity: getDefaultRoleAssumerWithWebIdentity(stsOptions, plugins),
  }) as CredentialSource;
  // The SSO provider re-wraps its client's error and keeps only the text: the guard says whether it refused.
  return () => keepRefusal(ctx.egress.guard, () => provider());
}

/** Builds both clients on the guarded agent; sends nothing. */
export async function openAwsSession(binding: AwsBinding, secret: string | undefined, ctx: CloudContext): Promise<AwsSession> {
  const urls = awsUrls(binding);
  for (const [what, url] of [
    ['endpoint', urls.monitoring],
    ['stsEndpoint', urls.sts],
  ] as const) {
    // The guarded agent is an https.Agent: an http URL would take the SDK's unguarded http agent.
    if (new URL(url).protocol !== 'https:') throw new ConfigError(`cloud.${what} must be an https URL: the AWS clients only use the guarded TLS transport`);
  }
  const handler = new NodeHttpHandler({ httpsAgent: ctx.egress.agent, connectionTimeout: 5_000, requestTimeout: 20_000 });
  const credentials = memo(credentialsFor(binding, secret, handler, ctx));
  const common = {
    region: binding.region,
    requestHandler: handler,
    credentials,
    maxAttempts: MAX_ATTEMPTS,
    // Pin every endpoint decision to the binding: no FIPS/dual-stack hosts or AWS_ENDPOINT_URL_* from the environment.
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    ignoreConfiguredEndpointUrls: true,
  };
  const cloudwatch = new CloudWatchClient({ ...common, ...(binding.endpoint === undefined ? {} : { endpoint: binding.endpoint }) });
  // Regional STS only: useGlobalEndpoint false keeps it off sts.amazonaws.com.
  const sts = new STSClient({ ...common, useGlobalEndpoint: false, ...(binding.stsEndpoint === undefined ? {} : { endpoint: binding.stsEndpoint }) });
  const plugin = auditPlugin(ctx, describe(binding));
  cloudwatch.middlewareStack.use(plugin);
  sts.middlewareStack.use(plugin);
  return new AwsSession(binding, cloudwatch, sts);
}
