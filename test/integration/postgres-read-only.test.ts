// Read-only by construction, attacked through the real PgSession against the real
// PostgreSQL server of the harness (log_statement=all): the server log is the
// witness of what arrived. The attacks run as the SUPERUSER role on purpose: the
// guard must hold when nothing on the server would stop a write.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry, AuditSink } from '../../collectors/core/audit.js';
import { ReadOnlyViolation } from '../../collectors/core/read-only.js';
import { PgSession } from '../../collectors/postgres/session.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { PG_ATTACKS } from '../helpers/pg-attacks.js';
import { pgTarget, superClient } from '../helpers/pg.js';

const info = inject('pg');

/** One server-log entry (continuation lines joined) written for `app`. */
interface LogEntry {
  line: string;
  kind: 'execute' | 'statement' | 'other';
  text: string;
}

const ENTRY_START = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \S+ \[\d+\] /;

async function logEntries(app: string): Promise<LogEntry[]> {
  const raw = await readFile(info.logFile, 'utf8');
  const entries: string[] = [];
  for (const line of raw.split('\n')) {
    if (ENTRY_START.test(line)) entries.push(line);
    else if (entries.length > 0) entries[entries.length - 1] += `\n${line}`;
  }
  return entries
    .filter((e) => e.replace(ENTRY_START, '').startsWith(`${app} `))
    .map((e) => {
      const m = /LOG: {2}(execute [^:]*|statement): ([\s\S]*)$/.exec(e);
      if (m === null) return { line: e, kind: 'other' as const, text: '' };
      return { line: e, kind: m[1]!.startsWith('execute') ? ('execute' as const) : ('statement' as const), text: m[2]!.trim() };
    });
}

