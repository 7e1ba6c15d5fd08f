import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { ConfigError } from '../../collectors/core/engine.js';
import { EgressGuard } from '../../collectors/core/egress-guard.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import type { Unavailable } from '../../collectors/core/signal.js';
import { CloudBindingSchema, type GcpBinding } from '../../collectors/cloud/binding.js';
import { collectCloud } from '../../collectors/cloud/cycle.js';
import { cloudEgress } from '../../collectors/cloud/egress.js';
import type { MetricRow } from '../../collectors/cloud/metrics.js';
import { gcpProvider } from '../../collectors/cloud/gcp/index.js';
import { WRITE_PERMISSIONS } from '../../collectors/cloud/gcp/identity.js';
import type { CloudSession } from '../../collectors/cloud/provider.js';
import { startGcpResponder, type GcpResponder } from '../helpers/cloud-gcp-responder.js';

const PROJECT = 'logstag-test-1';
const REGION = 'europe-west1';
const NOW = new Date('2026-10-01T12:00:00.000Z');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const CLIENT_EMAIL = `logstag-metrics@${PROJECT}.iam.gserviceaccount.com`;

/** A service-account key file as IAM hands it out (https://cloud.google.com/iam/docs/keys-create-delete). */
const keyFile = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'a1b2c3d4e5f6',
    private_key: PRIVATE_PEM,
    client_email: CLIENT_EMAIL,
    client_id: '108742115312456789012',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    universe_domain: 'googleapis.com',
    ...over,
  });

const minutesBefore = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();

let responder: GcpResponder;
/** A second listener on another loopback address: where a redirect tries to send the SDK. */
let elsewhere: GcpResponder;

const bindingFor = (over: Partial<GcpBinding> = {}): GcpBinding =>
  CloudBindingSchema.parse({
    provider: 'gcp',
    region: REGION,
    projectId: PROJECT,
    service: 'cloudsql',
    instanceId: 'orders-db',
    secret: { env: 'LOGSTAG_GCP_KEY' },
    endpoint: responder.url,
    tokenEndpoint: `${responder.url}/token`,
    caFile: responder.pki.caFile,
    ...over,
  }) as GcpBinding;

async function cycle(binding: GcpBinding, secret = keyFile()) {
  const audit: AuditEntry[] = [];
  const refusals: string[] = [];
  const result = await collectCloud(binding, {
    targetId: 'orders',
    audit: { record: (e) => audit.push(e) },
    policy: resolvePolicy(),
    secret: async () => secret,
    now: () => NOW,
    onRefuse: (r) => refusals.push(r.host),
  });
  const byId = new Map(result.outcomes.map((o) => [o.spec.id, o.result]));
  return { audit, refusals, byId };
}

const rows = (r: unknown): MetricRow[] => {
  expect(r).toMatchObject({ status: 'ok' });
  return (r as { value: MetricRow[] }).value;
};
const row = (r: unknown, metric: string): MetricRow => {
  const found = rows(r).find((x) => x.metric === metric);
  expect(found, metric).toBeDefined();
  return found!;
};
const metricRequests = () => responder.requests.filter((r) => r.path.endsWith('/timeSeries'));

async function openSession(binding: GcpBinding, audit: AuditEntry[] = []): Promise<CloudSession> {
  const egress = cloudEgress(binding, gcpProvider.endpoints(binding));
  return gcpProvider.open(binding, keyFile(), { audit: { record: (e) => audit.push(e) }, targetId: 'orders', egress });
}

