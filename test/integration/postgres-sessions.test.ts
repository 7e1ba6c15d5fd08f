// Sessions on the real server: postgres.activity lists the sessions doing
// something, postgres.connections counts every session. Attacked with what a
// busy server has: many idle pooled connections, a transaction left open, an idle
// session holding a lock another one waits for, a policy that excludes the
// grouping columns, and an identity that cannot see other users' states.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CycleResult } from '../../collectors/cycle.js';
import { readStatements } from '../../agent/audit/reader.js';
import { agentOps, pgTarget, superClient } from '../helpers/pg.js';

const pgInfo = inject('pg');
type Row = Record<string, unknown>;

/** This file's sessions carry application names of their own: other test files share the server. */
const tag = randomBytes(4).toString('hex');
const IDLE_APP = `idle-pool-${tag}`;
const OPEN_APP = `open-xact-${tag}`;
const HOLDER_APP = `lock-holder-${tag}`;
const WAITER_APP = `lock-waiter-${tag}`;
const IDLE_SESSIONS = 6;

function rowsOf(r: CycleResult, id: string): Row[] {
  const s = r.payload.signals.find((x) => x.id === id);
  if (s?.status !== 'ok') throw new Error(`${id} is not ok: ${JSON.stringify(s)}`);
  return s.value as Row[];
}

async function client(app: string): Promise<pg.Client> {
  const c = await superClient(pgInfo);
  c.on('error', () => undefined);
  await c.query(`SET application_name = '${app}'`);
  return c;
}

let admin: pg.Client;
const opened: pg.Client[] = [];
beforeAll(async () => {
  admin = await superClient(pgInfo);
  for (let i = 0; i < IDLE_SESSIONS; i++) opened.push(await client(IDLE_APP));
  const open = await client(OPEN_APP);
  opened.push(open);
  await open.query('BEGIN');
  await open.query('SELECT 1');
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
  await admin.end();
});

describe('PostgreSQL sessions: listed when doing something, counted always', () => {
  it('idle sessions are counted by application and state, not listed one by one; an open transaction is listed', async () => {
    const { ops } = agentOps(pgInfo.users.monitor.password);
    const r = await ops.collect(pgTarget(pgInfo, pgInfo.users.monitor.user, { password: { env: 'PW' } }));
    const activity = rowsOf(r, 'postgres.activity');
    expect(activity.filter((x) => x['application_name'] === IDLE_APP)).toEqual([]);
    expect(activity.filter((x) => x['application_name'] === OPEN_APP)).toMatchObject([{ state: 'idle in transaction', backend_type: 'client backend' }]);
    // Only sessions doing something: no row is plain idle unless it blocks someone (none does here).
    expect(activity.filter((x) => x['state'] === 'idle' || x['state'] === null)).toEqual([]);

    const connections = rowsOf(r, 'postgres.connections');
    const idle = connections.filter((x) => x['application_name'] === IDLE_APP);
    expect(idle).toEqual([
      {
        datname: pgInfo.database,
        usename: pgInfo.superuser.user,
        application_name: IDLE_APP,
        backend_type: 'client backend',
        state: 'idle',
        sessions: IDLE_SESSIONS,
        longest_in_state_s: expect.any(Number),
      },
    ]);
    expect(idle[0]!['longest_in_state_s']).toBeGreaterThanOrEqual(0);
    expect(connections.filter((x) => x['application_name'] === OPEN_APP)).toMatchObject([{ state: 'idle in transaction', sessions: 1 }]);
    // Server processes without a state are counted too (the checkpointer is always there).
    expect(connections.find((x) => x['backend_type'] === 'checkpointer')).toMatchObject({ state: null, sessions: 1 });
  });

  it('an idle session holding a lock another session waits for is listed, so every blocking PID has its row', async () => {
    const key = Number.parseInt(tag.slice(0, 6), 16);
    const holder = await client(HOLDER_APP);
    const waiter = await client(WAITER_APP);
    opened.push(holder, waiter);
    await holder.query('SELECT pg_advisory_lock($1)', [key]);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const waiting = waiter.query('SELECT pg_advisory_lock($1)', [key]);
    try {
      // Until the server reports the waiter as waiting on the lock.
      for (let i = 0; i < 100; i++) {
        const w = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [WAITER_APP]);
        if (w.rowCount === 1) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const { ops } = agentOps(pgInfo.users.monitor.password);
      const r = await ops.collect(pgTarget(pgInfo, pgInfo.users.monitor.user, { password: { env: 'PW' } }));
      const activity = rowsOf(r, 'postgres.activity');
      expect(activity.find((x) => x['application_name'] === WAITER_APP)).toMatchObject({ state: 'active', wait_event_type: 'Lock', blocked_by: [holderPid] });
      expect(activity.find((x) => x['application_name'] === HOLDER_APP)).toMatchObject({ pid: holderPid, state: 'idle' });
      for (const row of activity) for (const pid of row['blocked_by'] as number[]) expect(activity.map((x) => x['pid'])).toContain(pid);
      // The waits signal names the same blocker.
      expect(rowsOf(r, 'postgres.blocking').filter((x) => x['blocked_by'] !== undefined && (x['blocked_by'] as number[]).includes(holderPid))).toMatchObject([
        { wait_event_type: 'Lock', blocked_by: [holderPid] },
      ]);
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [key]);
      await waiting;
      await waiter.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  });

  it('a policy that excludes client metadata: the application is neither read nor grouped by, its sessions merge into the rest', async () => {
    const { ops, ledger } = agentOps(pgInfo.users.monitor.password);
    const r = await ops.collect(pgTarget(pgInfo, pgInfo.users.monitor.user, { password: { env: 'PW' }, policy: { client_metadata: 'exclude' } }));
    const connections = rowsOf(r, 'postgres.connections');
    expect(connections.length).toBeGreaterThan(0);
    for (const row of connections) expect(Object.keys(row).sort()).toEqual(['backend_type', 'datname', 'longest_in_state_s', 'sessions', 'state', 'usename']);
    // The idle pool is now part of the superuser's idle client sessions in the test database.
    const su = connections.find(
      (x) => x['usename'] === pgInfo.superuser.user && x['datname'] === pgInfo.database && x['state'] === 'idle' && x['backend_type'] === 'client backend',
    );
    expect(su?.['sessions']).toBeGreaterThanOrEqual(IDLE_SESSIONS);
    const sql = readStatements(ledger.dir)
      .map((e) => e.statement ?? '')
      .filter((s) => s.includes('AS longest_in_state_s'));
    expect(sql).toHaveLength(1);
    expect(sql[0]).not.toMatch(/application_name/);
  });

  it('an identity without pg_read_all_stats: the counts are unavailable with the grant, never counts without states', async () => {
    const { ops } = agentOps(pgInfo.users.lowpriv.password);
    const r = await ops.collect(pgTarget(pgInfo, pgInfo.users.lowpriv.user, { password: { env: 'PW' } }));
    expect(r.payload.signals.find((x) => x.id === 'postgres.connections')).toMatchObject({
      status: 'unavailable',
      reason: 'permission',
      fix: `GRANT pg_read_all_stats TO ${pgInfo.users.lowpriv.user};`,
    });
  });
});
