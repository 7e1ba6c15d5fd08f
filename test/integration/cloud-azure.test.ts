import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { EgressGuard, type Refusal } from '../../collectors/core/egress-guard.js';
import { ConfigError } from '../../collectors/core/engine.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import type { Unavailable } from '../../collectors/core/signal.js';
import { type AzureBinding, CloudBindingSchema } from '../../collectors/cloud/binding.js';
import { collectCloud, mapCloudError } from '../../collectors/cloud/cycle.js';
import { cloudEgress } from '../../collectors/cloud/egress.js';
import type { MetricRow } from '../../collectors/cloud/metrics.js';
import { azureProvider, METRICS_GRANT } from '../../collectors/cloud/azure/index.js';
import { resourceIdOf } from '../../collectors/cloud/azure/resource.js';
import { AGGREGATION_FACTOR, type AzureResponder, startAzureResponder } from '../helpers/cloud-azure-responder.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const CLIENT = '22222222-2222-4222-8222-222222222222';
const SUB = '33333333-3333-4333-8333-333333333333';
/** Shaped like a generated Entra client secret (40 characters of [A-Za-z0-9~._-]). */
const SECRET = 'Xy8Q~abcDEFghiJKLmnoPQRstu.VWXyz0123456_';
const PG_RESOURCE = `/subscriptions/${SUB}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-prod`;
/** The cycle's clock, on a minute boundary so grains line up with the window end. */
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);

let r: AzureResponder;
let audit: AuditEntry[];
let refusals: Refusal[];

beforeAll(async () => {
  r = await startAzureResponder();
});
afterAll(async () => {
  await r.stop();
});
beforeEach(() => {
  r.requests.length = 0;
  r.metricsMode = 'ok';
  r.tokenMode = 'ok';
  r.permissionsMode = 'monitoring-reader';
  r.retryAfterSeconds = 30;
  r.data = {};
  audit = [];
  refusals = [];
});

function binding(over: Record<string, unknown> = {}): AzureBinding {
  return CloudBindingSchema.parse({
    provider: 'azure',
    region: 'westeurope',
    subscriptionId: SUB,
    resourceGroup: 'rg-db',
    service: 'postgresql-flexible',
    resourceName: 'pg-prod',
    tenantId: TENANT,
    clientId: CLIENT,
    secret: { env: 'LSA_TEST_AZURE_SECRET' },
    endpoint: r.url,
    authorityHost: r.url,
    caFile: r.caFile,
    ...over,
  }) as AzureBinding;
}

const cycle = (b: AzureBinding, secret = SECRET) =>
  collectCloud(b, {
    targetId: 't-azure',
    audit: { record: (e) => audit.push(e) },
    policy: resolvePolicy(),
    secret: async () => secret,
    now: () => NOW,
    onRefuse: (x) => refusals.push(x),
  });

/** The cycle's outcomes by signal id. */
async function outcomes(b: AzureBinding, secret?: string) {
  const res = await cycle(b, secret);
  return new Map(res.outcomes.map((o) => [o.spec.id, o.result]));
}

/** Opens a session outside the cycle, with the egress of `allowedFor` (the guard admits that binding's endpoints only). */
async function openSession(b: AzureBinding, allowedFor: AzureBinding = b) {
  const egress = cloudEgress(allowedFor, azureProvider.endpoints(allowedFor), { onRefuse: (x) => refusals.push(x) });
  const session = await azureProvider.open(b, SECRET, { audit: { record: (e) => audit.push(e) }, targetId: 't-azure', egress });
  return { session, done: () => egress.agent.destroy() };
}

const PG_DATA = {
  cpu_percent: [12.5, 20, 30.25],
  memory_percent: [40, 41.5],
  storage_used: [1_000_000, 2_000_000],
  storage_percent: [10],
  read_iops: [100, 110],
  write_iops: [50],
  active_connections: [7, 9],
  physical_replication_delay_in_seconds: 'empty' as const,
  connections_failed: [0, 3],
  maximum_used_transactionIDs: [1000],
  // deadlocks: not given, so every grain comes back without a value.
};

