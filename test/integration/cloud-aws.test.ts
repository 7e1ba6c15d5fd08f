// The AWS cloud provider through the real AWS SDK v3 (CloudWatch GetMetricData, STS) against a
// local HTTPS responder that answers in the SDK's wire protocols (test/helpers/cloud-aws-responder.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { EgressGuard, type Refusal } from '../../collectors/core/egress-guard.js';
import { ConfigError } from '../../collectors/core/engine.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import type { SignalResult, Unavailable } from '../../collectors/core/signal.js';
import { awsProvider, UNKNOWN_READ_ONLY } from '../../collectors/cloud/aws/index.js';
import { MAX_ATTEMPTS } from '../../collectors/cloud/aws/session.js';
import { type AwsBinding, CloudBindingSchema } from '../../collectors/cloud/binding.js';
import { collectCloud, type CloudCycleDeps } from '../../collectors/cloud/cycle.js';
import { cloudEgress } from '../../collectors/cloud/egress.js';
import type { MetricRow } from '../../collectors/cloud/metrics.js';
import type { CloudContext } from '../../collectors/cloud/provider.js';
import { type AwsResponder, startAwsResponder } from '../helpers/cloud-aws-responder.js';

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** The cycle's end: a whole minute, so the window and the points are exact. */
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const at = (minutesAgo: number): number => NOW.getTime() / 1000 - minutesAgo * 60;
const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

let responder: AwsResponder;
beforeAll(async () => {
  responder = await startAwsResponder();
});
afterAll(async () => {
  await responder.stop();
});
beforeEach(() => {
  responder.requests.length = 0;
  responder.mode = 'ok';
  responder.data.clear();
  responder.statusFor.clear();
  responder.paged = false;
  responder.callerArn = 'arn:aws:iam::123456789012:user/logstag-agent';
});

function binding(extra: Record<string, unknown> = {}): AwsBinding {
  return CloudBindingSchema.parse({
    provider: 'aws',
    region: 'eu-west-1',
    service: 'rds',
    resourceId: 'orders-db',
    accessKeyId: KEY_ID,
    secret: { env: 'LSA_TEST_AWS_SECRET' },
    endpoint: responder.url,
    stsEndpoint: responder.url,
    caFile: responder.caFile,
    ...extra,
  }) as AwsBinding;
}

function deps(audit: AuditEntry[], extra: Partial<CloudCycleDeps> = {}): CloudCycleDeps {
  return { targetId: 't-aws', audit: { record: (e) => audit.push(e) }, policy: resolvePolicy(), secret: async () => SECRET, now: () => NOW, ...extra };
}

const bySignal = (outcomes: Array<{ spec: { id: string }; result: SignalResult }>): Map<string, SignalResult> =>
  new Map(outcomes.map((o) => [o.spec.id, o.result]));
