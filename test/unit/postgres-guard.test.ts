import { describe, expect, it } from 'vitest';
import { assertReadOnlySql, ReadOnlyViolation } from '../../collectors/postgres/guard.js';

describe('PostgreSQL read-only guard', () => {
  it.each([
    'SELECT 1',
    '  select version()  ;',
    'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
    'SHOW default_transaction_read_only',
    "SELECT 'delete from t; drop table x' AS harmless_literal",
    'SELECT "update" FROM "insert"',
    'SELECT last_autoanalyze, stats_reset, settings FROM pg_stat_user_tables',
    "SELECT $$ DROP TABLE x $$ AS dollar_literal",
    'SELECT 1 -- ; DROP TABLE x',
  ])('allows a read: %s', (sql) => {
    expect(() => assertReadOnlySql(sql)).not.toThrow();
  });

  it.each([
    ['INSERT INTO t VALUES (1)', 'only SELECT'],
    ['UPDATE t SET a = 1', 'only SELECT'],
    ['SET default_transaction_read_only = off', 'only SELECT'],
    ['SELECT 1; DROP TABLE t', 'one statement'],
    ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'DELETE'],
    ['SELECT pg_stat_reset()', 'pg_stat_reset'],
    ['SELECT pg_stat_statements_reset()', 'pg_stat_statements_reset'],
    ['select pg_stat_reset_shared(\'bgwriter\')', 'pg_stat_reset_shared'],
    ["SELECT set_config('default_transaction_read_only', 'off', false)", 'set_config'],
    ['SELECT pg_terminate_backend(42)', 'pg_terminate_backend'],
    ["SELECT nextval('s')", 'nextval'],
    ['SELECT * FROM t FOR UPDATE', 'FOR UPDATE'.split(' ')[1]!],
    ['SELECT * INTO t2 FROM t', 'INTO'],
    ['SHOW ALL; RESET ALL', 'one statement'],
    ['COPY t TO STDOUT', 'only SELECT'],
    ["SELECT pg_read_file('/etc/passwd')", 'pg_read_file'],
  ])('refuses %s', (sql, why) => {
    let err: unknown;
    try {
      assertReadOnlySql(sql);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReadOnlyViolation);
    expect((err as Error).message.toLowerCase()).toContain(why.toLowerCase());
  });
});
