import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { protos } from '@google-cloud/monitoring';
import { testPki, type TestPki } from './ingest-server.js';

/**
 * A local stand-in for the Google endpoints the gcp provider calls, answering
 * the requests the real SDKs send (google-auth-library's JWT bearer exchange,
 * google-gax's REST transport for Cloud Monitoring v3, and Resource Manager v1)
 * with documents shaped as Google documents them. Each shape cites its page.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string; enum parameters sent as numbers (`$alt=json;enum-encoding=int`) are given back as their names. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One series the responder holds for a metric type, as the API returns it after
 * alignment and reduction (for a DELTA metric: the per-second rate ALIGN_RATE
 * yields). Points oldest first, [ISO end time, value].
 */
export interface FakeSeries {
  region: string;
  valueType: 'DOUBLE' | 'INT64';
  metricKind: 'GAUGE' | 'DELTA';
  points: Array<[string, number]>;
}

export type MetricsMode = 'ok' | 'permission' | 'throttle' | 'unauthenticated' | 'redirect';
export type TokenMode = 'ok' | 'invalid_grant';
export type IamMode = 'ok' | 'service_disabled';

export interface GcpResponder {
  host: string;
  port: number;
  /** https://host:port */
  url: string;
  pki: TestPki;
  readonly requests: RecordedRequest[];
  /** Series by metric type; a type with none answers as Google does for no data (no timeSeries field). */
  series: Map<string, FakeSeries>;
  /** What testIamPermissions says the account holds. */
  heldPermissions: string[];
  metrics: MetricsMode;
  token: TokenMode;
  iam: IamMode;
  /** Where metrics requests are redirected in mode 'redirect'. */
  redirectTo?: string;
  /** Bearer tokens handed out. */
  readonly issuedTokens: string[];
  /** The claims of each JWT assertion whose signature verified. */
  readonly assertions: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
  body: JSON.stringify(body),
});

/**
 * The error model of Google APIs over HTTP (https://cloud.google.com/apis/design/errors#http_mapping):
 * {"error": {"code": <http>, "message", "status": <canonical code name>, "details": [ErrorInfo, …]}}.
 */
const googleError = (code: number, status: string, message: string, details: unknown[]) => json(code, { error: { code, message, status, details } });

/** PERMISSION_DENIED as Monitoring answers it when the caller lacks monitoring.timeSeries.list (IAM_PERMISSION_DENIED ErrorInfo). */
const permissionDenied = (project: string) =>
  googleError(403, 'PERMISSION_DENIED', `Permission monitoring.timeSeries.list denied (or the resource may not exist).`, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'IAM_PERMISSION_DENIED',
      domain: 'monitoring.googleapis.com',
      metadata: { permission: 'monitoring.timeSeries.list', resource: `projects/${project}` },
    },
  ]);

/**
 * RESOURCE_EXHAUSTED for a per-minute read quota, as quota errors are documented
 * (https://cloud.google.com/docs/quotas/troubleshoot#exceeding_rate_quotas: HTTP 429, ErrorInfo RATE_LIMIT_EXCEEDED).
 */
const throttled = () =>
  googleError(
    429,
    'RESOURCE_EXHAUSTED',
    "Quota exceeded for quota metric 'Time series queries' and limit 'Time series queries per minute' of service 'monitoring.googleapis.com' for consumer 'project_number:123456789012'.",
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'RATE_LIMIT_EXCEEDED',
        domain: 'googleapis.com',
        metadata: {
          service: 'monitoring.googleapis.com',
          quota_metric: 'monitoring.googleapis.com/read_requests',
          quota_limit: 'ReadRequestsPerMinutePerProject',
          consumer: 'projects/123456789012',
        },
      },
    ],
  );

/** UNAUTHENTICATED for a token Google does not accept (https://cloud.google.com/apis/design/errors#handling_errors). */
const unauthenticated = () =>
  googleError(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
        domain: 'googleapis.com',
        metadata: { service: 'monitoring.googleapis.com' },
      },
    ],
  );

/** An RS256 JWT's claims when its signature verifies with `key`. */
function verifiedClaims(assertion: string, key: KeyObject): Record<string, unknown> | undefined {
  const [h, p, s] = assertion.split('.');
  if (h === undefined || p === undefined || s === undefined) return undefined;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'RS256') return undefined;
  const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(key, Buffer.from(s, 'base64url'));
  return ok ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>) : undefined;
}

/**
 * google-gax's REST transport asks for `$alt=json;enum-encoding=int`
 * (https://cloud.google.com/apis/docs/system-parameters) and sends enums as their
 * numbers; the API reads them as the Aligner / Reducer / TimeSeriesView values
 * (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#Aligner).
 */
const ENUMS: Record<string, Record<number, string>> = {
  'aggregation.perSeriesAligner': protos.google.monitoring.v3.Aggregation.Aligner,
  'aggregation.crossSeriesReducer': protos.google.monitoring.v3.Aggregation.Reducer,
  view: protos.google.monitoring.v3.ListTimeSeriesRequest.TimeSeriesView,
} as unknown as Record<string, Record<number, string>>;
function decodeEnums(q: URLSearchParams): void {
  for (const [name, values] of Object.entries(ENUMS)) {
    const v = q.get(name);
    if (v !== null && /^\d+$/.test(v) && values[Number(v)] !== undefined) q.set(name, values[Number(v)]!);
  }
}

/** Nanosecond-free RFC 3339 time, as the Monitoring JSON mapping writes Timestamps. */
const rfc3339 = (iso: string): string => iso.replace(/\.000Z$/, 'Z');

