// Sessions that live across cycles, attacked: every reuse re-verifies the
// session with the server's own answer, and a session the agent can no longer
// trust (flipped behind its back, killed, abandoned, reconfigured) is closed and
// replaced in the same cycle, so no cycle is lost and nothing runs on it.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AgentAuditSink, AuditEntry } from '../../collectors/core/audit.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { type PoolEvent, SessionPool } from '../../agent/run/session-pool.js';
import { RunLoop } from '../../agent/run/run-loop.js';
import { PG_OPEN_SQL } from '../../collectors/postgres/session.js';
import { TargetSchema, type Target } from '../../collectors/target.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { pgTarget, superClient } from '../helpers/pg.js';
import { startPostgres } from '../harness/postgres.js';

const pgInfo = inject('pg');
const redisInfo = inject('redis');

/** A version of our own: the application_name tells this file's sessions from every other test's. */
const version = `0.1.0-pool.${randomBytes(4).toString('hex')}`;
const appName = `logstag-agent/${version}`;

class MemoryAudit implements AgentAuditSink {
  readonly entries: AuditEntry[] = [];
  record(e: AuditEntry): void {
    this.entries.push(e);
  }
  recordPolicyChange(): void {}
}

function opsWith(env: Record<string, string>): { ops: TargetOperations; audit: MemoryAudit } {
  const audit = new MemoryAudit();
  const ops = new TargetOperations(
    { id: 'pool-test', version, host: 'test' },
    audit,
    () => {
      throw new Error('no vault in this test');
    },
    env,
  );
  return { ops, audit };
}

const okSignals = (r: CycleResult): number => r.payload.signals.filter((s) => s.status === 'ok').length;

let admin: pg.Client;
beforeAll(async () => {
  admin = await superClient(pgInfo);
});
afterAll(async () => {
  await admin.end();
});

/** The agent's backends on the server, by its own view. */
async function agentBackends(su: pg.Client = admin): Promise<number[]> {
  const r = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [appName]);
  return r.rows.map((x) => x.pid);
}

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const monitor = (extra: Record<string, unknown> = {}): Target =>
  pgTarget(pgInfo, pgInfo.users.monitor.user, { id: `pool-${randomBytes(3).toString('hex')}`, ...extra });

