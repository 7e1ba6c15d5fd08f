import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { testPki } from './ingest-server.js';

/**
 * A local stand-in for Microsoft Entra ID, the Azure Monitor metrics data plane
 * and the ARM permissions read, answering the real SDK requests with documents
 * shaped as Microsoft documents them. HTTPS only (Azure core refuses bearer
 * tokens over http), with the throwaway CA of testPki().
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the metrics endpoint answers. */
export type MetricsMode = 'ok' | 'forbidden' | 'unauthorized' | 'throttled' | 'throttled-529';
/** How the token endpoint answers. */
export type TokenMode = 'ok' | 'bad-secret';
/** How the permissions read answers. */
export type PermissionsMode = 'monitoring-reader' | 'contributor' | 'forbidden';

/**
 * One value per time grain of a metric (oldest first), `null` for a grain
 * without a value; 'empty' for an empty timeseries list; { errorCode } for a
 * per-metric failure.
 */
export type MetricData = Array<number | null> | 'empty' | { errorCode: string };

/**
 * Each aggregation a grain carries is derived from its value with a different
 * factor, so a client that reads the wrong aggregation gets a wrong number.
 */
export const AGGREGATION_FACTOR = { average: 1, maximum: 2, total: 60, minimum: 0.5, count: 1 } as const;

export interface AzureResponder {
  url: string;
  /** https://localhost:<port>: the same server under a second name (a host the guard has not admitted). */
  altUrl: string;
  port: number;
  caFile: string;
  requests: RecordedRequest[];
  metricsMode: MetricsMode;
  tokenMode: TokenMode;
  permissionsMode: PermissionsMode;
  /** Metric name → values; a requested metric not listed here is answered with a value-less grain everywhere. */
  data: Record<string, MetricData>;
  /** The Retry-After the throttled answer carries (seconds). */
  retryAfterSeconds: number;
  readonly metricsRequests: RecordedRequest[];
  readonly tokenRequests: RecordedRequest[];
  stop(): Promise<void>;
}

const json = (body: unknown): string => JSON.stringify(body);
const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

/** An unsigned JWT-shaped access token with the claims an Entra app-only token carries (appid, tid, oid). */
export function fakeAccessToken(tenantId: string, clientId: string): string {
  const now = Math.floor(Date.now() / 1000);
  return [
    b64url({ typ: 'JWT', alg: 'RS256', kid: 'test' }),
    b64url({
      aud: 'https://management.azure.com',
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      appid: clientId,
      appidacr: '1',
      idtyp: 'app',
      oid: '00000000-0000-4000-8000-0000000000aa',
      tid: tenantId,
      sub: '00000000-0000-4000-8000-0000000000aa',
    }),
    'c2lnbmF0dXJl',
  ].join('.');
}

/** ISO 8601 PT<n>M / PT<n>H → ms (the intervals the client sends). */
function intervalMs(iso: string): number {
  const m = /^PT(\d+)([MHS])$/.exec(iso);
  if (!m) throw new Error(`unsupported interval ${iso}`);
  return Number(m[1]) * { S: 1_000, M: 60_000, H: 3_600_000 }[m[2] as 'S' | 'M' | 'H'];
}

/** "cpu_percent" → "Cpu percent": a display name unlike the REST name, as Azure's localizedValue is. */
const displayName = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ') + ' (display)';