beforeAll(async () => {
  responder = await startGcpResponder({ publicKeyPem: PUBLIC_PEM, project: PROJECT });
  elsewhere = await startGcpResponder({ publicKeyPem: PUBLIC_PEM, project: PROJECT, host: '127.0.0.2' });
});
afterAll(async () => {
  await responder?.close();
  await elsewhere?.close();
});
beforeEach(() => {
  responder.requests.length = 0;
  elsewhere.requests.length = 0;
  responder.metrics = 'ok';
  responder.token = 'ok';
  responder.iam = 'ok';
  responder.heldPermissions = [];
  responder.series = new Map([
    [
      'cloudsql.googleapis.com/database/cpu/utilization',
      {
        region: REGION,
        valueType: 'DOUBLE',
        metricKind: 'GAUGE',
        points: [
          [minutesBefore(3), 0.25],
          [minutesBefore(2), 0.375],
          [minutesBefore(1), 0.5],
        ],
      },
    ],
    ['cloudsql.googleapis.com/database/memory/utilization', { region: REGION, valueType: 'DOUBLE', metricKind: 'GAUGE', points: [[minutesBefore(1), 0.625]] }],
    ['cloudsql.googleapis.com/database/memory/usage', { region: REGION, valueType: 'INT64', metricKind: 'GAUGE', points: [[minutesBefore(1), 2147483648]] }],
    [
      'cloudsql.googleapis.com/database/disk/bytes_used',
      {
        region: REGION,
        valueType: 'INT64',
        metricKind: 'GAUGE',
        points: [
          [minutesBefore(2), 10737418240],
          [minutesBefore(1), 10737420000],
        ],
      },
    ],
    ['cloudsql.googleapis.com/database/disk/read_ops_count', { region: REGION, valueType: 'INT64', metricKind: 'DELTA', points: [[minutesBefore(1), 12.5]] }],
    ['cloudsql.googleapis.com/database/disk/write_ops_count', { region: REGION, valueType: 'INT64', metricKind: 'DELTA', points: [[minutesBefore(1), 40.25]] }],
    ['cloudsql.googleapis.com/database/postgresql/num_backends', { region: REGION, valueType: 'INT64', metricKind: 'GAUGE', points: [[minutesBefore(1), 17]] }],
    // sqlserver/connections/user_connections, replication/replica_lag, postgresql/deadlock_count: no data (a PostgreSQL primary).
    [
      'cloudsql.googleapis.com/database/postgresql/transaction_count',
      { region: REGION, valueType: 'INT64', metricKind: 'DELTA', points: [[minutesBefore(1), 95.5]] },
    ],
  ]);
});