const rowsOf = (r: SignalResult | undefined): MetricRow[] => {
  if (r?.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.value as MetricRow[];
};
const row = (r: SignalResult | undefined, metric: string): MetricRow | undefined => rowsOf(r).find((x) => x.metric === metric);

describe('AWS metrics cycle through the real SDK', () => {
  it('reads every cloud signal of an RDS instance in one GetMetricData call, scaled, oldest first; no data stays no_data', async () => {
    responder.data.set('CPUUtilization', [
      [at(3), 12.5],
      [at(2), 20],
      [at(1), 31.25],
    ]);
    responder.data.set('FreeableMemory', [
      [at(2), 2_147_483_648],
      [at(1), 2_000_000_000],
    ]);
    responder.data.set('FreeStorageSpace', [[at(1), 53_687_091_200]]);
    responder.data.set('ReadIOPS', [[at(1), 140.5]]);
    responder.data.set('WriteIOPS', [[at(1), 88]]);
    responder.data.set('DatabaseConnections', [
      [at(2), 17],
      [at(1), 19],
    ]);
    responder.data.set('ReadLatency', [[at(1), 0.0015]]);
    // ReplicaLag: a primary publishes none. DiskQueueDepth, WriteLatency, SwapUsage: none either.
    const audit: AuditEntry[] = [];
    const b = binding();
    const { outcomes } = await collectCloud(b, deps(audit));
    const s = bySignal(outcomes);
    expect([...s.keys()]).toEqual(['cloud.cpu', 'cloud.memory', 'cloud.storage', 'cloud.iops', 'cloud.connections', 'cloud.replica_lag', 'cloud.service']);

    expect(rowsOf(s.get('cloud.cpu'))).toEqual([
      {
        metric: 'CPUUtilization',
        statistic: 'Average',
        unit: 'percent',
        periodSeconds: 60,
        status: 'ok',
        latest: 31.25,
        latestAt: iso(at(1)),
        points: [
          [iso(at(3)), 12.5],
          [iso(at(2)), 20],
          [iso(at(1)), 31.25],
        ],
      },
    ]);
    expect(row(s.get('cloud.memory'), 'FreeableMemory')).toMatchObject({ unit: 'bytes', latest: 2_000_000_000, status: 'ok' });
    expect(row(s.get('cloud.storage'), 'FreeStorageSpace')).toMatchObject({ unit: 'bytes', latest: 53_687_091_200 });
    expect(rowsOf(s.get('cloud.iops')).map((r) => [r.metric, r.unit, r.latest])).toEqual([
      ['ReadIOPS', 'count/s', 140.5],
      ['WriteIOPS', 'count/s', 88],
    ]);
    expect(row(s.get('cloud.connections'), 'DatabaseConnections')).toMatchObject({ unit: 'count', latest: 19, latestAt: iso(at(1)) });
    // No data points: no_data with latest null, never 0.
    expect(rowsOf(s.get('cloud.replica_lag'))).toEqual([
      { metric: 'ReplicaLag', statistic: 'Average', unit: 'seconds', periodSeconds: 60, status: 'no_data', latest: null, latestAt: null, points: [] },
    ]);
    // CloudWatch reports latency in seconds; the agent's unit is milliseconds.
    expect(row(s.get('cloud.service'), 'ReadLatency')).toMatchObject({ unit: 'milliseconds', latest: 1.5 });
    expect(row(s.get('cloud.service'), 'SwapUsage')).toMatchObject({ status: 'no_data', latest: null });

    // What the SDK sent: one call, the instance's dimension, 60 s periods, the cycle's window.
    expect(responder.requests.map((r) => r.operation)).toEqual(['GetMetricData']);
    const req = responder.requests[0]!;
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(req.headers.authorization).toMatch(new RegExp(`Credential=${KEY_ID}/\\d{8}/eu-west-1/monitoring/aws4_request`));
    expect(JSON.stringify(req.headers)).not.toContain(SECRET);
    const body = req.body as {
      MetricDataQueries: Array<{
        Id: string;
        MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown }; Period: number; Stat: string };
      }>;
      StartTime: number;
      EndTime: number;
      ScanBy: string;
    };
    expect(body.MetricDataQueries.map((q) => q.MetricStat.Metric.MetricName)).toEqual(awsProvider.queries(b).map((q) => q.name));
    expect(body.MetricDataQueries.map((q) => q.MetricStat.Metric.MetricName)).toEqual([
      'CPUUtilization',
      'FreeableMemory',
      'FreeStorageSpace',
      'ReadIOPS',
      'WriteIOPS',
      'DatabaseConnections',
      'ReplicaLag',
      'DiskQueueDepth',
      'ReadLatency',
      'WriteLatency',
      'SwapUsage',
    ]);
    for (const q of body.MetricDataQueries) {
      expect(q.Id).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(q.MetricStat.Metric.Namespace).toBe('AWS/RDS');
      expect(q.MetricStat.Metric.Dimensions).toEqual([{ Name: 'DBInstanceIdentifier', Value: 'orders-db' }]);
      expect(q.MetricStat.Period).toBe(60);
      expect(q.MetricStat.Stat).toBe('Average');
    }
    expect(body.StartTime).toBe(NOW.getTime() / 1000 - 60 * 60);
    expect(body.EndTime).toBe(NOW.getTime() / 1000);
    expect(body.ScanBy).toBe('TimestampAscending');

    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      targetId: 't-aws',
      engine: 'aws',
      statement:
        'GetMetricData AWS/RDS CPUUtilization,FreeableMemory,FreeStorageSpace,ReadIOPS,WriteIOPS,DatabaseConnections,ReplicaLag,DiskQueueDepth,ReadLatency,WriteLatency,SwapUsage',
      outcome: 'ok',
      rows: 11,
    });
  });

  it('follows NextToken for PartialData and keeps per-query Forbidden / InternalError to their own signals (ElastiCache)', async () => {
    responder.paged = true;
    responder.data.set('EngineCPUUtilization', [
      [at(4), 5],
      [at(3), 6],
      [at(2), 7],
      [at(1), 8],
    ]);
    responder.data.set('CacheHitRate', [
      [at(2), 97.5],
      [at(1), 98],
    ]);
    responder.statusFor.set('CurrConnections', 'Forbidden');
    responder.statusFor.set('ReplicationLag', 'InternalError');
    const audit: AuditEntry[] = [];
    const b = binding({ service: 'elasticache', resourceId: 'sessions-0001-001' });
    const s = bySignal((await collectCloud(b, deps(audit))).outcomes);

    expect(responder.requests.map((r) => r.body.NextToken ?? null)).toEqual([null, 'page-2']);
    const dims = (responder.requests[0]!.body.MetricDataQueries as Array<{ MetricStat: { Metric: { Namespace: string; Dimensions: unknown } } }>)[0]!.MetricStat
      .Metric;
    expect(dims).toMatchObject({ Namespace: 'AWS/ElastiCache', Dimensions: [{ Name: 'CacheClusterId', Value: 'sessions-0001-001' }] });
    expect(row(s.get('cloud.cpu'), 'EngineCPUUtilization')?.points).toEqual([
      [iso(at(4)), 5],
      [iso(at(3)), 6],
      [iso(at(2)), 7],
      [iso(at(1)), 8],
    ]);
    expect(row(s.get('cloud.service'), 'CacheHitRate')).toMatchObject({ unit: 'percent', latest: 98 });
    expect(row(s.get('cloud.service'), 'Evictions')).toMatchObject({ statistic: 'Sum', status: 'no_data' });
    const conn = s.get('cloud.connections') as Unavailable;
    expect(conn).toMatchObject({ status: 'unavailable', reason: 'permission' });
    expect(conn.detail).toContain('Forbidden');
    expect(conn.fix).toBe(awsProvider.accessScript(b));
    expect(s.get('cloud.replica_lag')).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: expect.stringContaining('internal error for ReplicationLag'),
    });
    expect(audit.map((e) => e.statement)).toEqual([
      expect.stringMatching(/^GetMetricData AWS\/ElastiCache EngineCPUUtilization,/),
      expect.stringMatching(/\(next page\)$/),
    ]);
  });

  it('permission denied: every signal is unavailable/permission with the access script, and the call is not retried', async () => {
    responder.mode = 'denied';
    const audit: AuditEntry[] = [];
    const b = binding();
    const { outcomes } = await collectCloud(b, deps(audit));
    expect(outcomes).toHaveLength(7);
    for (const o of outcomes) {
      expect(o.result).toMatchObject({ status: 'unavailable', reason: 'permission', fix: awsProvider.accessScript(b) });
      expect((o.result as Unavailable).detail).toContain('cloudwatch:GetMetricData');
      // The service message names the principal; it is never echoed.
      expect((o.result as Unavailable).detail).not.toContain('arn:aws');
    }
    expect(responder.requests).toHaveLength(1);
    expect(audit).toEqual([expect.objectContaining({ outcome: 'error', code: 'AccessDenied' })]);
  });

  it(`throttled: every signal says so; the SDK tries ${MAX_ATTEMPTS} times, then the cycle moves on quickly`, async () => {
    responder.mode = 'throttled';
    const audit: AuditEntry[] = [];
    const started = Date.now();
    const { outcomes } = await collectCloud(binding(), deps(audit));
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const o of outcomes) {
      expect(o.result).toMatchObject({ status: 'unavailable', reason: 'error' });
      expect((o.result as Unavailable).detail).toMatch(/^throttled by AWS \(Throttling.*the next cycle retries$/);
    }
    expect(responder.requests.map((r) => r.operation)).toEqual(Array(MAX_ATTEMPTS).fill('GetMetricData'));
    expect(audit).toEqual([expect.objectContaining({ outcome: 'error', code: 'Throttling' })]);
  });

  it('unknown access key: authentication failed, with neither key in the detail', async () => {
    responder.mode = 'invalid-token';
    const { outcomes } = await collectCloud(binding(), deps([]));
    for (const o of outcomes) {
      expect(o.result).toMatchObject({
        status: 'unavailable',
        reason: 'error',
        detail: expect.stringMatching(/^authentication failed \(InvalidClientTokenId\)/),
      });
      expect(JSON.stringify(o.result)).not.toContain(SECRET);
    }
  });

  it('an endpoint whose certificate is not trusted: a TLS error with the cause', async () => {
    const b = binding();
    delete b.caFile;
    const { outcomes } = await collectCloud(b, deps([]));
    expect(outcomes[0]!.result).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: expect.stringMatching(
        /^TLS to the AWS endpoint failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/,
      ),
    });
  });

  it('a malformed secret access key is a one-line configuration error that does not echo it', async () => {
    const bad = 'not-a-key-but-a-password-with spaces!';
    const { outcomes } = await collectCloud(binding(), deps([], { secret: async () => bad }));
    expect(outcomes[0]!.result).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: 'cloud binding: the AWS secret access key is not in AWS format (40 characters: letters, digits, "/" and "+")',
    });
    expect(JSON.stringify(outcomes)).not.toContain(bad);
    expect(responder.requests).toHaveLength(0);
  });
});

