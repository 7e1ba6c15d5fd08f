import { createServer, type Server } from 'node:net';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudBindingSchema, type CloudBinding } from '../../collectors/cloud/binding.js';
import { cloudEgress, endpointOf, publicEndpoint } from '../../collectors/cloud/egress.js';
import { cloudCatalog, CloudReads, type MetricQuery, type QueryResult, windowEnding } from '../../collectors/cloud/metrics.js';
import type { CloudSession } from '../../collectors/cloud/provider.js';
import { runSignals } from '../../collectors/core/runner.js';
import { unavailable } from '../../collectors/core/signal.js';
import { describeIssue, TargetSchema } from '../../collectors/target.js';
import { TargetInputSchema } from '../../contract/api.js';

const aws = {
  provider: 'aws',
  region: 'eu-west-1',
  service: 'rds',
  resourceId: 'db-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secret: { env: 'AWS_SECRET' },
} as const;
const pg = { id: 'pg', engine: 'postgres', host: 'db.example', port: 5432, user: 'mon', database: 'app' } as const;

function problem(input: unknown): string | undefined {
  const r = TargetSchema.safeParse(input);
  return r.success ? undefined : describeIssue(r.error);
}

describe('cloud binding schema', () => {
  it('accepts a binding per provider and fills defaults', () => {
    const t = TargetSchema.parse({ ...pg, cloud: aws });
    expect(t.cloud).toMatchObject({ provider: 'aws', auth: 'access_key', lookbackMinutes: 60 });
    expect(
      problem({
        ...pg,
        cloud: { provider: 'gcp', region: 'europe-west1', projectId: 'my-proj-1', service: 'cloudsql', instanceId: 'pg1', secret: { secret: 'blob' } },
      }),
    ).toBeUndefined();
  });

  it.each([
    [{ ...aws, region: 'Ireland' }, /cloud.region: must be an AWS region code/],
    [{ ...aws, provider: 'oci' }, /provider must be "aws", "azure" or "gcp"/],
    [{ ...aws, service: 'elasticache' }, /cloud.service: "elasticache" is not a managed service for postgres/],
    [{ ...aws, accessKeyId: undefined }, /cloud.accessKeyId: is required with auth "access_key"/],
    [{ ...aws, auth: 'profile', profile: 'mon' }, /access keys come from the profile/],
    [{ ...aws, endpoint: 'http://monitoring.example.com' }, /cloud.endpoint: must be an https URL/],
    [{ ...aws, endpoint: 'https://user:pw@monitoring.example.com' }, /must not carry credentials/],
    [{ ...aws, secret: 'plaintext' }, /cloud.secret/],
    [{ ...aws, extra: 1 }, /unknown field/],
  ])('refuses %j with a one-line reason', (cloud, message) => {
    expect(problem({ ...pg, cloud })).toMatch(message);
  });

  it('the API takes a cloud secret only as an environment variable (a value is sealed by targets.setCloudSecret)', () => {
    expect(TargetInputSchema.safeParse({ ...pg, cloud: aws }).success).toBe(true);
    const blob = TargetInputSchema.safeParse({ ...pg, cloud: { ...aws, secret: { secret: 'logstag-secret:v1:x' } } });
    expect(blob.success ? '' : describeIssue(blob.error)).toMatch(/cloud.secret: must be \{"env": NAME\}/);
  });
});

const q = (id: string, signal: MetricQuery['signal']): MetricQuery => ({ id, signal, name: id, statistic: 'Average', unit: 'percent', periodSeconds: 60 });

