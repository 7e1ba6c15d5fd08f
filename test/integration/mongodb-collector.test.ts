// The MongoDB collector through the real `mongodb` driver against the fake mongod
// (test/fixtures/mongodb): no MongoDB server can be installed on these machines.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { mongodbCatalog } from '../../collectors/mongodb/catalog.js';
import { GRANT_IDS, signalsOfGrant } from '../../collectors/mongodb/grants.js';
import { type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { type Identity, LEAST, LOWPRIV, MONITOR, ROOT } from '../fixtures/mongodb/identities.js';
import { expectChecklistMatchesPayload, mongoTarget } from '../helpers/mongo.js';
import { agentOps } from '../helpers/pg.js';

let fake: FakeMongod;
beforeAll(async () => {
  fake = await startFakeMongod();
});
afterAll(async () => {
  await fake.stop();
});

async function cycle(who: Identity, extra: Record<string, unknown> = { mongodb: { currentOps: true } }, server: FakeMongod = fake) {
  const { ops, ledger } = agentOps(who.password);
  const target = mongoTarget(server.port, who, extra);
  const result = await ops.collect(target);
  expect(result.connectError).toBeUndefined();
  const report = await ops.checkPermissions(target);
  return { payload: result.payload, report, ledger, target };
}

const statuses = (p: PayloadV1) => Object.fromEntries(p.signals.map((s) => [s.id, s.status === 'ok' ? 'ok' : s.reason]));
const value = <T>(p: PayloadV1, id: string): T => {
  const s = p.signals.find((x) => x.id === id);
  if (s?.status !== 'ok') throw new Error(`${id} is not ok: ${JSON.stringify(s)}`);
  return s.value as T;
};
const ALL_IDS = mongodbCatalog.map((s) => s.id);

describe('MongoDB catalog', () => {
  it('the session is the only door to the driver: no other collector module imports mongodb', () => {
    const root = join(import.meta.dirname, '../../collectors');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const importers = files.filter((f) => /from 'mongodb'/.test(readFileSync(join(root, f), 'utf8')));
    expect(importers).toEqual([join('mongodb', 'session.ts')]);
  });

  it('every field of every signal carries a category decision; ids are unique; every requirement is a known grant', () => {
    for (const spec of mongodbCatalog) {
      expect(spec.id).toMatch(/^mongodb\.[a-z_]+$/);
      expect(Object.keys(spec.fields).length, spec.id).toBeGreaterThan(0);
      for (const g of spec.requires) expect(GRANT_IDS, `${spec.id} requires ${g}`).toContain(g);
    }
    expect(new Set(ALL_IDS).size).toBe(ALL_IDS.length);
    expect(new Set(mongodbCatalog.map((s) => s.family))).toEqual(
      new Set(['server_stats', 'activity', 'query_stats', 'waits_locks', 'replication', 'schema', 'security_posture', 'config']),
    );
    // Every grant is needed by at least one signal (no dead checklist item).
    for (const id of GRANT_IDS) expect(signalsOfGrant(id).length, id).toBeGreaterThan(0);
    const currentOps = mongodbCatalog.find((s) => s.id === 'mongodb.current_ops')!;
    expect(currentOps.optIn).toBe('operator');
    expect(currentOps.fields).toMatchObject({ command: 'current_ops', originating_command: 'current_ops' });
  });
});

describe('MongoDB collector against a replica set primary (7.0), four identities', () => {
  it('a login with no roles: every privileged signal is unavailable/permission with the exact fix, never 0 or empty', async () => {
    const { payload, report } = await cycle(LOWPRIV);
    const st = statuses(payload);
    expect(st['mongodb.server']).toBe('ok');
    for (const id of ALL_IDS.filter((i) => i !== 'mongodb.server')) expect(st[id], id).toBe('permission');
    for (const s of payload.signals.filter((x) => x.status === 'unavailable')) {
      expect(s).not.toHaveProperty('value');
      const fix = (s as { fix?: string }).fix ?? '';
      expect(fix, s.id).toContain('grantPrivilegesToRole("logstagMonitor"');
      expect(fix, s.id).toContain('db.getSiblingDB("admin").grantRolesToUser("lowpriv", [{ role: "logstagMonitor", db: "admin" }]);');
      expect(fix).not.toMatch(/readAnyDatabase|readWrite/);
      // The only find the agent ever asks for is on the oplog (for its timestamps).
      if (fix.includes('"find"')) expect(fix).toContain('{ resource: { db: "local", collection: "oplog.rs" }, actions: ["find", "collStats"] }');
    }
    expect(payload.signals.find((s) => s.id === 'mongodb.server_status')).toMatchObject({ detail: expect.stringContaining('serverStatus on the cluster') });
    expect(report.identity).toMatchObject({ user: 'lowpriv@admin', isAdministrator: false, reasons: [] });
    expect(report.identity.serverVersion).toBe('7.0.14 (mongod, replica set)');
    expect(report.items.filter((i) => i.status === 'missing')).toHaveLength(GRANT_IDS.length);
    expect(report.items.find((i) => i.grant === 'inprog on the cluster')?.status).toBe('missing');
    expectChecklistMatchesPayload(report, payload);
    expect(report.script).toContain('db.getSiblingDB("admin").grantRolesToUser("lowpriv"');
  });

  it('the least-privileged custom role: every signal readable, nothing missing, not an administrator', async () => {
    const { payload, report } = await cycle(LEAST);
    expect(Object.entries(statuses(payload)).filter(([, s]) => s !== 'ok')).toEqual([]);
    expect(report.identity).toMatchObject({ user: 'logstag@admin', isAdministrator: false, reasons: [] });
    expect(report.items.map((i) => i.status)).toEqual(GRANT_IDS.map(() => 'granted'));
    expect(report.script).toContain('// Nothing is missing: every enabled signal is readable.');

    // Values, not just statuses.
    expect(value(payload, 'mongodb.server')).toMatchObject({
      version: '7.0.14',
      process: 'mongod',
      topology: 'replica_set',
      set_name: 'rs0',
      max_wire_version: 21,
    });
    expect(value(payload, 'mongodb.server_status')).toMatchObject({
      connections: { current: 42, available: 51158 },
      opcounters: { query: 450000 },
      wiredtiger_cache: { max_bytes: 4294967296 },
    });
    expect(value(payload, 'mongodb.locks')).toMatchObject({ queue: { total: 2 }, tickets: { source: 'queues.execution', read: { available: 125 } } });
    const repl = value<{ members: Array<{ name: string; lag_seconds: number | null }>; max_lag_seconds: number }>(payload, 'mongodb.replication');
    expect(repl.max_lag_seconds).toBe(12);
    expect(repl.members.map((m) => m.lag_seconds)).toEqual([0, 12, 0]);
    const oplog = value<{ window_seconds: number; max_size_bytes: number }>(payload, 'mongodb.oplog');
    expect(oplog.window_seconds).toBeGreaterThan(49 * 3600);
    expect(oplog.max_size_bytes).toBe(2147483648);
    const colls = value<Array<{ db: string; collection: string; type: string }>>(payload, 'mongodb.collections');
    // Views and system collections are not collections to size; internal databases are skipped.
    expect(colls.map((c) => `${c.db}.${c.collection}:${c.type}`)).toEqual([
      'crm.contacts:collection',
      'shop.customers:collection',
      'shop.metrics:timeseries',
      'shop.orders:collection',
      'shop.sessions:collection',
    ]);
    const indexes = value<Array<{ name: string; partial: boolean; ttl_seconds: number | null; unique: boolean; ops: number }>>(payload, 'mongodb.indexes');
    expect(indexes.find((i) => i.name === 'status_1')).toMatchObject({ partial: true });
    expect(indexes.find((i) => i.name === 'lastSeen_1')).toMatchObject({ ttl_seconds: 3600 });
    expect(indexes.find((i) => i.name === 'email_1')).toMatchObject({ unique: true, ops: 40000 });
    expect(value<Array<{ user: string }>>(payload, 'mongodb.users').map((u) => u.user)).toEqual(['logstag', 'lowpriv', 'monitor', 'root']);
    expect(value<Array<{ role: string }>>(payload, 'mongodb.roles').map((r) => r.role)).toEqual(['logstagMonitor', 'reportsReader']);
    expect(value(payload, 'mongodb.security')).toMatchObject({
      authorization: 'enabled',
      tls_mode: 'requireTLS',
      bind_ip: '10.0.0.5,127.0.0.1',
      javascript_enabled: false,
      agent_connection_tls: false,
    });
    expect(value<Array<{ name: string }>>(payload, 'mongodb.config').map((c) => c.name)).toContain('storage.wiredTiger.engineConfig.cacheSizeGB');

    // Never read out: partial-filter values, unvetted parameters, argv, custom data.
    const text = JSON.stringify(payload);
    for (const canary of ['canary-partial-filter', 'canary-param-secret', 'canary-argv-secret', 'canary-customdata']) expect(text).not.toContain(canary);
  });

  it('the same role without the operator opt-in: current operations stay disabled and are never asked for', async () => {
    const before = fake.received.length;
    const { payload, report } = await cycle(LEAST, {});
    expect(payload.signals.find((s) => s.id === 'mongodb.current_ops')).toMatchObject({ status: 'unavailable', reason: 'disabled' });
    expect(report.items.find((i) => i.grant === 'inprog on the cluster')).toMatchObject({
      status: 'opt_in',
      detail: expect.stringContaining('"currentOps": true'),
    });
    const currentOpSent = fake.received.slice(before).some((c) => c.name === 'aggregate' && JSON.stringify(c.doc['pipeline']).includes('$currentOp'));
    expect(currentOpSent).toBe(false);
  });

  it('clusterMonitor: collections, indexes, users and roles need the custom role; everything else is readable', async () => {
    const { payload, report } = await cycle(MONITOR);
    const notOk = Object.entries(statuses(payload)).filter(([, s]) => s !== 'ok');
    expect(notOk).toEqual([
      ['mongodb.collections', 'permission'],
      ['mongodb.indexes', 'permission'],
      ['mongodb.users', 'permission'],
      ['mongodb.roles', 'permission'],
    ]);
    expect(report.identity).toMatchObject({ user: 'monitor@admin', isAdministrator: false });
    expect(report.items.filter((i) => i.status === 'missing').map((i) => i.grant)).toEqual([
      'listCollections on every database',
      'viewUser on the cluster',
      'viewRole on every database',
    ]);
    expectChecklistMatchesPayload(report, payload);
    expect(report.script).toContain('{ resource: { db: "", collection: "" }, actions: ["listCollections", "viewRole"] }');
    expect(report.script).toContain('{ resource: { cluster: true }, actions: ["viewUser"] }');
    expect(report.script).not.toContain('readAnyDatabase');
  });

  it('root: every signal readable, flagged as administrator, and given the dedicated least-privileged identity script', async () => {
    const { payload, report } = await cycle(ROOT);
    expect(Object.values(statuses(payload)).every((s) => s === 'ok')).toBe(true);
    expect(report.identity.isAdministrator).toBe(true);
    expect(report.identity.reasons).toContain('has the root role (full control of the deployment)');
    expect(report.identity.reasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/^may write data \(insert, update, remove\)/), expect.stringMatching(/^may manage users and roles/)]),
    );
    expect(report.script).toMatch(/db\.getSiblingDB\("admin"\)\.createRole\(\{\n {2}role: "logstagMonitor",/);
    expect(report.script).toContain(
      'db.getSiblingDB("admin").createUser({ user: "logstag_monitor", pwd: passwordPrompt(), roles: [{ role: "logstagMonitor", db: "admin" }] });',
    );
    expect(report.script).not.toMatch(/readAnyDatabase|readWrite|dbOwner|"insert"|"update"|"remove"/);
  });

  it('the dedicated-identity script creates exactly the privileges of the least-privileged fixture role', async () => {
    type Priv = { resource: Record<string, unknown>; actions: string[] };
    const rolePrivileges = (script: string): Priv[] =>
      (/privileges: \[\n([\s\S]*?)\n {2}\],/.exec(script)?.[1] ?? '')
        .split('\n')
        .map((l) =>
          l
            .replace(/\/\/.*$/, '')
            .trim()
            .replace(/,$/, ''),
        )
        .map((l) => Function(`"use strict"; return (${l});`)() as Priv);
    const norm = (ps: Priv[]) => ps.map((p) => `${JSON.stringify(p.resource)}:${[...p.actions].sort().join(',')}`).sort();
    const { ops } = agentOps(ROOT.password);
    const optedIn = await ops.checkPermissions(mongoTarget(fake.port, ROOT, { mongodb: { currentOps: true } }));
    expect(norm(rolePrivileges(optedIn.script))).toEqual(norm(LEAST.privileges as Priv[]));
    expect(optedIn.script).toContain('// find on local.oplog.rs could read oplog entries');
    // Without the opt-in, inprog is left out and the script says how to add it.
    const plain = await ops.checkPermissions(mongoTarget(fake.port, ROOT));
    const withoutInprog = (LEAST.privileges as Priv[]).map((p) => ({ ...p, actions: p.actions.filter((a) => a !== 'inprog') }));
    expect(norm(rolePrivileges(plain.script))).toEqual(norm(withoutInprog));
    expect(plain.script).toContain('after setting "mongodb": { "currentOps": true } on the target, also run');
  });
});