describe('azure metrics cycle through the real SDK', () => {
  it('reads every cloud.* signal with Azure values, units and times; a metric without data is no_data, not 0', async () => {
    r.data = PG_DATA;
    const b = binding();
    const res = await outcomes(b);

    expect([...res.keys()]).toEqual(['cloud.cpu', 'cloud.memory', 'cloud.storage', 'cloud.iops', 'cloud.connections', 'cloud.replica_lag', 'cloud.service']);
    for (const [id, result] of res) expect(result.status, id).toBe('ok');
    const rows = (id: string) => (res.get(id) as { value: MetricRow[] }).value;

    // Each query's series: the given values × the factor of its aggregation, on the last grains of the window, oldest first.
    for (const q of azureProvider.queries(b)) {
      const row = Object.values(Object.fromEntries([...res].map(([id, v]) => [id, v])))
        .flatMap((v) => (v as { value: MetricRow[] }).value)
        .find((x) => x.metric === q.name)!;
      expect(row, q.name).toBeDefined();
      expect(row.unit).toBe(q.unit);
      expect(row.statistic).toBe(q.statistic);
      const given = (PG_DATA as Record<string, number[] | 'empty'>)[q.name];
      const values = Array.isArray(given) ? given : [];
      const factor = AGGREGATION_FACTOR[q.statistic.toLowerCase() as keyof typeof AGGREGATION_FACTOR];
      expect(row.points, q.name).toEqual(values.map((v, i) => [new Date(NOW.getTime() - (values.length - i) * 60_000).toISOString(), v * factor]));
      expect(row.status).toBe(values.length === 0 ? 'no_data' : 'ok');
    }

    // Spot checks in plain numbers.
    expect(rows('cloud.cpu')).toEqual([
      expect.objectContaining({
        metric: 'cpu_percent',
        unit: 'percent',
        statistic: 'Average',
        status: 'ok',
        latest: 30.25,
        latestAt: new Date(NOW.getTime() - 60_000).toISOString(),
      }),
    ]);
    expect(rows('cloud.storage').find((x) => x.metric === 'storage_used')).toMatchObject({ unit: 'bytes', latest: 2_000_000 });
    expect(rows('cloud.iops').map((x) => [x.metric, x.unit, x.latest])).toEqual([
      ['read_iops', 'count/s', 110],
      ['write_iops', 'count/s', 50],
    ]);
    expect(rows('cloud.replica_lag')).toEqual([
      expect.objectContaining({
        metric: 'physical_replication_delay_in_seconds',
        unit: 'seconds',
        status: 'no_data',
        latest: null,
        latestAt: null,
        points: [],
      }),
    ]);
    const service = rows('cloud.service');
    expect(service.find((x) => x.metric === 'deadlocks')).toMatchObject({ status: 'no_data', latest: null, points: [] });
    expect(service.find((x) => x.metric === 'connections_failed')).toMatchObject({ statistic: 'Total', latest: 3 * 60 });
    expect(service.find((x) => x.metric === 'maximum_used_transactionIDs')).toMatchObject({ statistic: 'Maximum', latest: 2000 });
  });

  it('sends one metrics:getBatch for the resource, window and metrics, with a client-credentials token', async () => {
    r.data = PG_DATA;
    const b = binding();
    await cycle(b);

    expect(r.tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(r.tokenRequests[0]!.body);
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: 'client_credentials',
      client_id: CLIENT,
      client_secret: SECRET,
      scope: 'https://management.azure.com/.default',
    });
    expect(r.tokenRequests[0]!.path).toBe(`/${TENANT}/oauth2/v2.0/token`);

    expect(r.metricsRequests).toHaveLength(1);
    const m = r.metricsRequests[0]!;
    expect(m.path).toBe(`/subscriptions/${SUB}/metrics:getBatch`);
    expect(m.query.get('api-version')).toBe('2024-02-01');
    expect(m.query.get('metricnamespace')).toBe('Microsoft.DBforPostgreSQL/flexibleServers');
    expect(m.query.get('metricnames')!.split(',')).toEqual(azureProvider.queries(b).map((q) => q.name));
    expect(m.query.get('interval')).toBe('PT1M');
    expect(m.query.get('aggregation')!.split(',').sort()).toEqual(['average', 'maximum', 'total']);
    expect(m.query.get('starttime')).toBe(new Date(NOW.getTime() - 60 * 60_000).toISOString());
    expect(m.query.get('endtime')).toBe(NOW.toISOString());
    expect(JSON.parse(m.body)).toEqual({ resourceids: [PG_RESOURCE] });
    expect(m.headers.authorization).toMatch(/^Bearer ey/);

    // Every call on the wire is audited; the secret is in none of them.
    expect(audit.map((e) => [e.statement.split(' ').slice(0, 3).join(' '), e.outcome])).toEqual([
      [`Entra ID authority`, 'ok'],
      [`Entra ID token`, 'ok'],
      [
        `metrics:getBatch Microsoft.DBforPostgreSQL/flexibleServers ${azureProvider
          .queries(b)
          .map((q) => q.name)
          .join(',')}`,
        'ok',
      ],
    ]);
    expect(audit.every((e) => e.targetId === 't-azure' && e.engine === 'azure')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });

  it('maps a per-metric error of a successful batch answer to that metric only', async () => {
    r.data = { ...PG_DATA, write_iops: { errorCode: 'AuthorizationFailed' }, memory_percent: { errorCode: 'InternalServerError' } };
    const res = await outcomes(binding());
    // read_iops still reads; memory's only other query failed too, so cloud.memory is unavailable.
    expect((res.get('cloud.iops') as { value: MetricRow[] }).value.map((x) => x.metric)).toEqual(['read_iops']);
    expect(res.get('cloud.memory')).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: 'Azure Monitor could not read memory_percent (InternalServerError)',
    });
    expect(res.get('cloud.cpu')!.status).toBe('ok');
  });

  it('a permission-denied cycle: every signal unavailable/permission with the role assignment as fix', async () => {
    r.metricsMode = 'forbidden';
    const b = binding();
    const res = await outcomes(b);
    expect(res.size).toBe(7);
    for (const [id, u] of res) {
      expect(u, id).toMatchObject({ status: 'unavailable', reason: 'permission', fix: azureProvider.accessScript(b) });
      expect((u as Unavailable).detail).toContain(
        `the service principal ${CLIENT} may not read Azure Monitor metrics of ${PG_RESOURCE} (HTTP 403 AuthorizationFailed)`,
      );
    }
    expect(audit.at(-1)).toMatchObject({ outcome: 'error', code: 'AuthorizationFailed' });
    // A 403 is not retried.
    expect(r.metricsRequests).toHaveLength(1);
  });

  it("the batch API's 401 for a principal without Monitoring Reader on the subscription is a permission problem too", async () => {
    r.metricsMode = 'unauthorized';
    const res = await outcomes(binding());
    expect(res.get('cloud.cpu')).toMatchObject({ reason: 'permission', detail: expect.stringContaining('HTTP 401 Unauthorized') });
  });

  it('a throttled cycle: unavailable/error "throttled"; a Retry-After beyond the cap is left to the next cycle, not waited', async () => {
    r.metricsMode = 'throttled';
    r.retryAfterSeconds = 30;
    const started = Date.now();
    const res = await outcomes(binding());
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const u of res.values()) {
      expect(u).toMatchObject({
        status: 'unavailable',
        reason: 'error',
        detail: 'throttled by Azure Monitor (HTTP 429 TooManyRequests; Azure asked to wait 30 s); the next cycle retries',
      });
    }
    expect(r.metricsRequests).toHaveLength(1);
    expect(audit.at(-1)).toMatchObject({ outcome: 'error', code: 'TooManyRequests' });
  });

  it('honours a short Retry-After once (maxRetries 1), then reports the throttling', async () => {
    r.metricsMode = 'throttled';
    r.retryAfterSeconds = 1;
    const started = Date.now();
    const res = await outcomes(binding());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(r.metricsRequests).toHaveLength(2);
    expect(res.get('cloud.cpu')).toMatchObject({
      reason: 'error',
      detail: expect.stringMatching(/^throttled by Azure Monitor \(HTTP 429 TooManyRequests; Azure asked to wait 1 s\)/),
    });
  });

  it("the metrics data plane's 529 is throttling too, retried once with back-off", async () => {
    r.metricsMode = 'throttled-529';
    const res = await outcomes(binding());
    expect(r.metricsRequests).toHaveLength(2);
    expect(res.get('cloud.cpu')).toMatchObject({ reason: 'error', detail: 'throttled by Azure Monitor (HTTP 529 Throttled); the next cycle retries' });
  });

  it('a rejected client secret: "authentication failed" in plain words, no metrics call, no secret echoed', async () => {
    r.tokenMode = 'bad-secret';
    const res = await outcomes(binding());
    for (const u of res.values()) {
      expect(u).toMatchObject({ status: 'unavailable', reason: 'error' });
      expect((u as Unavailable).detail).toMatch(
        /^authentication failed: Microsoft Entra ID refused the service principal 22222222-2222-4222-8222-222222222222 \(the client secret is not valid for this application\)/,
      );
      expect((u as Unavailable).detail).toContain('AADSTS7000215');
      expect(JSON.stringify(u)).not.toContain(SECRET);
    }
    expect(r.metricsRequests).toHaveLength(0);
    expect(audit.find((e) => e.statement.startsWith('Entra ID token'))).toMatchObject({ outcome: 'error', code: 'invalid_client AADSTS7000215' });
  });

  it('a malformed secret is a configuration error, never echoed, and nothing is sent', async () => {
    const bad = 'not a secret with spaces';
    const res = await outcomes(binding(), bad);
    for (const u of res.values()) {
      expect(u).toMatchObject({
        reason: 'error',
        detail: 'cloud binding: cloud.secret: this is not a Microsoft Entra client secret (expected 8-256 printable characters without spaces)',
      });
      expect(JSON.stringify(u)).not.toContain(bad);
    }
    expect(r.requests).toHaveLength(0);
  });
});

