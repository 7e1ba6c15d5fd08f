// A PostgreSQL session pipelines a cycle's statements: the reads start together and the
// statements of one turn of the event loop leave in one write, instead of a write and a
// wait per statement. What must still hold, attacked here against a real server:
// - the statements are the same, each audited, and the cycle reads what it read before;
// - a statement that fails mid-pipeline costs only its own signal: the ones the server
//   refused behind it (25P02, transaction aborted) are sent again in a new verified
//   read-only transaction, and the ledger shows both attempts;
// - a server that stops answering is cut after statement_timeout + 2 s of silence,
//   and every waiting signal says so (no hang, no value).
import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import type { AuditEntry, AuditSink } from '../../collectors/core/audit.js';
import { runSignals } from '../../collectors/core/runner.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { mapPgSignalError } from '../../collectors/postgres/errors.js';
import { PgSession } from '../../collectors/postgres/session.js';
import { freshDatabase, pgTarget, superClient } from '../helpers/pg.js';

const pg = inject('pg');

function recorder(): AuditSink & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return { entries, record: (e: AuditEntry) => void entries.push(e) };
}

/** Counts the socket writes of a session (a corked burst of statements is one). */
function countWrites(session: PgSession): { writes: number } {
  const stream = (session as unknown as { client: { connection: { stream: { _write: unknown; _writev: unknown } } } }).client.connection.stream;
  const counter = { writes: 0 };
  for (const k of ['_write', '_writev'] as const) {
    const original = stream[k] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof original !== 'function') continue;
    stream[k] = function (this: unknown, ...a: unknown[]) {
      counter.writes++;
      return original.apply(this, a);
    };
  }
  return counter;
}

describe('PostgreSQL: a pipelined cycle', () => {
  it('sends its statements in a few writes, each audited, every signal read', async () => {
    const audit = recorder();
    const user = pg.users.monitor;
    const session = await PgSession.open(pgTarget(pg, user.user), user.password, { audit, applicationName: 'logstag-agent/test-pipeline' });
    try {
      const counter = countWrites(session);
      const before = audit.entries.length;
      const outcomes = await runSignals(postgresCatalog, session, { timeoutMs: 10_000, mapError: mapPgSignalError });
      const statements = audit.entries.slice(before);
      expect(outcomes.filter((o) => o.result.status === 'ok').length).toBeGreaterThan(15);
      expect(statements.every((e) => e.outcome === 'ok')).toBe(true);
      // One write per statement before: here about one per wave of statements that depend on an earlier answer.
      expect(statements.length).toBeGreaterThan(20);
      expect(counter.writes).toBeLessThanOrEqual(10);
    } finally {
      await session.close();
    }
  });

  it('a statement failing mid-pipeline costs only its signal: the ones refused behind it are sent again in a new verified transaction', async () => {
    const { db, drop } = await freshDatabase(pg, 'pipelinedb');
    const locker = await superClient(db);
    const audit = recorder();
    const user = pg.users.monitor;
    const session = await PgSession.open(pgTarget(db, user.user, { lockTimeoutMs: 300 }), user.password, {
      audit,
      applicationName: 'logstag-agent/test-pipeline',
    });
    try {
      // What this database gives when nothing fails (pg_stat_statements, say, is not installed in it).
      const baseline = await runSignals(postgresCatalog, session, { timeoutMs: 10_000, mapError: mapPgSignalError });
      const okBefore = baseline.filter((o) => o.result.status === 'ok').map((o) => o.spec.id);
      expect(okBefore).toContain('postgres.functions');
      expect(okBefore.length).toBeGreaterThan(15);
      // A new transaction, as the next pooled cycle would have (the first still holds its catalog locks).
      await session.endCycle();
      await session.beginCycle();
      // Only postgres.functions reads pg_language: its statement waits, fails on lock_timeout, and aborts the transaction.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE pg_catalog.pg_language IN ACCESS EXCLUSIVE MODE');
      const before = audit.entries.length;
      const outcomes = await runSignals(postgresCatalog, session, { timeoutMs: 10_000, mapError: mapPgSignalError });
      const byId = new Map(outcomes.map((o) => [o.spec.id, o.result]));
      expect(byId.get('postgres.functions')).toMatchObject({ status: 'unavailable', reason: 'timeout' });
      for (const id of okBefore) if (id !== 'postgres.functions') expect(byId.get(id)?.status, id).toBe('ok');
      const entries = audit.entries.slice(before);
      const aborted = entries.filter((e) => e.code === '25P02');
      // Statements sent behind the failed one were refused by the server, recorded, and sent again.
      expect(aborted.length).toBeGreaterThan(3);
      for (const e of aborted) expect(entries.some((x) => x.statement === e.statement && x.outcome === 'ok' && x.time >= e.time)).toBe(true);
      // The new transaction was opened and verified before they were sent again.
      const rollback = entries.findIndex((e) => e.statement === 'ROLLBACK');
      expect(rollback).toBeGreaterThan(-1);
      expect(entries[rollback + 1]?.statement).toBe('BEGIN TRANSACTION READ ONLY');
      expect(entries[rollback + 2]?.statement).toMatch(/^SELECT current_setting\('transaction_read_only'\)/);
      // The session is still in its verified read-only transaction and reusable.
      expect(await session.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await session.close();
      await locker.end();
      await drop();
    }
  });

  it('a server that falls silent is cut after statement_timeout + 2 s: every waiting signal says so', async () => {
    const audit = recorder();
    const user = pg.users.monitor;
    const appName = 'logstag-agent/test-silent';
    const session = await PgSession.open(pgTarget(pg, user.user, { statementTimeoutMs: 1000 }), user.password, { audit, applicationName: appName });
    const su = await superClient(pg);
    const { rows } = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [appName]);
    const pid = rows[0]!.pid;
    // The backend stops being scheduled: no answer, no error, the socket open.
    const stopped = [pid];
    execFileSync('kill', ['-STOP', String(pid)]);
    try {
      const started = Date.now();
      const outcomes = await runSignals(postgresCatalog, session, { timeoutMs: 60_000, mapError: mapPgSignalError });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(2_900);
      expect(elapsed).toBeLessThan(8_000);
      for (const o of outcomes) expect(o.result, o.spec.id).toMatchObject({ status: 'unavailable', reason: 'timeout' });
      expect(session.isClosed).toBe(true);
      // Closing a session whose statements are still unanswered (an abandoned cycle) does not wait for them.
      const again = await PgSession.open(pgTarget(pg, user.user, { statementTimeoutMs: 1000 }), user.password, { audit, applicationName: `${appName}-2` });
      const { rows: rows2 } = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`${appName}-2`]);
      stopped.push(rows2[0]!.pid);
      execFileSync('kill', ['-STOP', String(rows2[0]!.pid)]);
      const reading = runSignals(postgresCatalog, again, { timeoutMs: 60_000, mapError: mapPgSignalError });
      await new Promise((r) => setTimeout(r, 100));
      const closing = Date.now();
      await again.close();
      expect(Date.now() - closing).toBeLessThan(500);
      expect((await reading).every((o) => o.result.status === 'unavailable')).toBe(true);
    } finally {
      for (const p of stopped) {
        execFileSync('kill', ['-CONT', String(p)]);
        await su.query('SELECT pg_terminate_backend($1)', [p]).catch(() => {});
      }
      await su.end();
      await session.close();
    }
  });
});
