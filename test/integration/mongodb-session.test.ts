// The MongoDB session — the only door to the driver — against the fake mongod:
// what reaches the server, what never does, and how failures are reported.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Long } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { TargetConnectError } from '../../collectors/core/engine.js';
import { ReadOnlyViolation } from '../../collectors/core/read-only.js';
import { ALLOWED_COMMANDS } from '../../collectors/mongodb/guard.js';
import { MongoSession } from '../../collectors/mongodb/session.js';
import { CURRENT_OP_CANARIES } from '../fixtures/mongodb/current-ops.js';
import { ERRMSG_CANARY, type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { IDENTITIES, LEAST, LOWPRIV, ROOT } from '../fixtures/mongodb/identities.js';
import { error } from '../fixtures/mongodb/server-docs.js';
import { mongoTarget } from '../helpers/mongo.js';
import { DRIVER_PROTOCOL_COMMANDS, type ReceivedCommand } from '../helpers/mongo-wire.js';
import { agentOps } from '../helpers/pg.js';

const APP = 'logstag-agent/0.1.0';
const collected = (entries: AuditEntry[]) => ({ record: (e: AuditEntry) => void entries.push(e) });
const sentByAgent = (received: ReceivedCommand[]) => received.filter((c) => !DRIVER_PROTOCOL_COMMANDS.includes(c.name));

let fake: FakeMongod;
beforeAll(async () => {
  fake = await startFakeMongod({ agentAppName: APP });
});
afterAll(async () => {
  await fake.stop();
});

/** What a careless or compromised caller might try; the session must refuse each before the driver sees it. */
const FORBIDDEN: Array<[string, Record<string, unknown>]> = [
  ['shop', { insert: 'orders', documents: [{ total: 1 }] }],
  ['shop', { update: 'orders', updates: [{ q: {}, u: { $set: { total: 0 } }, multi: true }] }],
  ['shop', { delete: 'orders', deletes: [{ q: {}, limit: 0 }] }],
  ['shop', { findAndModify: 'orders', query: {}, remove: true }],
  ['shop', { drop: 'orders' }],
  ['shop', { dropDatabase: 1 }],
  ['shop', { createIndexes: 'orders', indexes: [{ key: { a: 1 }, name: 'a_1' }] }],
  ['shop', { profile: 2, slowms: 0 }],
  ['admin', { killOp: 1, op: 101 }],
  ['admin', { setParameter: 1, logLevel: 5 }],
  ['admin', { createUser: 'intruder', pwd: 'x', roles: ['root'] }],
  ['admin', { grantRolesToUser: 'logstag', roles: ['root'] }],
  ['admin', { shutdown: 1, force: true }],
  ['admin', { fsync: 1, lock: true }],
  ['admin', { replSetStepDown: 60 }],
  ['shop', { find: 'customers', filter: {} }],
  ['local', { find: 'oplog.rs', filter: {} }],
  ['shop', { aggregate: 'orders', pipeline: [{ $collStats: { storageStats: {} } }, { $out: 'stolen' }], cursor: {} }],
  ['shop', { aggregate: 'orders', pipeline: [{ $match: {} }, { $merge: { into: 'stolen' } }], cursor: {} }],
  ['admin', { usersInfo: { forAllDBs: true }, showCredentials: true }],
  ['shop', { killCursors: 'orders', cursors: [Long.fromNumber(77)] }],
];

describe('MongoDB session: read-only before anything is sent', () => {
  it('refuses every non-allowlisted command without sending it, and audits the refusal', async () => {
    const audit: AuditEntry[] = [];
    const session = await MongoSession.open(mongoTarget(fake.port, ROOT), ROOT.password, { audit: collected(audit), applicationName: APP });
    const before = fake.received.length;
    try {
      for (const [db, cmd] of FORBIDDEN) await expect(session.command(db, cmd), JSON.stringify(cmd)).rejects.toBeInstanceOf(ReadOnlyViolation);
      // The connection is still fine afterwards: a refusal is not an error on the wire.
      expect((await session.command('admin', { ping: 1 }))['ok']).toBe(1);
    } finally {
      await session.close();
    }
    const arrived = fake.received.slice(before);
    expect(arrived.map((c) => c.name).filter((n) => n !== 'endSessions')).toEqual(['ping']);
    const refusals = audit.filter((e) => e.outcome === 'refused');
    expect(refusals).toHaveLength(FORBIDDEN.length);
    for (const e of refusals) expect(e).toMatchObject({ engine: 'mongodb', targetId: 'mongo-root', code: 'read_only_guard' });
  });

  it('whole cycles for every identity send only allowlisted commands, each with maxTimeMS, the read preference and the appName', async () => {
    const server = await startFakeMongod({ agentAppName: APP });
    try {
      for (const who of IDENTITIES) {
        const { ops } = agentOps(who.password);
        const target = mongoTarget(server.port, who, { mongodb: { currentOps: true }, statementTimeoutMs: 4000 });
        await ops.collect(target);
        await ops.checkPermissions(target);
      }
      const agent = sentByAgent(server.received);
      expect(agent.length).toBeGreaterThan(IDENTITIES.length * 10);
      for (const c of agent) {
        expect(ALLOWED_COMMANDS, c.name).toContain(c.name);
        if (c.name !== 'hello') expect(c.doc['maxTimeMS'], c.name).toBe(4000);
        expect(c.doc['$readPreference']).toEqual({ mode: 'primaryPreferred' });
        expect(c.doc).not.toHaveProperty('txnNumber');
        if (c.name === 'aggregate')
          expect(Object.keys((c.doc['pipeline'] as Array<Record<string, unknown>>)[0]!)[0]).toMatch(/^\$(collStats|indexStats|currentOp)$/);
      }
      const handshakes = server.received.filter((c) => c.name === 'ismaster' || c.name === 'isMaster');
      expect(handshakes.length).toBeGreaterThan(0);
      for (const h of handshakes) expect(h.doc['client']).toMatchObject({ application: { name: APP } });
    } finally {
      await server.stop();
    }
  });

  it('a cursor the server leaves open is closed at once, and only that cursor', async () => {
    const id = Long.fromString('8123456789012');
    const server = await startFakeMongod({ openCursorId: id });
    try {
      const { ops } = agentOps(LEAST.password);
      const { payload } = await ops.collect(mongoTarget(server.port, LEAST));
      expect(payload.signals.find((s) => s.id === 'mongodb.collections')?.status).toBe('ok');
      const kills = server.received.filter((c) => c.name === 'killCursors');
      expect(kills.length).toBeGreaterThan(0);
      for (const k of kills) expect((k.doc['cursors'] as Long[]).map(String)).toEqual([id.toString()]);
    } finally {
      await server.stop();
    }
  });
});

describe('MongoDB session: sensitive values never leave', () => {
  it('opt-in current operations carry command shapes, never a raw value from a command document', async () => {
    const { ops, ledger } = agentOps(ROOT.password);
    // Opted in, and the policy lets current-operation documents leave redacted (its default excludes them).
    const { payload } = await ops.collect(mongoTarget(fake.port, ROOT, { mongodb: { currentOps: true }, policy: { current_ops: 'redact' } }));
    const signal = payload.signals.find((s) => s.id === 'mongodb.current_ops');
    expect(signal?.status).toBe('ok');
    const rows = (signal as { value: Array<Record<string, unknown>> }).value;
    // The agent's own $currentOp is not reported.
    expect(rows.map((r) => r['app_name'])).not.toContain(APP);
    expect(rows).toHaveLength(7);
    const text = JSON.stringify(payload);
    for (const canary of CURRENT_OP_CANARIES) expect(text, canary).not.toContain(canary);
    expect(ledgerFiles(ledger.dir)).not.toMatch(new RegExp(CURRENT_OP_CANARIES.join('|')));
    // The shape survives: keys and operators.
    expect(rows[0]).toMatchObject({ ns: 'shop.orders', command: { find: '?', filter: { email: '?', total: { $gt: '?' }, status: { $in: '?' } } } });
    expect(rows.find((r) => r['op'] === 'command' && r['ns'] === 'shop.orders')?.['command']).toMatchObject({
      pipeline: [{ $match: { region: '?', note: { $regex: '?' } } }, { $group: { _id: '?', n: { $sum: '?' } } }],
    });
    // With the default policy (current_ops: exclude) the operations are listed without their command documents.
    const byDefault = await ops.collect(mongoTarget(fake.port, ROOT, { mongodb: { currentOps: true } }));
    const plain = byDefault.payload.signals.find((s) => s.id === 'mongodb.current_ops') as { value: Array<Record<string, unknown>> };
    expect(plain.value.length).toBe(7);
    for (const r of plain.value) expect(r).not.toHaveProperty('command');
  });

  it("the server's error text (which echoes the command) never reaches the payload or the audit ledger", async () => {
    const { ops, ledger } = agentOps(LOWPRIV.password);
    const { payload } = await ops.collect(mongoTarget(fake.port, LOWPRIV, { mongodb: { currentOps: true } }));
    expect(payload.signals.filter((s) => s.status === 'unavailable').length).toBeGreaterThan(10);
    expect(JSON.stringify(payload)).not.toContain(ERRMSG_CANARY);
    expect(JSON.stringify(payload)).not.toContain('not authorized on');
    // Every file of the ledger: live records and statement texts.
    const ledgerText = ledgerFiles(ledger.dir);
    expect(ledgerText).not.toContain(ERRMSG_CANARY);
    expect(ledgerText).toContain('"code":"Unauthorized"');
  });
});

/** The text of every file in the ledger's folder (live records, statement texts). */
function ledgerFiles(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('MongoDB session: failures', () => {
  it('a wrong password is an authentication failure (exit 3), and the message holds no secret', async () => {
    const { ops } = agentOps('not-the-password');
    const err = await ops.testConnection(mongoTarget(fake.port, LEAST)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetConnectError);
    expect(err).toMatchObject({ kind: 'authentication' });
    expect((err as Error).message).toBe(`127.0.0.1:${fake.port}: authentication failed (AuthenticationFailed)`);
  });

  it('a closed port is unreachable; an unknown host name too', async () => {
    const { ops } = agentOps('x');
    const closed = await startFakeMongod();
    const port = closed.port;
    await closed.stop();
    await expect(ops.testConnection(mongoTarget(port, LEAST))).rejects.toMatchObject({
      kind: 'unreachable',
      message: `127.0.0.1:${port}: unreachable (ECONNREFUSED)`,
    });
    await expect(ops.testConnection(mongoTarget(port, LEAST, { host: 'no-such-host.invalid' }))).rejects.toMatchObject({ kind: 'unreachable' });
  });

  it('a host that is not a host name is refused before anything is resolved', () => {
    // Refused when the target is validated (collectors/core/host.ts), so no driver or resolver ever sees it.
    expect(() => mongoTarget(fake.port, LEAST, { host: 'evil@127.0.0.1/?tls=false' })).toThrow(/host/);
  });

  it('server-side errors map to their reasons: maxTimeMS, hosting-service refusals, node state', async () => {
    const server = await startFakeMongod({
      failWith: (c) =>
        c.name === 'serverStatus'
          ? error(50, 'MaxTimeMSExpired', 'operation exceeded time limit')
          : c.name === 'getCmdLineOpts'
            ? error(8000, 'AtlasError', 'getCmdLineOpts is not allowed in this atlas tier')
            : c.name === 'top'
              ? error(11600, 'InterruptedAtShutdown', 'interrupted at shutdown')
              : undefined,
    });
    try {
      const { ops } = agentOps(LEAST.password);
      const { payload } = await ops.collect(mongoTarget(server.port, LEAST));
      const by = (id: string) => payload.signals.find((s) => s.id === id);
      expect(by('mongodb.server_status')).toMatchObject({
        status: 'unavailable',
        reason: 'timeout',
        detail: 'the server stopped serverStatus on admin at maxTimeMS',
      });
      expect(by('mongodb.locks')).toMatchObject({ status: 'unavailable', reason: 'timeout' });
      expect(by('mongodb.security')).toMatchObject({
        status: 'unavailable',
        reason: 'unsupported',
        detail: 'the hosting service does not allow getCmdLineOpts on admin (AtlasError (8000))',
      });
      expect(by('mongodb.top')).toMatchObject({ status: 'unavailable', reason: 'error', detail: expect.stringContaining('InterruptedAtShutdown (11600)') });
      expect(by('mongodb.replication')?.status).toBe('ok');
      expect(JSON.stringify(payload)).not.toMatch(/atlas tier|exceeded time limit|interrupted at shutdown/);
    } finally {
      await server.stop();
    }
  });

  it('a server that stops answering one command: that signal times out, the rest of the cycle is read', async () => {
    const slow = await startFakeMongod({ delayMs: (c) => (c.name === 'serverStatus' ? 2500 : 0) });
    try {
      const { ops } = agentOps(LEAST.password);
      const started = Date.now();
      const { payload } = await ops.collect(mongoTarget(slow.port, LEAST, { statementTimeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(payload.signals.find((s) => s.id === 'mongodb.server_status')).toMatchObject({ status: 'unavailable', reason: 'timeout' });
      expect(payload.signals.find((s) => s.id === 'mongodb.users')?.status).toBe('ok');
    } finally {
      await slow.stop();
    }
  });
});