describe('gcp: metrics cycle through @google-cloud/monitoring (REST) against the local responder', () => {
  it('reports each cloud.* signal with Google values in the normalised units, no data as no_data, and audits every call', async () => {
    const { byId, audit, refusals } = await cycle(bindingFor());
    expect(refusals).toEqual([]);

    const cpu = row(byId.get('cloud.cpu'), 'cloudsql.googleapis.com/database/cpu/utilization');
    // Fractions ×100 → percent; points oldest first at the series' end times.
    expect(cpu).toMatchObject({ unit: 'percent', statistic: 'ALIGN_MEAN', periodSeconds: 60, status: 'ok', latest: 50, latestAt: minutesBefore(1) });
    expect(cpu.points).toEqual([
      [minutesBefore(3), 25],
      [minutesBefore(2), 37.5],
      [minutesBefore(1), 50],
    ]);
    expect(row(byId.get('cloud.memory'), 'cloudsql.googleapis.com/database/memory/utilization')).toMatchObject({ unit: 'percent', latest: 62.5 });
    // INT64 arrives as a JSON string and is read as a number.
    expect(row(byId.get('cloud.memory'), 'cloudsql.googleapis.com/database/memory/usage')).toMatchObject({ unit: 'bytes', latest: 2147483648 });
    expect(row(byId.get('cloud.storage'), 'cloudsql.googleapis.com/database/disk/bytes_used')).toMatchObject({
      unit: 'bytes',
      latest: 10737420000,
      points: [
        [minutesBefore(2), 10737418240],
        [minutesBefore(1), 10737420000],
      ],
    });
    expect(row(byId.get('cloud.iops'), 'cloudsql.googleapis.com/database/disk/read_ops_count')).toMatchObject({
      unit: 'count/s',
      statistic: 'ALIGN_RATE',
      latest: 12.5,
    });
    expect(row(byId.get('cloud.iops'), 'cloudsql.googleapis.com/database/disk/write_ops_count')).toMatchObject({ unit: 'count/s', latest: 40.25 });
    expect(row(byId.get('cloud.connections'), 'cloudsql.googleapis.com/database/postgresql/num_backends')).toMatchObject({ unit: 'count', latest: 17 });
    // Google published nothing: no_data with latest null, never 0.
    expect(row(byId.get('cloud.connections'), 'cloudsql.googleapis.com/database/sqlserver/connections/user_connections')).toMatchObject({
      status: 'no_data',
      latest: null,
      latestAt: null,
      points: [],
    });
    expect(row(byId.get('cloud.replica_lag'), 'cloudsql.googleapis.com/database/replication/replica_lag')).toMatchObject({
      status: 'no_data',
      latest: null,
      unit: 'seconds',
    });
    expect(row(byId.get('cloud.service'), 'cloudsql.googleapis.com/database/postgresql/transaction_count')).toMatchObject({ unit: 'count/s', latest: 95.5 });

    // What the SDK actually sent: one listTimeSeries per metric type, for this instance, window and period.
    const sent = metricRequests();
    expect(sent.map((r) => /metric\.type = "([^"]+)"/.exec(r.query.get('filter') ?? '')?.[1]).sort()).toEqual(
      gcpProvider
        .queries(bindingFor())
        .map((q) => q.name)
        .sort(),
    );
    for (const r of sent) {
      expect(r.path).toBe(`/v3/projects/${PROJECT}/timeSeries`);
      expect(r.query.get('filter')).toContain(`resource.type = "cloudsql_database" AND resource.labels.database_id = "${PROJECT}:orders-db"`);
      expect(Date.parse(r.query.get('interval.startTime')!)).toBe(NOW.getTime() - 60 * 60_000);
      expect(Date.parse(r.query.get('interval.endTime')!)).toBe(NOW.getTime());
      expect(r.query.get('aggregation.alignmentPeriod')).toBe('60s');
      expect(r.query.getAll('aggregation.groupByFields')).toEqual(['resource.labels.region']);
      expect(r.headers.authorization).toBe(`Bearer ${responder.issuedTokens.at(-1)}`);
    }
    const cpuReq = sent.find((r) => r.query.get('filter')!.includes('cpu/utilization'))!;
    expect(cpuReq.query.get('aggregation.perSeriesAligner')).toBe('ALIGN_MEAN');
    const readOps = sent.find((r) => r.query.get('filter')!.includes('read_ops_count'))!;
    expect(readOps.query.get('aggregation.perSeriesAligner')).toBe('ALIGN_RATE');
    expect(readOps.query.get('aggregation.crossSeriesReducer')).toBe('REDUCE_SUM');

    // One token exchange: a JWT signed with the key, for the key's account, with read-only scopes.
    expect(responder.assertions).toHaveLength(1);
    expect(responder.assertions[0]).toMatchObject({
      iss: CLIENT_EMAIL,
      aud: 'https://oauth2.googleapis.com/token',
      scope: 'https://www.googleapis.com/auth/monitoring.read https://www.googleapis.com/auth/cloud-platform.read-only',
    });

    // The audit trail: one entry per call, ok, with the points counted; no token, no key.
    expect(audit).toHaveLength(sent.length);
    expect(audit.every((e) => e.outcome === 'ok' && e.engine === 'gcp' && e.targetId === 'orders')).toBe(true);
    expect(audit.map((e) => e.statement)).toContain(
      `ListTimeSeries projects/${PROJECT} cloudsql.googleapis.com/database/cpu/utilization ALIGN_MEAN/REDUCE_MAX 60s`,
    );
    expect(audit.find((e) => e.statement.includes('cpu/utilization'))!.rows).toBe(3);
    expect(JSON.stringify(audit)).not.toMatch(/PRIVATE KEY|ya29\./);
  });

  it('reads a Memorystore instance by its full resource name', async () => {
    responder.series = new Map([
      ['redis.googleapis.com/stats/memory/usage_ratio', { region: REGION, valueType: 'DOUBLE', metricKind: 'GAUGE', points: [[minutesBefore(1), 0.8]] }],
    ]);
    const { byId } = await cycle(bindingFor({ service: 'memorystore-redis', instanceId: 'cache-1' }));
    expect(row(byId.get('cloud.memory'), 'redis.googleapis.com/stats/memory/usage_ratio')).toMatchObject({ unit: 'percent', latest: 80 });
    expect(row(byId.get('cloud.cpu'), 'redis.googleapis.com/stats/cpu_utilization')).toMatchObject({ status: 'no_data' });
    expect(byId.has('cloud.storage')).toBe(false);
    for (const r of metricRequests())
      expect(r.query.get('filter')).toContain(`resource.labels.instance_id = "projects/${PROJECT}/locations/${REGION}/instances/cache-1"`);
  });

  it('refuses a series Cloud Monitoring places in another region than the binding', async () => {
    responder.series.set('cloudsql.googleapis.com/database/cpu/utilization', {
      region: 'us-central1',
      valueType: 'DOUBLE',
      metricKind: 'GAUGE',
      points: [[minutesBefore(1), 0.9]],
    });
    const { byId } = await cycle(bindingFor());
    expect(byId.get('cloud.cpu')).toMatchObject({ status: 'unavailable', reason: 'error' });
    expect((byId.get('cloud.cpu') as Unavailable).detail).toContain(`region us-central1, not the binding's region ${REGION}`);
    expect(row(byId.get('cloud.memory'), 'cloudsql.googleapis.com/database/memory/utilization').latest).toBe(62.5);
  });
});