function session(answer: Map<string, QueryResult> | Error): CloudSession & { calls: number } {
  const s = {
    calls: 0,
    async fetch() {
      s.calls++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async close() {},
  };
  return s;
}

describe('cloud.* signals', () => {
  const queries = [q('CPUUtilization', 'cpu'), q('ReadIOPS', 'iops'), q('WriteIOPS', 'iops'), q('ReplicaLag', 'replica_lag')];
  const window = windowEnding(new Date('2026-11-26T12:00:00Z'), 60);
  const run = (s: CloudSession) =>
    runSignals(cloudCatalog(queries), new CloudReads(s, queries, window), { timeoutMs: 1000, mapError: () => unavailable('permission', 'denied', 'POLICY') });

  it('one provider call per cycle; no data is null, never 0; an unavailable query does not hide the others', async () => {
    const s = session(
      new Map<string, QueryResult>([
        [
          'CPUUtilization',
          {
            points: [
              ['2026-11-26T11:58:00Z', 12.5],
              ['2026-11-26T11:59:00Z', 14],
            ],
          },
        ],
        ['ReadIOPS', { points: [] }],
        ['WriteIOPS', unavailable('permission', 'Forbidden for WriteIOPS')],
        ['ReplicaLag', unavailable('unsupported', 'not a replica')],
      ]),
    );
    const out = await run(s);
    expect(s.calls).toBe(1);
    expect(out.map((o) => o.spec.id)).toEqual(['cloud.cpu', 'cloud.iops', 'cloud.replica_lag']);
    expect(out[0]!.result).toEqual({
      status: 'ok',
      value: [expect.objectContaining({ metric: 'CPUUtilization', status: 'ok', latest: 14, latestAt: '2026-11-26T11:59:00Z' })],
    });
    expect(out[1]!.result).toEqual({
      status: 'ok',
      value: [expect.objectContaining({ metric: 'ReadIOPS', status: 'no_data', latest: null, latestAt: null, points: [] })],
    });
    expect(out[2]!.result).toEqual({ status: 'unavailable', reason: 'unsupported', detail: 'not a replica' });
  });

  it('a failed provider call makes every cloud signal unavailable with the mapped reason and fix', async () => {
    const out = await run(session(new Error('AccessDenied')));
    expect(out.map((o) => o.result)).toEqual(out.map(() => ({ status: 'unavailable', reason: 'permission', detail: 'denied', fix: 'POLICY' })));
  });
});

describe('cloud egress', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (url: string, agent: import('node:https').Agent): Promise<Error> =>
    new Promise((resolve) => {
      const req = request(url, { agent }, () => resolve(new Error('answered')));
      req.on('error', resolve);
      req.end();
    });

  it('refuses a host or port outside the binding before a socket exists; admits the configured one', async () => {
    const binding = CloudBindingSchema.parse({ ...aws, endpoint: `https://127.0.0.1:${port}` }) as CloudBinding;
    const refused: string[] = [];
    const egress = cloudEgress(binding, [endpointOf(binding.endpoint!), publicEndpoint('monitoring.eu-west-1.amazonaws.com')], {
      onRefuse: (r) => refused.push(r.host),
    });
    try {
      const before = connections;
      const err = await get(`https://127.0.0.2:${port}/`, egress.agent);
      expect(err.message).toMatch(/refused to contact 127\.0\.0\.2:\d+: not one of the AWS endpoints for region eu-west-1/);
      const otherRegion = await get('https://monitoring.us-east-1.amazonaws.com/', egress.agent);
      expect(otherRegion.message).toMatch(/refused to contact monitoring\.us-east-1\.amazonaws\.com/);
      expect(connections).toBe(before);
      expect(refused).toEqual([`127.0.0.2:${port}`, 'monitoring.us-east-1.amazonaws.com:443']);
      // The configured endpoint is let through: the server sees the connection (and drops it).
      const allowed = await get(`https://127.0.0.1:${port}/`, egress.agent);
      expect(allowed.message).not.toMatch(/refused/);
      expect(connections).toBe(before + 1);
    } finally {
      egress.agent.destroy();
    }
  });

  it('an unreadable caFile is a one-line configuration error', () => {
    const binding = CloudBindingSchema.parse({ ...aws, caFile: '/nonexistent/ca.pem' }) as CloudBinding;
    expect(() => cloudEgress(binding, [])).toThrow(/cloud.caFile \/nonexistent\/ca.pem: no such file/);
  });
});

describe('per-engine queries of a multi-engine service', () => {
  it('a Cloud SQL binding reads the PostgreSQL connection metric for a PostgreSQL target and the SQL Server one for SQL Server', async () => {
    const { gcpProvider } = await import('../../collectors/cloud/gcp/index.js');
    const { queriesFor } = await import('../../collectors/cloud/cycle.js');
    const b = CloudBindingSchema.parse({
      provider: 'gcp',
      region: 'europe-west1',
      projectId: 'my-proj-1',
      service: 'cloudsql',
      instanceId: 'pg1',
    }) as CloudBinding;
    const names = (engine: 'postgres' | 'mssql') =>
      queriesFor(gcpProvider, b, engine)
        .filter((q) => q.signal === 'connections')
        .map((q) => q.name);
    expect(names('postgres')).toEqual(['cloudsql.googleapis.com/database/postgresql/num_backends']);
    expect(names('mssql')).toEqual(['cloudsql.googleapis.com/database/sqlserver/connections/user_connections']);
    expect(queriesFor(gcpProvider, b, 'mssql').some((q) => q.name.includes('/postgresql/'))).toBe(false);
  });
});
