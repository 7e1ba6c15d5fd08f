// The session asks the parse-tree allowlist once per distinct statement text
// (collectors/postgres/session.ts guardSql): the hot path of 1,000 targets sends
// the same catalog texts every few seconds. Attacked: a refused text is refused
// every time (a refusal is never remembered as an answer), and a text that differs
// from an approved one by a byte — a second statement, a comment, a write in a
// CTE — is parsed and checked on its own.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPgGuard, ReadOnlyViolation } from '../../collectors/postgres/guard.js';
import { guardSql, PG_OPEN_SQL } from '../../collectors/postgres/session.js';

beforeAll(async () => {
  await loadPgGuard();
});

describe('guardSql: the allowlist once per text', () => {
  const read = 'SELECT datname FROM pg_catalog.pg_stat_database';

  it('approves an allowlisted read, again and again', () => {
    for (let i = 0; i < 3; i++) expect(() => guardSql(read)).not.toThrow();
    expect(() => guardSql(PG_OPEN_SQL)).not.toThrow();
  });

  it('refuses a write every time it is offered, before and after an approved read', () => {
    const write = 'DELETE FROM pg_catalog.pg_stat_database';
    for (let i = 0; i < 3; i++) {
      expect(() => guardSql(write)).toThrow(ReadOnlyViolation);
      guardSql(read);
    }
  });

  it('a text one edit away from an approved one is checked on its own', () => {
    guardSql(read);
    for (const near of [
      `${read}; DELETE FROM t`,
      `${read}; SET default_transaction_read_only = off`,
      `WITH x AS (DELETE FROM t RETURNING 1) ${read}`,
      `${read} FOR UPDATE`,
      `${read.replace('SELECT', 'SELECT pg_terminate_backend(1),')}`,
    ]) {
      expect(() => guardSql(near), near).toThrow(ReadOnlyViolation);
      // Asked twice: still refused (nothing remembered).
      expect(() => guardSql(near), near).toThrow(ReadOnlyViolation);
    }
  });
});