/** Waits until the logging collector has written `marker` for `app`. */
async function logUntil(app: string, marker: string): Promise<LogEntry[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const entries = await logEntries(app);
    if (entries.some((e) => e.text.includes(marker))) return entries;
    if (Date.now() > deadline) throw new Error(`the server log never showed ${marker} for ${app}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const uniqueApp = (what: string): string => `ro-${what}-${randomBytes(4).toString('hex')}`;

function recordingAudit(): AuditSink & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return { entries, record: (e) => entries.push(e) };
}

async function openAs(role: 'admin' | 'monitor', app: string, audit: AuditSink): Promise<PgSession> {
  const target = pgTarget(info, info.users[role].user);
  return PgSession.open(target, info.users[role].password, { audit, applicationName: app });
}

/** The back door a bug elsewhere in the process would use: the driver under the session. */
const driverOf = (s: PgSession): pg.Client => (s as unknown as { client: pg.Client }).client;

describe('PostgreSQL read-only by construction, against the real server', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = await superClient(info);
  });
  afterAll(async () => {
    await admin.end();
  });

  it(`none of ${PG_ATTACKS.length} attacks reaches the server, even as superuser (the server log is the witness)`, async () => {
    expect(PG_ATTACKS.length).toBeGreaterThanOrEqual(200);
    const app = uniqueApp('attacks');
    const audit = recordingAudit();
    const session = await openAs('admin', app, audit);
    const passed: string[] = [];
    try {
      for (const { sql } of PG_ATTACKS) {
        const err = await session.query(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!(err instanceof ReadOnlyViolation)) passed.push(sql);
      }
      // The session is still healthy and its own statements do arrive: the log is live.
      const marker = `done_${randomBytes(4).toString('hex')}`;
      await session.query(`SELECT 1 AS ${marker}`);
      const entries = await logUntil(app, marker);
      expect(passed).toEqual([]);
      // Every refusal is in the ledger, as refused, before anything was sent.
      const refused = audit.entries.filter((e) => e.outcome === 'refused');
      expect(refused.length).toBe(PG_ATTACKS.length);
      expect(new Set(refused.map((e) => e.code))).toEqual(new Set(['read_only_guard']));
      // What the server received from this session: its own read-only transaction and reads, nothing else.
      const texts = entries.filter((e) => e.kind !== 'other').map((e) => e.text);
      expect(texts[0]).toBe('BEGIN TRANSACTION READ ONLY');
      expect(texts.slice(1)).toEqual([expect.stringContaining("current_setting('transaction_read_only')"), `SELECT 1 AS ${marker}`]);
      expect(entries.filter((e) => e.kind === 'statement')).toEqual([]);
    } finally {
      await session.close();
    }
    const { rows } = await admin.query<{ t: string | null }>("SELECT to_regclass('public.pwned')::text AS t");
    expect(rows[0]?.t).toBeNull();
  });

  it('a full collect and check: every statement arrives via the extended protocol (execute), none of them a write', async () => {
    const version = `ro-${randomBytes(4).toString('hex')}`;
    const ledger = new AuditLedger(join(mkdtempSync(join(tmpdir(), 'lsa-ro-')), 'audit'));
    const ops = new TargetOperations(
      { id: 'ro-agent', version, host: 'test' },
      ledger,
      () => {
        throw new Error('no vault in this test');
      },
      { PW: info.users.monitor.password },
    );
    const target = pgTarget(info, info.users.monitor.user);
    const result = await ops.collect(target);
    expect(result.payload.signals.filter((s) => s.status === 'ok').length).toBeGreaterThan(10);
    await ops.checkPermissions(target);
    const app = `logstag-agent/${version}`;
    // The last statement of the check session closes its transaction.
    const deadline = Date.now() + 15_000;
    let entries = await logEntries(app);
    while (entries.filter((e) => e.text === 'ROLLBACK').length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      entries = await logEntries(app);
    }
    const sent = entries.filter((e) => e.kind !== 'other');
    expect(sent.length).toBeGreaterThan(30);
    expect(sent.filter((e) => e.kind === 'statement').map((e) => e.text)).toEqual([]);
    for (const e of sent) {
      expect(e.text, e.line).toMatch(/^(SELECT\b|SHOW\b|BEGIN TRANSACTION READ ONLY$|ROLLBACK$)/);
    }
    // Two sessions (collect, check), each one read-only transaction opened and verified, then rolled back.
    expect(sent.filter((e) => e.text === 'BEGIN TRANSACTION READ ONLY').length).toBe(2);
    expect(sent.filter((e) => e.text === 'ROLLBACK').length).toBe(2);
  });

  it('a second statement in one message is refused by the server itself (extended protocol)', async () => {
    const app = uniqueApp('extended');
    const session = await openAs('admin', app, recordingAudit());
    try {
      // Past the guard on purpose (the driver directly, as the session sends): the protocol is the next wall.
      const err = await driverOf(session)
        .query({ text: 'SELECT 1; CREATE TABLE pwned_ext(a int)', queryMode: 'extended' } as pg.QueryConfig)
        .then(
          () => undefined,
          (e: unknown) => e as { code?: string; message?: string },
        );
      expect(err?.code).toBe('42601');
      expect(err?.message).toMatch(/cannot insert multiple commands into a prepared statement/);
    } finally {
      await session.close();
    }
    const { rows } = await admin.query<{ t: string | null }>("SELECT to_regclass('public.pwned_ext')::text AS t");
    expect(rows[0]?.t).toBeNull();
  });

  it('a write that got past the guard still fails: the transaction is read-only (and verified)', async () => {
    const session = await openAs('admin', uniqueApp('rotx'), recordingAudit());
    try {
      const err = await driverOf(session)
        .query({ text: 'CREATE TABLE pwned_rotx(a int)', queryMode: 'extended' } as pg.QueryConfig)
        .then(
          () => undefined,
          (e: unknown) => e as { code?: string },
        );
      expect(err?.code).toBe('25006');
    } finally {
      await session.close();
    }
  });

  it('one failing statement does not abort the others: the session rolls back and verifies a new read-only transaction', async () => {
    const app = uniqueApp('recover');
    const audit = recordingAudit();
    const session = await openAs('monitor', app, audit);
    try {
      await expect(session.query("SELECT current_setting('no.such_setting') AS x")).rejects.toMatchObject({ code: '42704' });
      const [row] = await session.query<{ ok: number }>('SELECT 1 AS ok');
      expect(row?.ok).toBe(1);
      expect(audit.entries.map((e) => [e.statement.slice(0, 27), e.outcome])).toEqual([
        ['BEGIN TRANSACTION READ ONLY', 'ok'],
        ["SELECT current_setting('tra", 'ok'],
        ["SELECT current_setting('no.", 'error'],
        ['ROLLBACK', 'ok'],
        ['BEGIN TRANSACTION READ ONLY', 'ok'],
        ["SELECT current_setting('tra", 'ok'],
        ['SELECT 1 AS ok', 'ok'],
      ]);
    } finally {
      await session.close();
    }
  });

  it.each([
    ['default_transaction_read_only turned off', "SELECT set_config('default_transaction_read_only', 'off', false)"],
    ['the read-only transaction committed', 'COMMIT'],
    ['SET SESSION CHARACTERISTICS read-write', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'],
  ])('a session flipped read-write behind its back (%s) is detected at once, closed, reported and never reused', async (_what, flip) => {
    const audit = recordingAudit();
    const session = await openAs('admin', uniqueApp('flip'), audit);
    await session.query('SELECT 1 AS before_flip');
    await driverOf(session)
      .query(flip)
      .catch(() => undefined);
    // The very next statement of the same cycle is refused, never sent.
    const err = await session.query('SELECT 1 AS after_flip').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReadOnlyViolation);
    expect(session.isClosed).toBe(true);
    expect(session.readOnlyLostReason).toMatch(/default_transaction_read_only changed to off|transaction ended/);
    expect(audit.entries).toContainEqual(expect.objectContaining({ outcome: 'refused', code: 'read_only_lost' }));
    expect(audit.entries.some((e) => e.statement === 'SELECT 1 AS after_flip' && e.outcome !== 'refused')).toBe(false);
    await session.close();
  });
});