describe('gcp: failures through the real SDK', () => {
  it('PERMISSION_DENIED makes every signal unavailable/permission with the access script, after one call', async () => {
    responder.metrics = 'permission';
    const { byId, audit } = await cycle(bindingFor());
    expect(byId.size).toBeGreaterThan(3);
    for (const r of byId.values()) {
      expect(r).toMatchObject({ status: 'unavailable', reason: 'permission' });
      expect((r as Unavailable).detail).toContain('monitoring.timeSeries.list');
      expect((r as Unavailable).fix).toBe(gcpProvider.accessScript(bindingFor()));
    }
    // The first refusal stops the cycle: the same 403 is not asked for every metric.
    expect(metricRequests()).toHaveLength(1);
    expect(audit).toMatchObject([{ outcome: 'error', code: 'PERMISSION_DENIED' }]);
  });

  it('RESOURCE_EXHAUSTED (429) is reported as throttling, not retried within the cycle', async () => {
    responder.metrics = 'throttle';
    const started = Date.now();
    const { byId, audit } = await cycle(bindingFor());
    for (const r of byId.values()) {
      expect(r).toMatchObject({ status: 'unavailable', reason: 'error' });
      expect((r as Unavailable).detail).toMatch(/^throttled by Google Cloud Monitoring \(RESOURCE_EXHAUSTED, RATE_LIMIT_EXCEEDED.*the next cycle retries$/);
    }
    expect(metricRequests()).toHaveLength(1);
    expect(audit).toMatchObject([{ outcome: 'error', code: 'RESOURCE_EXHAUSTED' }]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a key the token endpoint rejects (invalid_grant) is "authentication failed", and no metrics call is made', async () => {
    responder.token = 'invalid_grant';
    const { byId, audit } = await cycle(bindingFor());
    for (const r of byId.values()) expect((r as Unavailable).detail).toMatch(/^authentication failed: .*invalid_grant/);
    expect(metricRequests()).toHaveLength(0);
    expect(audit[0]).toMatchObject({ outcome: 'error', code: 'oauth:invalid_grant' });
  });

  it('a malformed key is a configuration error naming the field, never echoing the key', async () => {
    const missing = await cycle(bindingFor(), keyFile({ client_email: undefined }));
    expect(missing.byId.get('cloud.cpu')).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: 'cloud binding: the service-account key has no client_email field',
    });
    const notJson = await cycle(bindingFor(), `{"private_key": "${PRIVATE_PEM.slice(40, 80)}`);
    const detail = (notJson.byId.get('cloud.cpu') as Unavailable).detail;
    expect(detail).toMatch(/^cloud binding: the service-account key is not JSON/);
    expect(detail).not.toContain(PRIVATE_PEM.slice(40, 80));
    expect(responder.requests).toHaveLength(0);
  });

  it('a key file whose token_uri is not Google is refused (it must not redirect the signed assertion)', async () => {
    const { byId } = await cycle(bindingFor({ tokenEndpoint: undefined }), keyFile({ token_uri: 'https://token.example.net/token' }));
    expect((byId.get('cloud.cpu') as Unavailable).detail).toMatch(/token_uri is not https:\/\/oauth2\.googleapis\.com\/token/);
    expect(responder.requests).toHaveLength(0);
  });
});