describe('azure egress', () => {
  it("endpoints() for westeurope admit exactly the token, westeurope metrics and management hosts, never another region's", () => {
    const b = binding({ endpoint: undefined, authorityHost: undefined });
    const eps = azureProvider.endpoints(b);
    expect(eps.map((e) => `${e.host}:${e.port}:${e.allowPrivate}`)).toEqual([
      'login.microsoftonline.com:443:false',
      'westeurope.metrics.monitor.azure.com:443:false',
      'management.azure.com:443:false',
    ]);
    const guard = new EgressGuard(eps);
    expect(guard.allows('westeurope.metrics.monitor.azure.com', 443)).toBe(true);
    expect(guard.allows('northeurope.metrics.monitor.azure.com', 443)).toBe(false);
    const north = new EgressGuard(azureProvider.endpoints(binding({ endpoint: undefined, authorityHost: undefined, region: 'northeurope' })));
    expect(north.allows('westeurope.metrics.monitor.azure.com', 443)).toBe(false);
  });

  it('an override endpoint replaces the public metrics and management hosts', () => {
    const eps = azureProvider.endpoints(binding());
    expect(eps.map((e) => `${e.host}:${e.port}`)).toEqual([`127.0.0.1:${r.port}`]);
  });

  it("the SDK asked for another region's metrics endpoint is refused before a socket opens", async () => {
    // The guard admits westeurope's endpoints; the session is for northeurope (the public regional endpoint).
    const west = binding({ endpoint: undefined });
    const north = binding({ endpoint: undefined, region: 'northeurope' });
    const { session, done } = await openSession(north, west);
    try {
      const err = await session.fetch(azureProvider.queries(north), { start: new Date(NOW.getTime() - 3_600_000), end: NOW }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      const u = mapCloudError(azureProvider as never, north, err);
      expect(u).toMatchObject({
        reason: 'error',
        detail: expect.stringMatching(/^egress guard: refused to contact northeurope\.metrics\.monitor\.azure\.com:443/),
      });
    } finally {
      done();
    }
    // The token came from the admitted authority; no metrics request left the machine.
    expect(r.metricsRequests).toHaveLength(0);
    expect(refusals.map((x) => x.host)).toEqual(['northeurope.metrics.monitor.azure.com:443']);
    expect(audit.at(-1)).toMatchObject({ outcome: 'refused', code: 'egress' });
  });

  it('a token authority outside endpoints() is refused: the responder receives nothing', async () => {
    const allowed = binding();
    const elsewhere = binding({ authorityHost: r.altUrl }); // same server under another name
    const { session, done } = await openSession(elsewhere, allowed);
    try {
      const err = await session.fetch(azureProvider.queries(elsewhere), { start: new Date(NOW.getTime() - 3_600_000), end: NOW }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(mapCloudError(azureProvider as never, elsewhere, err)).toMatchObject({
        detail: expect.stringMatching(/^egress guard: refused to contact localhost:\d+/),
      });
    } finally {
      done();
    }
    expect(r.requests).toHaveLength(0);
  });
});

describe('azure mapError', () => {
  const b = () => binding();
  const rest = (statusCode: number | undefined, code?: string, message = 'x') => Object.assign(new Error(message), { name: 'RestError', statusCode, code });

  it.each([
    [403, 'AuthorizationFailed', 'permission'],
    [401, 'Unauthorized', 'permission'],
    [401, 'InvalidAuthenticationToken', 'error'],
    [401, 'ExpiredAuthenticationToken', 'error'],
    [429, 'TooManyRequests', 'error'],
    [529, undefined, 'error'],
    [404, 'ResourceNotFound', 'error'],
  ] as const)('HTTP %s %s → %s', (status, code, reason) => {
    expect(azureProvider.mapError(rest(status, code), b()).reason).toBe(reason);
  });

  it('says what failed in plain words', () => {
    expect(azureProvider.mapError(rest(401, 'InvalidAuthenticationToken'), b()).detail).toBe(
      'authentication failed: Azure Monitor rejected the access token (HTTP 401 InvalidAuthenticationToken)',
    );
    expect(azureProvider.mapError(rest(429, 'TooManyRequests'), b()).detail).toBe(
      'throttled by Azure Monitor (HTTP 429 TooManyRequests); the next cycle retries',
    );
    expect(azureProvider.mapError(rest(undefined, 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443'), b()).detail).toBe(
      'cannot reach Azure (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:443',
    );
    expect(azureProvider.mapError(rest(409, 'MissingSubscriptionRegistration'), b())).toMatchObject({
      reason: 'not_enabled',
      fix: `az provider register --namespace Microsoft.Insights --subscription ${SUB}`,
    });
  });

  it('an unknown application id (AADSTS700016) is an authentication failure without the Entra description', () => {
    const description = "AADSTS700016: Application with identifier 'x' was not found in the directory 'Contoso'.";
    const err = Object.assign(new Error(description), {
      name: 'AuthenticationError',
      statusCode: 400,
      errorResponse: { error: 'unauthorized_client', errorDescription: description },
    });
    const u = azureProvider.mapError(err, b());
    expect(u.detail).toBe(
      `authentication failed: Microsoft Entra ID refused the service principal ${CLIENT} (the application (client) id is not registered in this tenant) [unauthorized_client AADSTS700016]`,
    );
    expect(u.detail).not.toContain('Contoso');
  });
});

describe('azure checklist, access script, identity', () => {
  it('checklist probes one metric live: granted', async () => {
    const b = binding();
    const { session, done } = await openSession(b);
    try {
      const items = await azureProvider.checklist(session, b);
      expect(items).toEqual([
        {
          grant: METRICS_GRANT,
          status: 'granted',
          signals: ['cloud.cpu', 'cloud.memory', 'cloud.storage', 'cloud.iops', 'cloud.connections', 'cloud.replica_lag', 'cloud.service'],
          detail: expect.stringContaining(PG_RESOURCE),
        },
      ]);
    } finally {
      done();
    }
    expect(r.metricsRequests.map((m) => m.query.get('metricnames'))).toEqual(['cpu_percent']);
  });

  it('checklist: missing with the access script when Azure says 403', async () => {
    r.metricsMode = 'forbidden';
    const b = binding();
    const { session, done } = await openSession(b);
    try {
      expect(await azureProvider.checklist(session, b)).toEqual([
        expect.objectContaining({ grant: METRICS_GRANT, status: 'missing', fix: azureProvider.accessScript(b) }),
      ]);
    } finally {
      done();
    }
  });

  it('access script: a service principal and Monitoring Reader, nothing broader', () => {
    const script = azureProvider.accessScript(binding());
    expect(script).toContain('az ad sp create-for-rbac --name logstag-metrics-reader --skip-assignment');
    expect(script).toContain(`az role assignment create --assignee ${CLIENT} --role "Monitoring Reader" --scope /subscriptions/${SUB}`);
    expect(script.match(/az role assignment create/g)).toHaveLength(1);
    expect(script).not.toMatch(/--role "(Reader|Contributor|Owner)"/);
  });

  it('resource ids: sql-database is server/database; anything else is a configuration error', () => {
    expect(resourceIdOf(binding({ service: 'sql-database', resourceName: 'srv1/appdb' }))).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg-db/providers/Microsoft.Sql/servers/srv1/databases/appdb`,
    );
    expect(resourceIdOf(binding({ service: 'redis-cache', resourceName: 'cache1' }))).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg-db/providers/Microsoft.Cache/redis/cache1`,
    );
    expect(() => resourceIdOf(binding({ service: 'sql-database', resourceName: 'srv1' }))).toThrow(ConfigError);
    expect(() => resourceIdOf(binding({ resourceName: '../other' }))).toThrow(ConfigError);
  });

  it('identity: the principal from the token; Monitoring Reader only → read-only yes', async () => {
    const b = binding();
    const { session, done } = await openSession(b);
    try {
      const id = await azureProvider.identity(session, b);
      expect(id).toMatchObject({ principal: CLIENT, readOnly: 'yes' });
    } finally {
      done();
    }
    const perm = r.requests.find((x) => x.path.endsWith('/providers/Microsoft.Authorization/permissions'))!;
    expect(perm.path).toBe(`${PG_RESOURCE}/providers/Microsoft.Authorization/permissions`);
    expect(perm.query.get('api-version')).toBe('2022-04-01');
    expect(perm.method).toBe('GET');
  });

  it('identity: a Contributor-like grant → read-only no, with the actions as reasons', async () => {
    r.permissionsMode = 'contributor';
    const b = binding();
    const { session, done } = await openSession(b);
    try {
      expect(await azureProvider.identity(session, b)).toEqual({ principal: CLIENT, readOnly: 'no', reasons: ['it is granted * on the resource'] });
    } finally {
      done();
    }
  });

  it('identity: when listing its own permissions is forbidden → unknown, with the reason', async () => {
    r.permissionsMode = 'forbidden';
    const b = binding();
    const { session, done } = await openSession(b);
    try {
      const id = await azureProvider.identity(session, b);
      expect(id).toMatchObject({ principal: CLIENT, readOnly: 'unknown' });
      expect(id.reasons[0]).toContain('HTTP 403 AuthorizationFailed');
    } finally {
      done();
    }
  });
});