export async function startAzureResponder(): Promise<AzureResponder> {
  const pki = testPki();
  const sockets = new Set<Socket>();
  let origin = '';
  const state: AzureResponder = {
    url: '',
    altUrl: '',
    port: 0,
    caFile: pki.caFile,
    requests: [],
    metricsMode: 'ok',
    tokenMode: 'ok',
    permissionsMode: 'monitoring-reader',
    data: {},
    retryAfterSeconds: 30,
    get metricsRequests() {
      return this.requests.filter((r) => r.path.endsWith('/metrics:getBatch'));
    },
    get tokenRequests() {
      return this.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handle = (req: RecordedRequest): { status: number; headers?: Record<string, string>; body: string } => {
    const p = req.path;
    // OpenID Connect discovery document, the authority metadata MSAL reads first when instance discovery is off:
    // https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(p);
    if (oidc && req.method === 'GET') {
      const tenant = oidc[1]!;
      return {
        status: 200,
        body: json({
          token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          issuer: `${origin}/${tenant}/v2.0`,
          request_uri_parameter_supported: false,
          userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
          authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
          http_logout_supported: true,
          frontchannel_logout_supported: true,
          end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid'],
          tenant_region_scope: 'EU',
          cloud_instance_name: 'microsoftonline.com',
          cloud_graph_host_name: 'graph.windows.net',
          msgraph_host: 'graph.microsoft.com',
        }),
      };
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(p);
    if (token && req.method === 'POST') {
      const tenant = token[1]!;
      const form = new URLSearchParams(req.body);
      if (state.tokenMode === 'bad-secret') {
        // Error response of the client credentials flow:
        // https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response-1
        return {
          status: 401,
          body: json({
            error: 'invalid_client',
            error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${form.get('client_id')}'. Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333 Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2026-11-26 14:00:00Z`,
            error_codes: [7000215],
            timestamp: '2026-11-26 14:00:00Z',
            trace_id: '0000aaaa-11bb-cccc-dd22-eeeeee333333',
            correlation_id: 'aaaa0000-bb11-2222-33cc-444444dddddd',
            error_uri: `${origin}/error?code=7000215`,
          }),
        };
      }
      // Successful response of the client credentials flow (same page, "Successful response").
      return {
        status: 200,
        body: json({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: fakeAccessToken(tenant, form.get('client_id') ?? '') }),
      };
    }
    const batch = /^\/subscriptions\/([^/]+)\/metrics:getBatch$/.exec(p);
    if (batch && req.method === 'POST') return metricsAnswer(req);
    if (p.endsWith('/providers/Microsoft.Authorization/permissions') && req.method === 'GET') return permissionsAnswer(req);
    return { status: 404, body: json({ error: { code: 'NotFound', message: 'The requested resource was not found.' } }) };
  };

  const armError = (code: string, message: string) => json({ error: { code, message } });

  // metrics:getBatch, API version 2024-02-01, from the REST specification and its examples:
  // https://github.com/Azure/azure-rest-api-specs/blob/main/specification/monitor/data-plane/Microsoft.Insights/stable/2024-02-01/metricBatch.json
  // https://learn.microsoft.com/rest/api/monitor/metrics-batch/batch
  const metricsAnswer = (req: RecordedRequest): { status: number; headers?: Record<string, string>; body: string } => {
    const q = req.query;
    const resourceIds = (JSON.parse(req.body) as { resourceids: string[] }).resourceids;
    switch (state.metricsMode) {
      case 'forbidden':
        // ARM's authorization failure in the error envelope (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
        return {
          status: 403,
          headers: { 'x-ms-failure-cause': 'gateway' },
          body: armError(
            'AuthorizationFailed',
            `The client '${'00000000-0000-4000-8000-0000000000aa'}' with object id '00000000-0000-4000-8000-0000000000aa' does not have authorization to perform action 'Microsoft.Insights/metrics/read' over scope '${resourceIds[0]}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
          ),
        };
      case 'unauthorized':
        // The batch API's answer to a principal without Monitoring Reader on the subscription
        // (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api#401-authorization-errors).
        return { status: 401, body: armError('Unauthorized', 'The principal does not have the required permission on the subscription.') };
      case 'throttled':
        // ARM throttling: 429 with Retry-After (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#error-code).
        return {
          status: 429,
          headers: { 'retry-after': String(state.retryAfterSeconds), 'x-ms-error-code': 'TooManyRequests' },
          body: armError(
            'TooManyRequests',
            `Number of read requests for subscription exceeded the limit. Please try again after '${state.retryAfterSeconds}' seconds.`,
          ),
        };
      case 'throttled-529':
        // The metrics data plane's own throttling status (migrate-to-batch-api#529-throttling-errors).
        return { status: 529, body: armError('Throttled', 'The metrics backend is throttling requests. Please retry with exponential backoff.') };
      case 'ok':
        break;
    }
    const start = Date.parse(q.get('starttime') ?? '');
    const end = Date.parse(q.get('endtime') ?? '');
    const interval = q.get('interval') ?? 'PT1M';
    const step = intervalMs(interval);
    const aggregations = (q.get('aggregation') ?? 'average').split(',') as Array<keyof typeof AGGREGATION_FACTOR>;
    const names = (q.get('metricnames') ?? '').split(',');
    const grains: number[] = [];
    for (let t = Math.ceil(start / step) * step; t < end; t += step) grains.push(t);
    const values = resourceIds.map((resourceId) => ({
      starttime: new Date(start).toISOString().replace('.000Z', 'Z'),
      endtime: new Date(end).toISOString().replace('.000Z', 'Z'),
      interval,
      value: names.map((name) => {
        const d = state.data[name];
        const base = {
          id: `${resourceId}/providers/Microsoft.Insights/metrics/${name}`,
          type: 'Microsoft.Insights/metrics',
          name: { value: name, localizedValue: displayName(name) },
          displayDescription: `${displayName(name)}.`,
          unit: 'Count',
        };
        if (d !== undefined && !Array.isArray(d) && d !== 'empty')
          return { ...base, timeseries: [], errorCode: d.errorCode, errorMessage: `Failed to read ${name}.` };
        if (d === 'empty') return { ...base, timeseries: [], errorCode: 'Success' };
        // The last grains of the window carry the given values; earlier ones, and all of a metric without data, only a timeStamp.
        const given = d ?? [];
        const offset = grains.length - given.length;
        const data = grains.map((t, i) => {
          const v = i >= offset ? given[i - offset] : null;
          const point: Record<string, string | number> = { timeStamp: new Date(t).toISOString().replace('.000Z', 'Z') };
          if (v !== null && v !== undefined) for (const a of aggregations) point[a] = v * AGGREGATION_FACTOR[a];
          return point;
        });
        return { ...base, timeseries: [{ metadatavalues: [], data }], errorCode: 'Success' };
      }),
      namespace: (q.get('metricnamespace') ?? '').toLowerCase(),
      resourceregion: 'westeurope',
      resourceid: resourceId,
    }));
    return { status: 200, body: json({ values }) };
  };

  // Permissions - List For Resource, api-version 2022-04-01:
  // https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource
  const permissionsAnswer = (req: RecordedRequest): { status: number; body: string } => {
    if (state.permissionsMode === 'forbidden') {
      return {
        status: 403,
        body: armError(
          'AuthorizationFailed',
          `The client does not have authorization to perform action 'Microsoft.Authorization/permissions/read' over scope '${req.path}' or the scope is invalid.`,
        ),
      };
    }
    const value =
      state.permissionsMode === 'contributor'
        ? // The Contributor role's permission set (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#contributor).
          [
            {
              actions: ['*'],
              notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write', 'Microsoft.Authorization/elevateAccess/Action'],
              dataActions: [],
              notDataActions: [],
            },
          ]
        : // The Monitoring Reader role's permission set (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-reader).
          [
            {
              actions: ['*/read', 'Microsoft.OperationalInsights/workspaces/search/action', 'Microsoft.Support/*'],
              notActions: [],
              dataActions: [],
              notDataActions: [],
            },
          ];
    return { status: 200, body: json({ value }) };
  };

  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://responder');
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      state.requests.push(rec);
      const a = handle(rec);
      res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': '11111111-2222-4333-8444-555555555555', ...a.headers });
      res.end(a.body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  origin = `https://127.0.0.1:${port}`;

  state.port = port;
  state.url = origin;
  state.altUrl = `https://localhost:${port}`;
  return state;
}
