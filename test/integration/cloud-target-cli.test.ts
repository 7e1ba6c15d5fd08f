// A PostgreSQL target bound to its (simulated) RDS instance, end to end through the built CLI:
// the real PostgreSQL from the harness and the real AWS SDK against the local CloudWatch/STS
// responder. One payload carries both the database's signals and the provider's; `check` shows
// the cloud identity and its permission; `grants` gives the cloud administrator's script apart
// from the DBA's; a database that cannot be reached still has its provider metrics reported.
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { PayloadV1Schema, type PayloadV1 } from '../../collectors/core/payload.js';
import { freePort } from '../harness/util.js';
import { type AwsResponder, startAwsResponder } from '../helpers/cloud-aws-responder.js';
import { jsonFile, runAgentCli } from '../helpers/cli.js';

const pg = inject('pg');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
let aws: AwsResponder;

beforeAll(async () => {
  aws = await startAwsResponder();
});
afterAll(async () => {
  await aws.stop();
});
beforeEach(() => {
  aws.requests.length = 0;
  aws.mode = 'ok';
  aws.data.clear();
});

function target(extra: Record<string, unknown> = {}) {
  const file = jsonFile({
    id: 'orders',
    engine: 'postgres',
    host: pg.host,
    port: pg.port,
    user: pg.users.monitor.user,
    database: pg.database,
    password: { env: 'LSA_PG_PASSWORD' },
    tls: { mode: 'disable' },
    cloud: {
      provider: 'aws',
      region: 'eu-west-1',
      service: 'rds',
      resourceId: 'orders-db',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secret: { env: 'LSA_AWS_SECRET' },
      endpoint: aws.url,
      stsEndpoint: aws.url,
      caFile: aws.caFile,
    },
    ...extra,
  });
  return { file, env: { LSA_PG_PASSWORD: pg.users.monitor.password, LSA_AWS_SECRET: SECRET } };
}

const signal = (p: PayloadV1, id: string) => p.signals.find((s) => s.id === id);

describe('a PostgreSQL target with an AWS binding, through the CLI', () => {
  it('collect --once: one payload with the database signals and the cloud.* signals; the secret appears nowhere', async () => {
    const now = Math.floor(Date.now() / 60_000) * 60;
    aws.data.set('CPUUtilization', [
      [now - 120, 41.5],
      [now - 60, 43],
    ]);
    aws.data.set('DatabaseConnections', [[now - 60, 12]]);
    const t = target();
    const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    expect(signal(p, 'postgres.server')?.status).toBe('ok');
    expect(signal(p, 'cloud.cpu')).toMatchObject({ family: 'cloud', status: 'ok', value: [{ metric: 'CPUUtilization', unit: 'percent', latest: 43 }] });
    expect(signal(p, 'cloud.connections')).toMatchObject({ status: 'ok', value: [{ metric: 'DatabaseConnections', latest: 12 }] });
    // A primary publishes no replica lag: reported as no data, never as 0.
    expect(signal(p, 'cloud.replica_lag')).toMatchObject({ status: 'ok', value: [{ status: 'no_data', latest: null }] });
    expect(r.stdout).not.toContain(SECRET);
    expect(aws.requests.map((q) => q.operation)).toEqual(['GetMetricData']);
  });

  it('the database unreachable: its signals say so, and the provider metrics still arrive', async () => {
    aws.data.set('CPUUtilization', [[Math.floor(Date.now() / 1000) - 60, 99]]);
    const t = target({ port: await freePort(), connectTimeoutMs: 2000 });
    const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env });
    // collect --once exits 3 for an unreachable target, as without a binding.
    expect(r.code).toBe(3);
    expect(aws.requests.map((q) => q.operation)).toEqual(['GetMetricData']);
  });

  it('check: the cloud identity, its probed permission and the cloud secret rotation note', async () => {
    const t = target();
    const r = await runAgentCli(['check', '--target', t.file], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Cloud metrics \(aws, eu-west-1\):/);
    expect(r.stdout).toMatch(/identity: arn:aws:iam::123456789012:user\//);
    expect(r.stdout).toMatch(/read-only: unknown/);
    expect(r.stdout).toMatch(/\[granted\] cloudwatch:GetMetricData/);
    expect(r.stdout).toMatch(/cloud secret: rotation not tracked/);
    const json = JSON.parse((await runAgentCli(['check', '--target', t.file, '--json'], { env: t.env })).stdout) as {
      cloud: { identity: { readOnly: string }; items: Array<{ grant: string; status: string }> };
    };
    expect(json.cloud.identity.readOnly).toBe('unknown');
    expect(json.cloud.items).toEqual([expect.objectContaining({ grant: 'cloudwatch:GetMetricData', status: 'granted' })]);
  });

  it('check with the cloud identity denied: the permission is missing, with the IAM policy to attach', async () => {
    aws.mode = 'denied';
    const t = target();
    const r = await runAgentCli(['check', '--target', t.file], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[missing\] cloudwatch:GetMetricData/);
    expect(r.stdout).toContain('"cloudwatch:GetMetricData"');
  });

  it('grants: the DBA script, then the cloud administrator script marked off', async () => {
    const t = target();
    const r = await runAgentCli(['grants', '--target', t.file], { env: t.env });
    expect(r.code).toBe(0);
    const [dba, cloud] = r.stdout.split('==== Cloud metrics (aws): for the cloud administrator, not the DBA ====');
    expect(dba).toMatch(/GRANT|already has/i);
    expect(cloud).toContain('"cloudwatch:GetMetricData"');
    expect(dba).not.toContain('cloudwatch');
  });

  it('a missing cloud secret is reported on the cloud signals, not as a crash; run refuses it up front', async () => {
    const t = target();
    const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: { LSA_PG_PASSWORD: pg.users.monitor.password } });
    expect(r.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    expect(signal(p, 'cloud.cpu')).toMatchObject({
      status: 'unavailable',
      reason: 'error',
      detail: expect.stringMatching(/cloud\.secret: environment variable LSA_AWS_SECRET is not set/),
    });
    expect(signal(p, 'postgres.server')?.status).toBe('ok');
    expect(aws.requests).toEqual([]);
  });
});