describe('MongoDB topologies and versions', () => {
  it('a standalone: replication and oplog are not enabled (and not asked for), the checklist says not applicable', async () => {
    const standalone = await startFakeMongod({ deployment: { topology: 'standalone' } });
    try {
      const { payload, report } = await cycle(LEAST, { mongodb: { currentOps: true } }, standalone);
      expect(statuses(payload)).toMatchObject({
        'mongodb.replication': 'not_enabled',
        'mongodb.oplog': 'not_enabled',
        'mongodb.server_status': 'ok',
        'mongodb.collections': 'ok',
      });
      expect(value(payload, 'mongodb.server')).toMatchObject({ topology: 'standalone', set_name: null });
      expect(standalone.received.some((c) => c.name === 'replSetGetStatus' || (c.db === 'local' && c.name === 'find'))).toBe(false);
      const na = report.items.filter((i) => i.status === 'not_applicable').map((i) => i.grant);
      expect(na).toEqual(['replSetGetStatus on the cluster', 'find, collStats on local.oplog.rs']);
    } finally {
      await standalone.stop();
    }
  });

  it('a mongos: per-shard collection rows; replica set state and top are unsupported there, with the way out', async () => {
    const mongos = await startFakeMongod({ deployment: { topology: 'sharded' } });
    try {
      const { payload, report } = await cycle(LEAST, { mongodb: { currentOps: true } }, mongos);
      const st = statuses(payload);
      expect(st).toMatchObject({
        'mongodb.replication': 'unsupported',
        'mongodb.oplog': 'unsupported',
        'mongodb.top': 'unsupported',
        'mongodb.collections': 'ok',
        'mongodb.server_status': 'ok',
      });
      expect(payload.signals.find((s) => s.id === 'mongodb.replication')).toMatchObject({
        detail: expect.stringContaining('add the members of each shard as targets'),
      });
      expect(value(payload, 'mongodb.server')).toMatchObject({ process: 'mongos', topology: 'sharded' });
      const orders = value<Array<{ collection: string; shard: string }>>(payload, 'mongodb.collections').filter((c) => c.collection === 'orders');
      expect(orders.map((c) => c.shard)).toEqual(['shardA', 'shardB']);
      expect(value(payload, 'mongodb.server_status')).toMatchObject({ opcounters_repl: null, wiredtiger_cache: null });
      expect(report.items.filter((i) => i.status === 'not_applicable')).toHaveLength(3);
    } finally {
      await mongos.stop();
    }
  });

  it.each([
    ['5.0.26', 13, 'wiredTiger.concurrentTransactions'],
    ['6.0.15', 17, 'wiredTiger.concurrentTransactions'],
    ['8.0.4', 25, 'queues.execution'],
  ])('MongoDB %s: tickets are read where that version reports them', async (version, wire, source) => {
    const server = await startFakeMongod({ deployment: { version } });
    try {
      const { payload } = await cycle(LEAST, {}, server);
      expect(value(payload, 'mongodb.server')).toMatchObject({ version, max_wire_version: wire });
      expect(value(payload, 'mongodb.locks')).toMatchObject({ tickets: { source, write: { out: 1, available: 127, total: 128 } } });
    } finally {
      await server.stop();
    }
  });

  it('a server without access control, reached without credentials: the connection is flagged as an administrator', async () => {
    const open = await startFakeMongod({ auth: false });
    try {
      const { ops } = agentOps('unused');
      const target = mongoTarget(open.port, LOWPRIV, { password: undefined });
      const report = await ops.checkPermissions(target);
      expect(report.identity).toMatchObject({ user: '(not authenticated)', isAdministrator: true });
      expect(report.identity.reasons[0]).toMatch(/does not enforce access control/);
      expect(report.items.filter((i) => i.status === 'missing')).toEqual([]);
      expect(report.script).toContain('createUser({ user: "logstag_monitor", pwd: passwordPrompt()');
    } finally {
      await open.stop();
    }
  });
});