describe('session pool: PostgreSQL', () => {
  it("the pg_read_all_stats check rides on each cycle's first statement: a grant revoked between two cycles of one backend is seen at once", async () => {
    const role = `pool_vis_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.query(`GRANT pg_monitor TO ${role}`);
    try {
      const { ops, audit } = opsWith({ PW: password });
      const pool = new SessionPool();
      const target = pgTarget(pgInfo, role, { id: `pool-vis-${randomBytes(3).toString('hex')}` });
      const activity = (r: CycleResult) => r.payload.signals.find((s) => s.id === 'postgres.activity');
      const first = await ops.collect(target, { sessions: pool.lease() });
      expect(activity(first)).toMatchObject({ status: 'ok' });
      await admin.query(`REVOKE pg_monitor FROM ${role}`);
      const second = await ops.collect(target, { sessions: pool.lease() });
      // The same backend, re-verified: its new transaction's first statement says the role no longer sees other users.
      expect(pool.stats()).toMatchObject({ opened: 1, reused: 1 });
      expect(activity(second)).toMatchObject({ status: 'unavailable', reason: 'permission' });
      // No round trip of its own per signal: the answer came with the verification.
      expect(audit.entries.filter((e) => e.statement.includes("pg_has_role(current_user, 'pg_read_all_stats'")).map((e) => e.statement)).toEqual([
        PG_OPEN_SQL,
        PG_OPEN_SQL,
      ]);
      await pool.closeAll();
    } finally {
      await admin.query(`DROP ROLE ${role}`).catch(() => {});
    }
  });

  it('a reused backend runs each statement by the name it was prepared under: nothing is parsed and planned twice', async () => {
    const proxy = await startInjectingProxy(pgInfo.port);
    try {
      const { ops, audit } = opsWith({ PW: pgInfo.users.monitor.password });
      const pool = new SessionPool();
      const target = monitor({ host: '127.0.0.1', port: proxy.port });
      const first = await ops.collect(target, { sessions: pool.lease() });
      const wire = proxy.connections[0]!;
      const parsed1 = wire.parses();
      const bound1 = wire.binds().length;
      const second = await ops.collect(target, { sessions: pool.lease() });
      expect(pool.stats()).toMatchObject({ opened: 1, reused: 1 });
      expect(okSignals(second)).toBe(okSignals(first));
      // Cycle 1 parsed every statement once; cycle 2 ran its statements (the verification included) without a Parse.
      expect(new Set(parsed1).size).toBe(parsed1.length);
      const ran2 = wire.binds().slice(bound1);
      expect(ran2.length).toBeGreaterThan(5);
      expect(ran2).toContain(PG_OPEN_SQL);
      expect(wire.parses().slice(parsed1.length)).toEqual([]);
      // What ran on the wire is what the ledger recorded (on one line), in order.
      expect(ran2.map((t) => t.replace(/\s+/g, ' ').trim())).toEqual(audit.entries.slice(-ran2.length).map((e) => e.statement));
      await pool.closeAll();
    } finally {
      await proxy.stop();
    }
  });

  it('one backend serves three cycles, each collected in full and in a transaction of its own', async () => {
    const { ops, audit } = opsWith({ PW: pgInfo.users.monitor.password });
    const pool = new SessionPool();
    const target = monitor();
    const pids: number[][] = [];
    const results: CycleResult[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(await ops.collect(target, { sessions: pool.lease() }));
      pids.push(await agentBackends());
    }
    expect(pids[0]).toHaveLength(1);
    expect(pids[1]).toEqual(pids[0]);
    expect(pids[2]).toEqual(pids[0]);
    expect(pool.stats()).toMatchObject({ opened: 1, reused: 2, idle: 1, inUse: 0 });
    const ok = okSignals(results[0]!);
    expect(ok).toBeGreaterThan(5);
    for (const r of results) expect(okSignals(r)).toBe(ok);
    // Every cycle verified its own read-only transaction and ended it: between cycles the session holds none.
    const texts = audit.entries.map((e) => e.statement);
    expect(texts.filter((t) => t === PG_OPEN_SQL)).toHaveLength(3);
    expect(texts.filter((t) => t === 'BEGIN TRANSACTION READ ONLY')).toHaveLength(3);
    expect(texts.filter((t) => t === 'ROLLBACK')).toHaveLength(3);
    const state = await admin.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pids[0]![0]]);
    expect(state.rows[0]?.state).toBe('idle');
    await pool.closeAll();
    await waitFor(async () => (await agentBackends()).length === 0);
  });

  it('a pooler that turns read-only off between cycles: the session is dropped unused and a verified one collects', async () => {
    // A server of its own: the injected SET is logged under the agent's application_name, and the
    // shared server's log is the witness other tests read for "the agent sent only reads".
    const own = await startPostgres();
    const su = await superClient(own);
    const proxy = await startInjectingProxy(own.port);
    try {
      const { ops, audit } = opsWith({ PW: own.users.monitor.password });
      const events: PoolEvent[] = [];
      const pool = new SessionPool({ onEvent: (e) => events.push(e) });
      const target = pgTarget(own, own.users.monitor.user, { id: `pool-${randomBytes(3).toString('hex')}`, host: '127.0.0.1', port: proxy.port });
      const first = await ops.collect(target, { sessions: pool.lease() });
      const [pid1] = await agentBackends(su);
      expect(proxy.connections).toHaveLength(1);
      // Behind the agent's back, on its idle backend; the answer (and the ParameterStatus
      // PostgreSQL 14+ reports) never reaches the agent.
      await proxy.connections[0]!.inject('SET default_transaction_read_only = off');
      const flipped = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = $1', [pid1]);
      expect(flipped.rows).toHaveLength(1);
      const cut = audit.entries.length;
      const second = await ops.collect(target, { sessions: pool.lease() });
      // The same cycle collected in full on a new, verified session: nothing lost.
      expect(second.connectError).toBeUndefined();
      expect(okSignals(second)).toBe(okSignals(first));
      expect(events.filter((e) => e.kind === 'closed').map((e) => (e as { reason: string }).reason)).toEqual(['verify_failed']);
      const [pid2] = await agentBackends(su);
      expect(pid2).not.toBe(pid1);
      // The ledger of cycle 2: the old session sent only its verification, was refused, then the new one began.
      const cycle2 = audit.entries.slice(cut).map((e) => (e.code === 'read_only_lost' ? 'LOST' : e.statement));
      expect(cycle2.slice(0, 5)).toEqual(['BEGIN TRANSACTION READ ONLY', PG_OPEN_SQL, 'LOST', 'BEGIN TRANSACTION READ ONLY', PG_OPEN_SQL]);
      // And on the wire: after the flip, the old connection carried the verification and nothing else.
      expect(proxy.connections[0]!.queriesAfterInjection()).toEqual(['BEGIN TRANSACTION READ ONLY', PG_OPEN_SQL]);
      expect(proxy.connections).toHaveLength(2);
      await pool.closeAll();
    } finally {
      await proxy.stop();
      await su.end();
      await own.stop();
    }
  });

  it('a backend terminated between cycles: the next cycle reconnects and collects in full', async () => {
    const { ops } = opsWith({ PW: pgInfo.users.monitor.password });
    const events: PoolEvent[] = [];
    const pool = new SessionPool({ onEvent: (e) => events.push(e) });
    const target = monitor();
    const first = await ops.collect(target, { sessions: pool.lease() });
    const [pid1] = await agentBackends();
    await admin.query('SELECT pg_terminate_backend($1)', [pid1]);
    await waitFor(async () => (await agentBackends()).length === 0);
    const second = await ops.collect(target, { sessions: pool.lease() });
    expect(second.connectError).toBeUndefined();
    expect(okSignals(second)).toBe(okSignals(first));
    const pids = await agentBackends();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(pid1);
    expect(events.some((e) => e.kind === 'closed' && (e.reason === 'verify_failed' || e.reason === 'dropped'))).toBe(true);
    await pool.closeAll();
  });

  it('closes a session idle longer than the limit', async () => {
    const { ops } = opsWith({ PW: pgInfo.users.monitor.password });
    const pool = new SessionPool({ idleMs: 200 });
    await ops.collect(monitor(), { sessions: pool.lease() });
    expect(await agentBackends()).toHaveLength(1);
    await waitFor(async () => (await agentBackends()).length === 0, 3000);
    expect(pool.stats()).toMatchObject({ open: 0, closed: { idle: 1 } });
    await pool.closeAll();
  });

  it('a changed target (another timeout, another password) gets a new session; the old one is closed', async () => {
    const { ops } = opsWith({ PW: pgInfo.users.monitor.password });
    const pool = new SessionPool();
    const target = monitor();
    await ops.collect(target, { sessions: pool.lease() });
    const [pid1] = await agentBackends();
    await ops.collect({ ...target, statementTimeoutMs: target.statementTimeoutMs + 1000 }, { sessions: pool.lease() });
    await waitFor(async () => {
      const pids = await agentBackends();
      return pids.length === 1 && pids[0] !== pid1;
    });
    expect(pool.stats().closed).toEqual({ config_changed: 1 });
    await pool.closeAll();
  });

  it('a cycle abandoned midway (its timeout) does not leave its session for the next cycle', async () => {
    const { ops } = opsWith({ PW: pgInfo.users.monitor.password });
    const pool = new SessionPool();
    const abandon = new AbortController();
    await ops.collect(monitor(), {
      sessions: pool.lease(abandon.signal),
      onProgress: (done) => {
        if (done === 2) abandon.abort(new Error('cycle timeout'));
      },
    });
    expect(pool.stats()).toMatchObject({ open: 0, closed: { abandoned: 1 } });
    await waitFor(async () => (await agentBackends()).length === 0);
    await pool.closeAll();
  });

  it('the run loop closes every pooled session on stop: the server sees none left', async () => {
    const { ops } = opsWith({ PW: pgInfo.users.monitor.password });
    const seen = new Set<string>();
    const loop = new RunLoop({ ops, deliver: async () => ({}), policy: () => undefined });
    loop.on('cycle', (r) => seen.add(r.id));
    const targets = [monitor(), monitor(), monitor()];
    loop.plan(targets.map((target) => ({ target, intervalSeconds: 3600 })));
    await waitFor(async () => seen.size === 3, 15_000);
    expect(await agentBackends()).toHaveLength(3);
    expect(loop.sessions?.stats()).toMatchObject({ idle: 3 });
    await loop.stop(3000);
    await waitFor(async () => (await agentBackends()).length === 0);
  });
});

describe('session pool: Redis', () => {
  const target = (): Target =>
    TargetSchema.parse({
      id: `pool-redis-${randomBytes(3).toString('hex')}`,
      engine: 'redis',
      host: redisInfo.host,
      port: redisInfo.port,
      user: redisInfo.users.monitor.user,
      password: { env: 'PW' },
    });
  // Test setup only, on a raw socket: the agent's read-only guard sits inside every ioredis client of this process.
  const redisAdmin = { call: (...args: string[]) => rawRedis(['AUTH', redisInfo.users.admin.user, redisInfo.users.admin.password], args) };
  const agentClients = async (): Promise<string[]> =>
    String(await redisAdmin.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((l) => l.includes(` name=${appName} `))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);

  it('one connection serves three cycles; a killed one is replaced in the next cycle', async () => {
    const { ops, audit } = opsWith({ PW: redisInfo.users.monitor.password });
    const pool = new SessionPool();
    const t = target();
    const results: CycleResult[] = [];
    const ids: string[][] = [];
    for (let i = 0; i < 3; i++) {
      results.push(await ops.collect(t, { sessions: pool.lease() }));
      ids.push(await agentClients());
    }
    expect(ids[0]).toHaveLength(1);
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
    for (const r of results) expect(okSignals(r)).toBe(okSignals(results[0]!));
    // Each reuse starts with a PING through the guard and the ledger; each cycle read INFO afresh.
    expect(audit.entries.filter((e) => /^PING/i.test(e.statement))).toHaveLength(3);
    await redisAdmin.call('CLIENT', 'KILL', 'ID', ids[0]![0]!);
    const after = await ops.collect(t, { sessions: pool.lease() });
    expect(after.connectError).toBeUndefined();
    expect(okSignals(after)).toBe(okSignals(results[0]!));
    const now = await agentClients();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(ids[0]![0]);
    await pool.closeAll();
    await waitFor(async () => (await agentClients()).length === 0);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that behaves like a compromised pooler:
 * on request it sends a statement on the backend behind the client's back and
 * swallows every answer to it (including ParameterStatus). It records the
 * statements each client connection runs (Bind of a parsed statement, or Query).
 */
async function startInjectingProxy(upstreamPort: number) {
  interface Conn {
    inject(sql: string): Promise<void>;
    queriesAfterInjection(): string[];
    parses(): string[];
    binds(): string[];
  }
  const connections: Conn[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, pgInfo.host);
    sockets.add(client).add(upstream);
    let swallowing: (() => void) | undefined;
    let injected = false;
    const after: string[] = [];
    /** Statement texts by the name they were prepared under ('' is the unnamed statement). */
    const prepared = new Map<string, string>();
    /** Every Parse (statement text) and every Bind (the text it runs), from the start. */
    const parses: string[] = [];
    const binds: string[] = [];
    let fromClient = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk) => {
      upstream.write(chunk);
      fromClient = Buffer.concat([fromClient, chunk]);
      // The startup packet has no type byte; then typed messages.
      if (!started) {
        if (fromClient.length < 4) return;
        const len = fromClient.readInt32BE(0);
        if (fromClient.length < len) return;
        const code = fromClient.readInt32BE(4);
        fromClient = fromClient.subarray(len);
        // SSLRequest is answered 'N' (tls disabled here) and followed by the real startup packet.
        if (code !== 80877103) started = true;
      }
      while (started && fromClient.length >= 5) {
        const len = fromClient.readInt32BE(1);
        if (fromClient.length < 1 + len) break;
        const type = String.fromCharCode(fromClient[0]!);
        const body = fromClient.subarray(5, 1 + len);
        // What runs, not only what is parsed: a statement the session prepared earlier runs again
        // by its name (Bind), without a Parse. Parse: name\0 query\0 ...; Bind: portal\0 name\0 ...; Query: query\0
        const parts = type === 'P' || type === 'B' || type === 'Q' ? body.toString('utf8').split('\0') : [];
        if (type === 'P') prepared.set(parts[0]!, parts[1]!);
        if (type === 'P') parses.push(parts[1]!);
        if (type === 'B') binds.push(prepared.get(parts[1]!) ?? `(unknown statement ${parts[1]})`);
        if (injected && type === 'B') after.push(prepared.get(parts[1]!) ?? `(unknown statement ${parts[1]})`);
        if (injected && type === 'Q') after.push(parts[0]!);
        fromClient = fromClient.subarray(1 + len);
      }
    });
    let fromServer = Buffer.alloc(0);
    upstream.on('data', (chunk) => {
      if (swallowing === undefined) {
        client.write(chunk);
        return;
      }
      fromServer = Buffer.concat([fromServer, chunk]);
      while (fromServer.length >= 5) {
        const len = fromServer.readInt32BE(1);
        if (fromServer.length < 1 + len) break;
        const type = String.fromCharCode(fromServer[0]!);
        fromServer = fromServer.subarray(1 + len);
        if (type === 'Z') {
          const done = swallowing;
          swallowing = undefined;
          if (fromServer.length > 0) client.write(fromServer);
          fromServer = Buffer.alloc(0);
          done();
          return;
        }
      }
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    connections.push({
      inject: (sql) =>
        new Promise<void>((resolve) => {
          swallowing = resolve;
          injected = true;
          const text = Buffer.from(`${sql}\0`, 'utf8');
          const msg = Buffer.alloc(5);
          msg.write('Q', 0);
          msg.writeInt32BE(4 + text.length, 1);
          upstream.write(Buffer.concat([msg, text]));
        }),
      queriesAfterInjection: () => [...after],
      parses: () => [...parses],
      binds: () => [...binds],
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Sends `auth` then `cmd` in RESP on a fresh socket; the reply to `cmd` as text (bulk or simple string). */
function rawRedis(auth: string[], cmd: string[]): Promise<string> {
  const encode = (a: string[]): string => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const s = net.connect(redisInfo.port, redisInfo.host);
    let buf = '';
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d.toString('utf8');
      // First reply: AUTH's +OK; then the command's.
      const authEnd = buf.indexOf('\r\n');
      if (authEnd < 0) return;
      if (!buf.startsWith('+OK')) return reject(new Error(`AUTH: ${buf.slice(0, authEnd)}`));
      const rest = buf.slice(authEnd + 2);
      if (rest.startsWith('+') || rest.startsWith('-') || rest.startsWith(':')) {
        const end = rest.indexOf('\r\n');
        if (end < 0) return;
        s.end();
        return rest.startsWith('-') ? reject(new Error(rest.slice(1, end))) : resolve(rest.slice(1, end));
      }
      if (rest.startsWith('$')) {
        const head = rest.indexOf('\r\n');
        if (head < 0) return;
        const len = Number(rest.slice(1, head));
        const body = Buffer.from(rest.slice(head + 2), 'utf8');
        if (body.length < len) return;
        s.end();
        resolve(body.subarray(0, len).toString('utf8'));
      }
    });
    s.write(encode(auth) + encode(cmd));
  });
}