describe('AWS profiles: every credential call goes through the guarded agent too', () => {
  let dir: string;
  const saved = { ...process.env };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lsa-aws-profile-'));
    process.env.HOME = dir;
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    writeFileSync(join(dir, 'credentials'), `[base]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`);
  });
  afterEach(() => {
    for (const k of ['HOME', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("a profile that assumes a role: AssumeRole goes to the binding's STS endpoint in the binding's region, then metrics are signed with the role's keys", async () => {
    // The profile names us-east-1; the binding's region wins, so the role is assumed in eu-west-1.
    writeFileSync(join(dir, 'config'), '[profile monitor]\nrole_arn = arn:aws:iam::123456789012:role/LogstagRead\nsource_profile = base\nregion = us-east-1\n');
    responder.data.set('CPUUtilization', [[at(1), 42]]);
    const audit: AuditEntry[] = [];
    const b = binding({ auth: 'profile', profile: 'monitor', accessKeyId: undefined, secret: undefined });
    const s = bySignal((await collectCloud(b, deps(audit, { secret: async () => undefined }))).outcomes);
    expect(row(s.get('cloud.cpu'), 'CPUUtilization')?.latest).toBe(42);
    expect(responder.requests.map((r) => r.operation)).toEqual(['AssumeRole', 'GetMetricData']);
    const [assume, metrics] = responder.requests;
    expect(assume!.body).toMatchObject({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: 'arn:aws:iam::123456789012:role/LogstagRead' });
    expect(assume!.headers.authorization).toMatch(new RegExp(`Credential=${KEY_ID}/\\d{8}/eu-west-1/sts/aws4_request`));
    expect(metrics!.headers.authorization).toMatch(/Credential=ASIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/monitoring\/aws4_request/);
    expect(metrics!.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(audit.map((e) => [e.statement, e.outcome])).toEqual([
      ['AssumeRole arn:aws:iam::123456789012:role/LogstagRead', 'ok'],
      [expect.stringMatching(/^GetMetricData AWS\/RDS /), 'ok'],
    ]);
  });

  it('an SSO profile whose portal is in another region is refused by the egress guard before a socket opens', async () => {
    const startUrl = 'https://example-portal.awsapps.com/start';
    writeFileSync(
      join(dir, 'config'),
      `[profile sso-elsewhere]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\nregion = eu-west-1\n`,
    );
    const cache = join(dir, '.aws', 'sso', 'cache');
    mkdirSync(cache, { recursive: true });
    writeFileSync(
      join(cache, `${createHash('sha1').update(startUrl).digest('hex')}.json`),
      JSON.stringify({ accessToken: 'sso-access-token', expiresAt: new Date(Date.now() + 3600_000).toISOString(), region: 'us-east-1', startUrl }),
    );
    const refusals: Refusal[] = [];
    const b = binding({ auth: 'profile', profile: 'sso-elsewhere', accessKeyId: undefined, secret: undefined });
    const { outcomes } = await collectCloud(b, deps([], { secret: async () => undefined, onRefuse: (r) => refusals.push(r) }));
    expect(refusals.map((r) => r.host)).toEqual(['portal.sso.us-east-1.amazonaws.com:443']);
    for (const o of outcomes)
      expect(o.result).toMatchObject({
        status: 'unavailable',
        reason: 'error',
        detail: expect.stringMatching(/^egress guard: refused to contact portal\.sso\.us-east-1\.amazonaws\.com:443/),
      });
    expect(responder.requests).toHaveLength(0);
  });
});

describe('AWS endpoints and the egress guard', () => {
  const plain = (extra: Record<string, unknown> = {}): AwsBinding =>
    CloudBindingSchema.parse({
      provider: 'aws',
      region: 'eu-west-1',
      service: 'aurora',
      resourceId: 'db-1',
      accessKeyId: KEY_ID,
      secret: { env: 'X' },
      ...extra,
    }) as AwsBinding;

  it("admits exactly the region's monitoring and regional STS hosts, nothing of another region or the global STS", () => {
    const guard = new EgressGuard(awsProvider.endpoints(plain()));
    expect(awsProvider.endpoints(plain()).map((e) => `${e.host}:${e.port}:${e.allowPrivate}`)).toEqual([
      'monitoring.eu-west-1.amazonaws.com:443:false',
      'sts.eu-west-1.amazonaws.com:443:false',
    ]);
    expect(guard.allows('monitoring.eu-west-1.amazonaws.com', 443)).toBe(true);
    for (const host of [
      'monitoring.us-east-1.amazonaws.com',
      'sts.us-east-1.amazonaws.com',
      'sts.amazonaws.com',
      'monitoring.eu-west-2.amazonaws.com',
      'monitoring-fips.eu-west-1.amazonaws.com',
    ]) {
      expect(guard.allows(host, 443), host).toBe(false);
    }
    expect(awsProvider.endpoints(plain({ region: 'cn-north-1' })).map((e) => e.host)).toEqual([
      'monitoring.cn-north-1.amazonaws.com.cn',
      'sts.cn-north-1.amazonaws.com.cn',
    ]);
    // An override replaces the public host; one URL serving both APIs is listed once.
    const vpc = awsProvider.endpoints(plain({ endpoint: 'https://vpce-0abc.monitoring.eu-west-1.vpce.amazonaws.com' }));
    expect(vpc.map((e) => `${e.host}:${e.allowPrivate}`)).toEqual([
      'vpce-0abc.monitoring.eu-west-1.vpce.amazonaws.com:true',
      'sts.eu-west-1.amazonaws.com:false',
    ]);
    expect(awsProvider.endpoints(plain({ endpoint: 'https://127.0.0.1:8443', stsEndpoint: 'https://127.0.0.1:8443' }))).toHaveLength(1);
  });

  it("without overrides the SDK asks only for the region's hosts (the test resolver answers nothing, so nothing leaves)", async () => {
    const asked: string[] = [];
    const resolve = async (host: string) => {
      asked.push(host);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const b = plain();
    const { outcomes } = await collectCloud(b, deps([], { resolve }));
    expect(outcomes[0]!.result).toMatchObject({ status: 'unavailable', reason: 'error', detail: 'the AWS endpoint could not be reached (ENOTFOUND)' });
    const egress = cloudEgress(b, awsProvider.endpoints(b), { resolve });
    const session = await awsProvider.open(b, SECRET, { audit: { record() {} }, targetId: 't', egress });
    await expect(awsProvider.identity(session, b)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await session.close();
    egress.agent.destroy();
    expect([...new Set(asked)]).toEqual(['monitoring.eu-west-1.amazonaws.com', 'sts.eu-west-1.amazonaws.com']);
  });

  it('an http endpoint is refused at open(): the SDK would use its own, unguarded http agent', async () => {
    const b = plain({ endpoint: 'http://127.0.0.1:9' });
    const egress = cloudEgress(b, awsProvider.endpoints(b));
    await expect(awsProvider.open(b, SECRET, { audit: { record() {} }, targetId: 't', egress })).rejects.toBeInstanceOf(ConfigError);
    egress.agent.destroy();
  });
});

describe('AWS checklist, identity, access script, error mapping', () => {
  async function withSession<T>(
    b: AwsBinding,
    audit: AuditEntry[],
    fn: (ctx: CloudContext, s: Awaited<ReturnType<typeof awsProvider.open>>) => Promise<T>,
  ): Promise<T> {
    const egress = cloudEgress(b, awsProvider.endpoints(b));
    const ctx: CloudContext = { audit: { record: (e) => audit.push(e) }, targetId: 't', egress };
    const session = await awsProvider.open(b, SECRET, ctx);
    try {
      return await fn(ctx, session);
    } finally {
      await session.close();
      egress.agent.destroy();
    }
  }

  it('checklist: granted when one small GetMetricData answers, missing with the access script when denied', async () => {
    const b = binding({ service: 'documentdb', resourceId: 'catalog-cluster' });
    const granted = await withSession(b, [], (_, s) => awsProvider.checklist(s, b));
    expect(granted).toEqual([
      {
        grant: 'cloudwatch:GetMetricData',
        status: 'granted',
        signals: ['cloud.cpu', 'cloud.memory', 'cloud.storage', 'cloud.iops', 'cloud.connections', 'cloud.replica_lag', 'cloud.service'],
        detail: expect.stringContaining('catalog-cluster'),
      },
    ]);
    const probe = responder.requests[0]!.body as {
      MetricDataQueries: Array<{ MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } } }>;
      StartTime: number;
      EndTime: number;
    };
    expect(probe.MetricDataQueries).toHaveLength(1);
    expect(probe.MetricDataQueries[0]!.MetricStat.Metric).toEqual({
      Namespace: 'AWS/DocDB',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'catalog-cluster' }],
    });
    expect(probe.EndTime - probe.StartTime).toBe(300);

    responder.mode = 'denied';
    const missing = await withSession(b, [], (_, s) => awsProvider.checklist(s, b));
    expect(missing).toEqual([expect.objectContaining({ grant: 'cloudwatch:GetMetricData', status: 'missing', fix: awsProvider.accessScript(b) })]);

    responder.mode = 'throttled';
    await expect(withSession(b, [], (_, s) => awsProvider.checklist(s, b))).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('identity: GetCallerIdentity on the regional STS; a root ARN is not read-only, any other principal is unknown, with the reason', async () => {
    const b = binding();
    const audit: AuditEntry[] = [];
    const user = await withSession(b, audit, (_, s) => awsProvider.identity(s, b));
    expect(user).toEqual({ principal: 'arn:aws:iam::123456789012:user/logstag-agent', readOnly: 'unknown', reasons: [UNKNOWN_READ_ONLY] });
    const req = responder.requests[0]!;
    expect(req.body).toEqual({ Action: 'GetCallerIdentity', Version: '2011-06-15' });
    expect(req.headers.authorization).toMatch(new RegExp(`Credential=${KEY_ID}/\\d{8}/eu-west-1/sts/aws4_request`));
    expect(audit).toEqual([expect.objectContaining({ statement: 'GetCallerIdentity', outcome: 'ok' })]);

    responder.callerArn = 'arn:aws:iam::123456789012:root';
    const root = await withSession(b, [], (_, s) => awsProvider.identity(s, b));
    expect(root.readOnly).toBe('no');
    expect(root.reasons[0]).toMatch(/root user/);
    // Only read APIs were ever called.
    expect(new Set(responder.requests.map((r) => r.operation))).toEqual(new Set(['GetCallerIdentity']));
  });

  it('access script: a policy with exactly cloudwatch:GetMetricData on "*", and the commands to create and attach it', () => {
    const script = awsProvider.accessScript(binding({ service: 'aurora', resourceId: 'orders-aurora-1' }));
    const doc = JSON.parse(/<<'JSON'\n([\s\S]*?)\nJSON/.exec(script)![1]!) as { Statement: Array<{ Effect: string; Action: string[]; Resource: string }> };
    expect(doc.Statement).toEqual([{ Sid: 'ReadMetricsOnly', Effect: 'Allow', Action: ['cloudwatch:GetMetricData'], Resource: '*' }]);
    expect(script).toContain('aws iam create-policy --policy-name LogstagAgentCloudWatchRead');
    expect(script).toContain('aws iam attach-user-policy --user-name logstag-agent --policy-arn arn:aws:iam::<ACCOUNT_ID>:policy/LogstagAgentCloudWatchRead');
    expect(script).toContain('AWS/RDS DBInstanceIdentifier=orders-aurora-1 (eu-west-1)');
    expect(script).toMatch(/cannot be scoped to a resource/);
  });

  it('mapError: AWS codes to reasons, never the service message', () => {
    const b = binding();
    const svc = (name: string, status: number) =>
      Object.assign(new Error(`secret-bearing message for ${name} ${SECRET}`), { name, $metadata: { httpStatusCode: status } });
    for (const name of ['AccessDenied', 'AccessDeniedException']) {
      expect(awsProvider.mapError(svc(name, 403), b)).toMatchObject({ reason: 'permission', fix: awsProvider.accessScript(b) });
    }
    for (const name of ['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']) {
      expect(awsProvider.mapError(svc(name, 400), b)).toMatchObject({
        reason: 'error',
        detail: `throttled by AWS (${name}: the account's CloudWatch request rate was exceeded); the next cycle retries`,
      });
    }
    for (const name of ['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'ExpiredToken']) {
      expect(awsProvider.mapError(svc(name, 403), b).detail).toMatch(new RegExp(`^authentication failed \\(${name}\\)`));
    }
    expect(awsProvider.mapError(svc('InternalFailure', 500), b).detail).toBe('AWS answered InternalFailure (HTTP 500); the next cycle retries');
    expect(awsProvider.mapError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), b).detail).toBe(
      'the AWS endpoint could not be reached (ECONNREFUSED)',
    );
    expect(awsProvider.mapError(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), b).detail).toBe(
      'TLS to the AWS endpoint failed (CERT_HAS_EXPIRED)',
    );
    for (const name of ['AccessDenied', 'Throttling', 'ExpiredToken', 'InternalFailure'])
      expect(JSON.stringify(awsProvider.mapError(svc(name, 400), b))).not.toContain(SECRET);
  });
});
