import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TargetConnectError } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { runSignals } from '../../collectors/core/runner.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { mapPgSignalError } from '../../collectors/postgres/errors.js';
import { ReadOnlyViolation } from '../../collectors/postgres/guard.js';
import { PgSession } from '../../collectors/postgres/session.js';
import { startPostgres, type PgHarness } from '../harness/postgres.js';
import { agentOps, freshDatabase, pgTarget, superClient } from '../helpers/pg.js';
import { readStatements } from '../../agent/audit/reader.js';

const shared = inject('pg');
const signal = (p: PayloadV1, id: string) => p.signals.find((s) => s.id === id)!;

describe('PostgreSQL faults: each cycle says what happened, never hangs, and the next one recovers', () => {
  let own: PgHarness;
  beforeAll(async () => {
    // Same major as the shared cluster: the matrix projects run this suite on each version.
    own = await startPostgres({ bin: shared.bin });
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('the server stopping mid-cycle: statements still waiting say connection lost; the next cycle recovers', async () => {
    const { ops, ledger } = agentOps(own.users.monitor.password);
    const target = pgTarget(own, own.users.monitor.user);
    // The session pipelines a cycle's statements: the server runs them in order. A lock held on the catalog
    // that only postgres.functions reads stops the queue there (no lock_timeout), and the server goes down
    // while that statement and every one sent after it are still waiting, as in an outage mid-cycle.
    const waiting = pgTarget(own, own.users.monitor.user, { lockTimeoutMs: 0, statementTimeoutMs: 30_000 });
    const locker = await superClient(own);
    locker.on('error', () => {});
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE pg_catalog.pg_language IN ACCESS EXCLUSIVE MODE');
    const session = await PgSession.open(waiting, own.users.monitor.password, { audit: ledger, applicationName: 'logstag-agent/test-stop' });
    const started = Date.now();
    const reading = runSignals(postgresCatalog, session, { timeoutMs: 10_000, mapError: mapPgSignalError });
    for (;;) {
      const { rows } = await locker.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'logstag-agent/test-stop' AND wait_event_type = 'Lock'",
      );
      if (rows[0]!.n > 0) break;
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await own.stopServer('fast');
    const outcomes = await reading;
    await session.close();
    await locker.end().catch(() => {});
    expect(Date.now() - started).toBeLessThan(10_000);
    const byId = new Map(outcomes.map((o) => [o.spec.id, o.result]));
    // Answered before the queue stopped: the first statements sent ahead of the waiting one (a signal whose
    // read needs a second statement sent it behind the queue, and lost it with the rest).
    expect(byId.get('postgres.server')?.status).toBe('ok');
    expect(outcomes.filter((o) => o.result.status === 'ok').length).toBeGreaterThanOrEqual(5);
    // The waiting statement and everything sent after it: connection lost, none hanging, none shown as a value.
    const lost = postgresCatalog.slice(postgresCatalog.findIndex((s) => s.id === 'postgres.functions')).map((s) => s.id);
    expect(lost.length).toBeGreaterThan(5);
    for (const id of lost) {
      expect(byId.get(id), id).toMatchObject({ status: 'unavailable', reason: 'error' });
      expect((byId.get(id) as { detail: string }).detail).toMatch(/connection lost|not queryable|terminat/i);
    }
    // Nothing in between is anything but a value or the same loss.
    for (const o of outcomes) if (o.result.status === 'unavailable') expect(o.result.detail, o.spec.id).toMatch(/connection lost|not queryable|terminat/i);
    // While it is down, a whole cycle reports the target as unreachable, every signal unavailable.
    const down = await ops.collect(target);
    expect(down.connectError).toBeInstanceOf(TargetConnectError);
    expect(down.payload.signals.every((s) => s.status === 'unavailable' && s.reason === 'error')).toBe(true);
    await own.startServer();
    const back = await ops.collect(target);
    expect(back.connectError).toBeUndefined();
    expect(signal(back.payload, 'postgres.server').status).toBe('ok');
    expect(signal(back.payload, 'postgres.activity').status).toBe('ok');
  }, 60_000);

  it('TLS: verify-full with the CA works; a wrong CA or host name is a TLS failure; disable is plaintext', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const makeCa = (name: string) => {
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
    };
    makeCa('ca');
    makeCa('other-ca');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.ext',
      '-out',
      'server.crt',
    );
    // The server reads its key as the data dir's owner; it must be private to that user.
    const owner = statSync(own.dataDir);
    const confDir = dirname(own.dataDir);
    for (const f of ['server.crt', 'server.key']) {
      const to = join(confDir, f);
      execFileSync('cp', [join(dir, f), to]);
      chownSync(to, owner.uid, owner.gid);
    }
    execFileSync('chmod', ['600', join(confDir, 'server.key')]);
    appendFileSync(
      join(own.dataDir, 'postgresql.conf'),
      `\nssl = on\nssl_cert_file = '${join(confDir, 'server.crt')}'\nssl_key_file = '${join(confDir, 'server.key')}'\n`,
    );
    await own.restart();

    const { ops } = agentOps(own.users.monitor.password);
    const verified = await ops.collect(pgTarget(own, own.users.monitor.user, { host: 'localhost', tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt') } }));
    expect(verified.connectError).toBeUndefined();
    expect(signal(verified.payload, 'postgres.security')).toMatchObject({ status: 'ok', value: { ssl: 'on', ssl_in_use: true } });

    const wrongCa = ops.testConnection(
      pgTarget(own, own.users.monitor.user, { host: 'localhost', tls: { mode: 'verify-full', caFile: join(dir, 'other-ca.crt') } }),
    );
    await expect(wrongCa).rejects.toMatchObject({ kind: 'tls' });
    const wrongName = ops.testConnection(
      pgTarget(own, own.users.monitor.user, { host: 'localhost', tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt'), serverName: 'db.example.org' } }),
    );
    await expect(wrongName).rejects.toMatchObject({ kind: 'tls' });
    const missingCa = ops.testConnection(pgTarget(own, own.users.monitor.user, { tls: { mode: 'verify-full' } }));
    await expect(missingCa).rejects.toThrow(/tls.caFile is required/);

    const plain = await ops.collect(pgTarget(own, own.users.monitor.user, { tls: { mode: 'disable' } }));
    expect(signal(plain.payload, 'postgres.security')).toMatchObject({ status: 'ok', value: { ssl_in_use: false } });
    const preferred = await ops.collect(pgTarget(own, own.users.monitor.user, { tls: { mode: 'prefer' } }));
    expect(signal(preferred.payload, 'postgres.security')).toMatchObject({ status: 'ok', value: { ssl_in_use: true } });
  }, 60_000);
});

describe('PostgreSQL faults on the shared cluster (private database and roles)', () => {
  it('a grant revoked between cycles: the next cycle reports permission, then recovers when re-granted', async () => {
    const su = await superClient(shared);
    try {
      await su.query('DROP ROLE IF EXISTS flip');
      await su.query("CREATE ROLE flip LOGIN PASSWORD 'flip-pw'");
      await su.query('GRANT pg_read_all_stats TO flip');
      const { ops } = agentOps('flip-pw');
      const target = pgTarget(shared, 'flip');
      expect(signal((await ops.collect(target)).payload, 'postgres.activity').status).toBe('ok');
      await su.query('REVOKE pg_read_all_stats FROM flip');
      const revoked = (await ops.collect(target)).payload;
      expect(signal(revoked, 'postgres.activity')).toMatchObject({ status: 'unavailable', reason: 'permission', fix: 'GRANT pg_read_all_stats TO flip;' });
      expect(signal(revoked, 'postgres.server').status).toBe('ok');
      await su.query('GRANT pg_read_all_stats TO flip');
      expect(signal((await ops.collect(target)).payload, 'postgres.activity').status).toBe('ok');
    } finally {
      await su.query('DROP ROLE IF EXISTS flip');
      await su.end();
    }
  });

  it('lock waits hit lock_timeout, and with lock_timeout off statement_timeout fires; the rest of the cycle is read', async () => {
    const { db, drop } = await freshDatabase(shared, 'faultdb');
    const locker = await superClient(db);
    try {
      await locker.query('CREATE TABLE busy (id int PRIMARY KEY)');
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
      // The schema read takes no lock on application tables (sizes come from pg_class.relpages), so a
      // catalog it reads is locked instead: only postgres.functions reads pg_language.
      await locker.query('LOCK TABLE pg_catalog.pg_language IN ACCESS EXCLUSIVE MODE');
      const { ops } = agentOps(shared.users.monitor.password);
      const started = Date.now();
      const withLockTimeout = (await ops.collect(pgTarget(db, shared.users.monitor.user, { lockTimeoutMs: 300 }))).payload;
      expect(signal(withLockTimeout, 'postgres.tables').status).toBe('ok');
      expect(signal(withLockTimeout, 'postgres.functions')).toMatchObject({
        status: 'unavailable',
        reason: 'timeout',
        detail: expect.stringMatching(/lock_timeout/),
      });
      const noLockTimeout = (await ops.collect(pgTarget(db, shared.users.monitor.user, { lockTimeoutMs: 0, statementTimeoutMs: 400 }))).payload;
      expect(signal(noLockTimeout, 'postgres.functions')).toMatchObject({
        status: 'unavailable',
        reason: 'timeout',
        detail: expect.stringMatching(/statement_timeout/),
      });
      expect(Date.now() - started).toBeLessThan(15_000);
      for (const p of [withLockTimeout, noLockTimeout]) {
        expect(signal(p, 'postgres.server').status).toBe('ok');
        expect(signal(p, 'postgres.roles').status).toBe('ok');
      }
      await locker.query('COMMIT');
      const after = (await ops.collect(pgTarget(db, shared.users.monitor.user, { lockTimeoutMs: 300 }))).payload;
      expect(signal(after, 'postgres.functions').status).toBe('ok');
    } finally {
      await locker.end();
      await drop();
    }
  });

  it('the session refuses writes before they reach the server, and audits the refusal', async () => {
    const { ledger } = agentOps(shared.users.admin.password);
    const target = pgTarget(shared, shared.users.admin.user);
    const s = await PgSession.open(target, shared.users.admin.password, { audit: ledger, applicationName: 'logstag-agent/test' });
    try {
      await expect(s.query('CREATE TABLE agent_was_here (id int)')).rejects.toBeInstanceOf(ReadOnlyViolation);
      await expect(s.query('SELECT pg_stat_statements_reset()')).rejects.toBeInstanceOf(ReadOnlyViolation);
      // Even a superuser's session is read-only at the server: the safety net under the guard.
      const [ro] = await s.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      expect(ro?.transaction_read_only).toBe('on');
    } finally {
      await s.close();
    }
    const refused = readStatements(ledger.dir);
    expect(refused.filter((e) => e.outcome === 'refused').map((e) => e.statement)).toEqual([
      'CREATE TABLE agent_was_here (id int)',
      'SELECT pg_stat_statements_reset()',
    ]);
    const su = await superClient(shared);
    try {
      const { rows } = await su.query("SELECT to_regclass('public.agent_was_here') AS t");
      expect(rows[0].t).toBeNull();
    } finally {
      await su.end();
    }
  });
});
