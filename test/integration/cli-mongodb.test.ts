// The headless CLI (the built bin, as `npx logstag-agent` runs it) against the fake mongod.
import { mkdtempSync } from 'node:fs';
import { readStatements } from '../../agent/audit/reader.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadV1Schema, type PayloadV1 } from '../../collectors/core/payload.js';
import { CURRENT_OP_CANARIES } from '../fixtures/mongodb/current-ops.js';
import { ERRMSG_CANARY, type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { type Identity, LEAST, LOWPRIV, MONITOR, ROOT } from '../fixtures/mongodb/identities.js';
import { freePort } from '../harness/util.js';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';

let fake: FakeMongod;
beforeAll(async () => {
  fake = await startFakeMongod();
});
afterAll(async () => {
  await fake.stop();
});

function targetFor(who: Identity, extra: Record<string, unknown> = {}) {
  const file = jsonFile({
    id: `mongo-${who.user}`,
    engine: 'mongodb',
    name: 'Orders replica set',
    host: '127.0.0.1',
    port: fake.port,
    user: who.user,
    database: who.db,
    password: { env: 'LSA_MONGO_PASSWORD' },
    connectTimeoutMs: 3000,
    ...extra,
  });
  return { file, env: { LSA_MONGO_PASSWORD: who.password } };
}

async function collect(who: Identity, extra: Record<string, unknown> = {}, home?: string): Promise<{ payload: PayloadV1; stdout: string }> {
  const t = targetFor(who, extra);
  const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env, ...(home ? { home } : {}) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return { payload: PayloadV1Schema.parse(JSON.parse(r.stdout)), stdout: r.stdout };
}

describe('CLI against a MongoDB replica set member', () => {
  it('collect --once: a valid v1 payload; opted-in current operations redacted; every command in the audit ledger', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lsa-mongo-audit-'));
    const { payload, stdout } = await collect(LEAST, { mongodb: { currentOps: true } }, home);
    expect(payload.target).toEqual({ id: 'mongo-logstag', engine: 'mongodb', name: 'Orders replica set' });
    expect(payload.signals.every((s) => s.status === 'ok')).toBe(true);
    for (const canary of CURRENT_OP_CANARIES) expect(stdout).not.toContain(canary);
    const entries = readStatements(join(home, 'audit'));
    expect(entries.length).toBeGreaterThan(20);
    for (const e of entries) {
      expect(e.engine).toBe('mongodb');
      expect(e.outcome).toBe('ok');
      expect(e.statement).toMatch(
        /^(admin|local|shop|crm|config): \{"(hello|buildInfo|serverStatus|top|aggregate|replSetGetStatus|find|listDatabases|dbStats|listCollections|usersInfo|rolesInfo|getCmdLineOpts|getParameter|connectionStatus)"/,
      );
    }
  });

  it('a login with no roles: unavailable/permission with the fix, never a number; the server error text never printed', async () => {
    const { payload, stdout } = await collect(LOWPRIV);
    const s = payload.signals.find((x) => x.id === 'mongodb.server_status');
    expect(s).toMatchObject({ status: 'unavailable', reason: 'permission', fix: expect.stringContaining('grantRolesToUser("lowpriv"') });
    expect(s).not.toHaveProperty('value');
    expect(stdout).not.toContain(ERRMSG_CANARY);
  });

  it('check flags root as an administrator and passes the least-privileged identity', async () => {
    const root = targetFor(ROOT);
    const r = await runAgentCli(['check', '--target', root.file], { env: root.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Target mongo-root \(mongodb 127\.0\.0\.1:\d+\/admin\) as root@admin, server 7\.0\.14 \(mongod, replica set\)$/m);
    expect(r.stdout).toMatch(/^WARNING: root@admin is an administrator \(has the root role \(full control of the deployment\);/m);

    const least = targetFor(LEAST);
    const json = await runAgentCli(['check', '--target', least.file, '--json'], { env: least.env });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { identity: { isAdministrator: boolean }; items: Array<{ grant: string; status: string }> };
    expect(report.identity.isAdministrator).toBe(false);
    expect(report.items.find((i) => i.grant === 'inprog on the cluster')?.status).toBe('opt_in');
    expect(report.items.filter((i) => i.status === 'missing')).toEqual([]);
  });

  it('grants prints what clusterMonitor lacks as one reviewable mongosh script', async () => {
    const t = targetFor(MONITOR);
    const r = await runAgentCli(['grants', '--target', t.file], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(-3)).toEqual([
      'db.getSiblingDB("admin").getRole("logstagMonitor") ?? db.getSiblingDB("admin").createRole({ role: "logstagMonitor", privileges: [], roles: [] });',
      'db.getSiblingDB("admin").grantPrivilegesToRole("logstagMonitor", [{ resource: { db: "", collection: "" }, actions: ["listCollections", "viewRole"] }, { resource: { cluster: true }, actions: ["viewUser"] }]);',
      'db.getSiblingDB("admin").grantRolesToUser("monitor", [{ role: "logstagMonitor", db: "admin" }]);',
    ]);
  });

  it('grants for an identity that cannot log in yet prints the full dedicated-identity script', async () => {
    const t = targetFor(LEAST);
    const r = await runAgentCli(['grants', '--target', t.file], { env: { LSA_MONGO_PASSWORD: 'wrong' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: could not connect \(127\.0\.0\.1:\d+: authentication failed \(AuthenticationFailed\)\)/);
    expect(r.stdout).toContain('createUser({ user: "logstag_monitor", pwd: passwordPrompt(), roles: [{ role: "logstagMonitor", db: "admin" }] });');
  });

  it('a wrong password or a closed port exits 3 with one line; a bad MongoDB option exits 2 with one line', async () => {
    const wrong = targetFor(LEAST);
    const r1 = await runAgentCli(['collect', '--once', '--target', wrong.file], { env: { LSA_MONGO_PASSWORD: 'not-the-password' } });
    expect(r1.code).toBe(3);
    expect(isOneLineError(r1.stderr)).toBe(true);
    expect(r1.stderr).not.toContain('not-the-password');

    const closed = targetFor(LEAST, { port: await freePort(), connectTimeoutMs: 1000 });
    const r2 = await runAgentCli(['check', '--target', closed.file], { env: closed.env });
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/^error: 127\.0\.0\.1:\d+: unreachable \(ECONNREFUSED\)$/m);

    const bad = targetFor(LEAST, { mongodb: { currentOps: 'yes' } });
    const r3 = await runAgentCli(['collect', '--once', '--target', bad.file], { env: bad.env });
    expect(r3.code).toBe(2);
    expect(isOneLineError(r3.stderr)).toBe(true);
    expect(r3.stderr).toMatch(/mongodb\.currentOps: /);

    const prefer = targetFor(LEAST, { tls: { caFile: '/etc/ssl/ca.pem' } });
    const r4 = await runAgentCli(['check', '--target', prefer.file], { env: prefer.env });
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/tls\.mode: MongoDB has no opportunistic TLS/);
  });
});