export async function startGcpResponder(opts: { publicKeyPem: string; project: string; host?: string }): Promise<GcpResponder> {
  const pki = testPki();
  const host = opts.host ?? '127.0.0.1';
  const publicKey = createPublicKey(opts.publicKeyPem);
  let tokenCounter = 0;
  const state = {
    requests: [] as RecordedRequest[],
    issuedTokens: [] as string[],
    assertions: [] as Array<Record<string, unknown>>,
  };

  const tokenAnswer = (body: string) => {
    const form = new URLSearchParams(body);
    const claims =
      form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' ? verifiedClaims(form.get('assertion') ?? '', publicKey) : undefined;
    if (claims === undefined || responder.token === 'invalid_grant') {
      // The token endpoint's error response (RFC 6749 §5.2; Google: https://developers.google.com/identity/protocols/oauth2/service-account#error-codes).
      return json(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    }
    state.assertions.push(claims);
    const token = `ya29.test-token-${++tokenCounter}`;
    state.issuedTokens.push(token);
    // https://developers.google.com/identity/protocols/oauth2/service-account#httprest: access_token, expires_in, token_type.
    return json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  };

  const authorized = (headers: IncomingHttpHeaders): boolean => {
    const m = /^Bearer (.+)$/.exec(headers.authorization ?? '');
    return m !== null && state.issuedTokens.includes(m[1]!);
  };

  /**
   * projects.timeSeries.list (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list):
   * {"timeSeries": [TimeSeries], "nextPageToken", "unit"}. A TimeSeries
   * (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/TimeSeries) carries metric, resource,
   * metricKind, valueType and points newest first; int64Value is a JSON string. No match: an
   * empty object.
   */
  const timeSeriesAnswer = (query: URLSearchParams) => {
    const type = /metric\.type = "([^"]+)"/.exec(query.get('filter') ?? '')?.[1];
    const s = type === undefined ? undefined : responder.series.get(type);
    if (type === undefined || s === undefined || s.points.length === 0) return json(200, {});
    const period = Number(/^(\d+)s$/.exec(query.get('aggregation.alignmentPeriod') ?? '60s')?.[1] ?? 60);
    const start = Date.parse(query.get('interval.startTime') ?? '');
    const end = Date.parse(query.get('interval.endTime') ?? '');
    const inWindow = s.points.filter(([t]) => Date.parse(t) > start && Date.parse(t) <= end);
    if (inWindow.length === 0) return json(200, {});
    // ALIGN_RATE output is a GAUGE of DOUBLE (Aggregation.Aligner); ALIGN_MEAN keeps the GAUGE's own type.
    const valueType = s.metricKind === 'DELTA' ? 'DOUBLE' : s.valueType;
    const points = [...inWindow].reverse().map(([t, v]) => ({
      // A DELTA aligned with ALIGN_RATE keeps an interval of one period; a GAUGE point has startTime = endTime.
      interval: { startTime: rfc3339(new Date(Date.parse(t) - (s.metricKind === 'DELTA' ? period * 1000 : 0)).toISOString()), endTime: rfc3339(t) },
      value: valueType === 'DOUBLE' ? { doubleValue: v } : { int64Value: String(v) },
    }));
    return json(200, {
      timeSeries: [
        {
          metric: { type },
          // Reduced across labels, the series keeps only the groupByFields: resource.labels.region.
          resource: { type: type.startsWith('cloudsql.') ? 'cloudsql_database' : 'redis_instance', labels: { project_id: opts.project, region: s.region } },
          metricKind: 'GAUGE',
          valueType,
          points,
        },
      ],
    });
  };

  /** projects.testIamPermissions v1 (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions): {"permissions": [the subset held]}. */
  const iamAnswer = (body: string) => {
    if (responder.iam === 'service_disabled') {
      return googleError(403, 'PERMISSION_DENIED', 'Cloud Resource Manager API has not been used in project 123456789012 before or it is disabled.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'SERVICE_DISABLED',
          domain: 'googleapis.com',
          metadata: { service: 'cloudresourcemanager.googleapis.com', consumer: 'projects/123456789012' },
        },
      ]);
    }
    const asked = (JSON.parse(body) as { permissions?: string[] }).permissions ?? [];
    const held = asked.filter((p) => responder.heldPermissions.includes(p));
    return json(200, held.length === 0 ? {} : { permissions: held });
  };

  const route = (req: RecordedRequest): { status: number; headers: Record<string, string>; body: string } => {
    if (req.method === 'POST' && req.path === '/token') return tokenAnswer(req.body);
    if (!authorized(req.headers)) return unauthenticated();
    const ts = /^\/v3\/projects\/([^/]+)\/timeSeries$/.exec(req.path);
    if (req.method === 'GET' && ts !== null) {
      switch (responder.metrics) {
        case 'permission':
          return permissionDenied(decodeURIComponent(ts[1]!));
        case 'throttle':
          return throttled();
        case 'unauthenticated':
          return unauthenticated();
        case 'redirect':
          return { status: 307, headers: { location: `${responder.redirectTo}${req.path}?${req.query.toString()}` }, body: '' };
        default:
          return timeSeriesAnswer(req.query);
      }
    }
    if (req.method === 'POST' && /^\/v1\/projects\/[^/]+:testIamPermissions$/.test(req.path)) return iamAnswer(req.body);
    return googleError(404, 'NOT_FOUND', 'The requested URL was not found on this server.', []);
  };

  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://responder');
      decodeEnums(url.searchParams);
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      state.requests.push(record);
      const a = route(record);
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;

  const responder: GcpResponder = {
    host,
    port,
    url: `https://${host}:${port}`,
    pki,
    requests: state.requests,
    issuedTokens: state.issuedTokens,
    assertions: state.assertions,
    series: new Map(),
    heldPermissions: [],
    metrics: 'ok',
    token: 'ok',
    iam: 'ok',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return responder;
}