describe('gcp: egress guard', () => {
  it('refuses a host outside endpoints() before a socket opens: a redirect to another address reaches nothing', async () => {
    responder.metrics = 'redirect';
    responder.redirectTo = elsewhere.url;
    const { byId, refusals } = await cycle(bindingFor());
    for (const r of byId.values()) {
      expect(r).toMatchObject({ status: 'unavailable', reason: 'error' });
      expect((r as Unavailable).detail).toMatch(new RegExp(`^egress guard: refused to contact 127\\.0\\.0\\.2:${elsewhere.port}`));
    }
    expect(refusals).toContain(`127.0.0.2:${elsewhere.port}`);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('every SDK request, the token exchange included, goes through the guarded agent', async () => {
    // An allowlist that holds the responder's name but not the address the SDK is pointed at.
    const binding = bindingFor();
    const egress = cloudEgress(
      binding,
      gcpProvider.endpoints(bindingFor({ endpoint: `https://localhost:${responder.port}`, tokenEndpoint: `https://localhost:${responder.port}/token` })),
    );
    const audit: AuditEntry[] = [];
    const session = await gcpProvider.open(binding, keyFile(), { audit: { record: (e) => audit.push(e) }, targetId: 'orders', egress });
    try {
      const error = await session.fetch(gcpProvider.queries(binding), { start: new Date(Date.now() - 300_000), end: new Date() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ name: 'EgressRefused', code: 'LOGSTAG_EGRESS_REFUSED' });
      expect(egress.guard.refusals[0]?.host).toBe(`127.0.0.1:${responder.port}`);
      expect(responder.requests).toHaveLength(0);
    } finally {
      await session.close();
      egress.agent.destroy();
    }
  });

  it("endpoints() admits Google's global Monitoring, OAuth and Resource Manager hosts on 443 and nothing else", () => {
    const eu = bindingFor({ endpoint: undefined, tokenEndpoint: undefined, caFile: undefined });
    const guard = new EgressGuard(gcpProvider.endpoints(eu));
    for (const host of ['monitoring.googleapis.com', 'oauth2.googleapis.com', 'cloudresourcemanager.googleapis.com'])
      expect(guard.allows(host, 443), host).toBe(true);
    // Another region's regional endpoint, the metadata server, another Google API, another port.
    for (const [host, port] of [
      ['monitoring.us-central1.rep.googleapis.com', 443],
      ['us-central1-monitoring.googleapis.com', 443],
      ['metadata.google.internal', 80],
      ['169.254.169.254', 80],
      ['sqladmin.googleapis.com', 443],
      ['monitoring.googleapis.com', 80],
    ] as const)
      expect(guard.allows(host, port), host).toBe(false);
    expect(gcpProvider.endpoints(eu).every((e) => !e.allowPrivate)).toBe(true);
    // An override replaces the public hosts instead of adding to them.
    const overridden = new EgressGuard(gcpProvider.endpoints(bindingFor()));
    expect(overridden.allows('monitoring.googleapis.com', 443)).toBe(false);
    expect(overridden.allows('127.0.0.1', responder.port)).toBe(true);
    // The region does not widen the list: a us-central1 binding admits exactly the same hosts.
    expect(gcpProvider.endpoints({ ...eu, region: 'us-central1' })).toEqual(gcpProvider.endpoints(eu));
  });
});

describe('gcp: checklist, identity, access script, mapError', () => {
  it('checklist probes monitoring.timeSeries.list with one small read', async () => {
    const session = await openSession(bindingFor());
    try {
      const granted = await gcpProvider.checklist(session, bindingFor());
      expect(granted).toMatchObject([{ grant: 'monitoring.timeSeries.list', status: 'granted' }]);
      expect(metricRequests()).toHaveLength(1);
      expect(metricRequests()[0]!.query.get('pageSize')).toBe('1');
      responder.metrics = 'permission';
      const missing = await gcpProvider.checklist(session, bindingFor());
      expect(missing).toMatchObject([{ grant: 'monitoring.timeSeries.list', status: 'missing', fix: gcpProvider.accessScript(bindingFor()) }]);
      expect(missing[0]!.signals).toContain('cloud.cpu');
    } finally {
      await session.close();
    }
  });

  it("identity: the key's account; read-only yes, no (with the write permissions held) or unknown", async () => {
    const audit: AuditEntry[] = [];
    const session = await openSession(bindingFor(), audit);
    try {
      expect(await gcpProvider.identity(session, bindingFor())).toEqual({ principal: CLIENT_EMAIL, readOnly: 'yes', reasons: [] });
      const iam = responder.requests.find((r) => r.path.endsWith(':testIamPermissions'))!;
      expect(iam.path).toBe(`/v1/projects/${PROJECT}:testIamPermissions`);
      expect(JSON.parse(iam.body)).toEqual({ permissions: [...WRITE_PERMISSIONS] });

      responder.heldPermissions = ['monitoring.timeSeries.list', 'cloudsql.instances.update', 'resourcemanager.projects.setIamPolicy'];
      const writer = await gcpProvider.identity(session, bindingFor());
      expect(writer).toEqual({
        principal: CLIENT_EMAIL,
        readOnly: 'no',
        reasons: [`holds cloudsql.instances.update on project ${PROJECT}`, `holds resourcemanager.projects.setIamPolicy on project ${PROJECT}`],
      });

      responder.iam = 'service_disabled';
      const unknown = await gcpProvider.identity(session, bindingFor());
      expect(unknown.readOnly).toBe('unknown');
      expect(unknown.reasons[0]).toMatch(/could not be listed: .*PERMISSION_DENIED/);
      expect(audit.filter((e) => e.statement.startsWith('testIamPermissions')).map((e) => e.outcome)).toEqual(['ok', 'ok', 'error']);
    } finally {
      await session.close();
    }
  });

  it('accessScript: a dedicated account with roles/monitoring.viewer on the project only, and its key', () => {
    const script = gcpProvider.accessScript(bindingFor());
    expect(script).toContain(`gcloud iam service-accounts create logstag-metrics --project=${PROJECT}`);
    expect(script).toContain(
      `gcloud projects add-iam-policy-binding ${PROJECT} --member="serviceAccount:logstag-metrics@${PROJECT}.iam.gserviceaccount.com" --role="roles/monitoring.viewer"`,
    );
    expect(script).toContain('gcloud iam service-accounts keys create');
    expect(script).not.toMatch(/roles\/(owner|editor|monitoring\.editor|monitoring\.admin|cloudsql)/);
  });

  it("mapError: Google's codes to the reasons, never echoing the message", () => {
    const b = bindingFor();
    const gax = (code: number, httpStatusCode: number, extra: Record<string, unknown> = {}) =>
      Object.assign(new Error('secret-bearing message ya29.xyz'), { code, httpStatusCode, ...extra });
    expect(gcpProvider.mapError(gax(7, 403), b)).toMatchObject({ reason: 'permission', fix: gcpProvider.accessScript(b) });
    expect(gcpProvider.mapError(gax(8, 429, { reason: 'RATE_LIMIT_EXCEEDED' }), b).detail).toMatch(
      /^throttled by Google Cloud Monitoring .*the next cycle retries$/,
    );
    expect(gcpProvider.mapError(gax(16, 401), b).detail).toMatch(/^authentication failed/);
    const tokenErr = Object.assign(new Error('wrapped'), {
      code: 3,
      httpStatusCode: 400,
      cause: Object.assign(new Error('invalid_grant: x'), { response: { status: 400, data: { error: 'invalid_grant' } } }),
    });
    expect(gcpProvider.mapError(tokenErr, b).detail).toMatch(/^authentication failed: .*\(invalid_grant\)/);
    const tls = Object.assign(new Error('x'), {
      code: 14,
      cause: Object.assign(new Error('request to https://x failed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    });
    expect(gcpProvider.mapError(tls, b)).toMatchObject({ reason: 'error', detail: 'cannot reach Google Cloud: SELF_SIGNED_CERT_IN_CHAIN' });
    for (const e of [gax(7, 403), gax(8, 429), gax(16, 401), gax(13, 500)]) expect(JSON.stringify(gcpProvider.mapError(e, b))).not.toContain('ya29');
  });

  it('open() performs no network call and refuses a non-https endpoint and a malformed instance id', async () => {
    const session = await openSession(bindingFor());
    await session.close();
    expect(responder.requests).toHaveLength(0);
    const egress = cloudEgress(bindingFor(), []);
    const ctx = { audit: { record() {} }, targetId: 'orders', egress };
    await expect(gcpProvider.open(bindingFor({ endpoint: `http://127.0.0.1:${responder.port}` }), keyFile(), ctx)).rejects.toThrow(ConfigError);
    await expect(gcpProvider.open(bindingFor({ instanceId: 'x" OR metric.type = "y' }), keyFile(), ctx)).rejects.toThrow(/instanceId/);
    await expect(gcpProvider.open(bindingFor(), keyFile({ type: 'authorized_user' }), ctx)).rejects.toThrow(/service-account key/);
    egress.agent.destroy();
  });
});
