// Statements that must never reach a PostgreSQL server through the agent's session,
// by attack class. Each is something a careless catalog change or a compromised
// caller could hand to PgSession.query(); none may pass the guard.

export interface Attack {
  cls: string;
  sql: string;
}

/** Functions with side effects, that run SQL given as a string, or that read files or other sessions' state. */
export const DANGEROUS_FUNCTIONS: ReadonlyArray<[name: string, args: string]> = [
  ['pg_terminate_backend', '42'],
  ['pg_cancel_backend', '42'],
  ['set_config', "'default_transaction_read_only', 'off', false"],
  ['pg_advisory_lock', '1'],
  ['pg_try_advisory_lock', '1'],
  ['pg_advisory_xact_lock', '1'],
  ['pg_advisory_lock_shared', '1'],
  ['pg_create_logical_replication_slot', "'s', 'test_decoding'"],
  ['pg_create_physical_replication_slot', "'s'"],
  ['pg_drop_replication_slot', "'s'"],
  ['pg_replication_slot_advance', "'s', '0/0'"],
  ['brin_summarize_new_values', "'i'::regclass"],
  ['brin_summarize_range', "'i'::regclass, 0"],
  ['gin_clean_pending_list', "'i'::regclass"],
  ['pg_export_snapshot', ''],
  ['query_to_xml', "'CREATE TABLE pwned(a int)', true, false, ''"],
  ['table_to_xml', "'pg_authid', true, false, ''"],
  ['cursor_to_xml', "'c', 1, true, false, ''"],
  ['ts_stat', "'SELECT to_tsvector(secret) FROM app.users'"],
  ['pg_read_file', "'/etc/passwd'"],
  ['pg_read_binary_file', "'postgresql.conf'"],
  ['pg_ls_dir', "'.'"],
  ['pg_stat_file', "'postgresql.conf'"],
  ['lo_import', "'/etc/passwd'"],
  ['lo_export', "1, '/tmp/x'"],
  ['lo_get', '1'],
  ['pg_stat_reset', ''],
  ['pg_stat_reset_shared', "'bgwriter'"],
  ['pg_stat_statements_reset', ''],
  ['pg_reload_conf', ''],
  ['pg_rotate_logfile', ''],
  ['pg_switch_wal', ''],
  ['pg_sleep', '10'],
  ['nextval', "'s'"],
  ['setval', "'s', 1"],
  ['txid_current', ''],
  ['pg_current_xact_id', ''],
  ['pg_notify', "'c', 'p'"],
  ['pg_logical_emit_message', "true, 'p', 'x'"],
  ['pg_log_backend_memory_contexts', '42'],
  ['pg_create_restore_point', "'x'"],
  ['pg_promote', ''],
  ['pg_wal_replay_pause', ''],
  ['dblink_exec', "'dbname=appdb', 'DROP TABLE t'"],
  ['xpath', "'/a', '<a/>'"],
];

/** The ways PostgreSQL lets the same function be named. */
function nameForms(name: string): string[] {
  const uEscaped = `U&"\\${name.charCodeAt(0).toString(16).padStart(4, '0')}${name.slice(1)}"`;
  return [name, `"${name}"`, `pg_catalog.${name}`, `"pg_catalog"."${name}"`, uEscaped, name.toUpperCase(), `public.${name}`];
}

const functionAttacks: Attack[] = DANGEROUS_FUNCTIONS.flatMap(([name, args]) =>
  nameForms(name).map((form) => ({ cls: 'function name forms', sql: `SELECT ${form}(${args})` })),
);

/** Allowed-looking reads that hide the call in another syntactic position. */
const hiddenCalls: Attack[] = [
  'SELECT * FROM pg_sleep(1)',
  "SELECT * FROM pg_ls_dir('.') AS f",
  'SELECT count(*) FROM pg_stat_activity WHERE pg_terminate_backend(pid)',
  'SELECT pid FROM pg_stat_activity ORDER BY pg_cancel_backend(pid)',
  'SELECT (pid).pg_terminate_backend FROM pg_stat_activity',
  'SELECT a.pg_terminate_backend FROM pg_stat_activity a',
  'SELECT pg_stat_activity.pg_cancel_backend FROM pg_stat_activity',
  'SELECT (SELECT pg_advisory_lock(1))',
  'SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pg_try_advisory_lock(pid))',
  "WITH x AS (SELECT set_config('role', 'admin', false)) SELECT * FROM x",
  'SELECT CASE WHEN true THEN pg_reload_conf() END',
  'SELECT COALESCE(NULL, pg_switch_wal()::text)',
  'SELECT max(pid) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity',
  'SELECT row_number() OVER (ORDER BY pg_sleep(1))',
  'SELECT 1 OPERATOR(public.+) 1',
  "SELECT 'a' ### 'b'",
  "SELECT '1'::public.evil_type",
  'SELECT CAST(1 AS app.trigger_type)',
  "SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x int)",
  'SELECT * FROM pg_class TABLESAMPLE SYSTEM (10)',
  "SELECT xmlelement(name a, pg_read_file('/etc/passwd'))",
  "SELECT * FROM json_to_record('{}') AS x(a int)",
  'SELECT * FROM ROWS FROM (pg_sleep(1))',
].map((sql) => ({ cls: 'calls in other positions', sql }));

/** Reads of application data, secrets or files (no function needed). */
const dataReads: Attack[] = [
  'SELECT * FROM app.users',
  'SELECT * FROM users',
  'TABLE users',
  'SELECT * FROM public.pg_stat_activity',
  'SELECT rolpassword FROM pg_authid',
  'SELECT passwd FROM pg_shadow',
  'SELECT * FROM pg_catalog.pg_user_mapping',
  'SELECT * FROM pg_user_mappings',
  'SELECT * FROM pg_largeobject',
  'SELECT * FROM other_db.pg_catalog.pg_class',
  'SELECT (SELECT secret FROM app.tokens LIMIT 1)',
  'SELECT * FROM pg_stat_activity, app.orders',
  'SELECT * FROM pg_file_settings',
  'SELECT * FROM pg_statistic',
  "SELECT * FROM dblink('dbname=appdb', 'SELECT secret FROM t') AS t(s text)",
].map((sql) => ({ cls: 'application data and files', sql }));

/** Every string and comment syntax, each used to hide a second statement. */
const TAIL = 'COMMIT; BEGIN READ WRITE; CREATE TABLE pwned(a int); INSERT INTO pwned VALUES (1)';
const stacking: Attack[] = [
  `SELECT E'\\''; ${TAIL}`,
  `SELECT E'\\\\'; ${TAIL}`,
  `SELECT E'\\x27'; ${TAIL}`,
  `SELECT e'\\'''; ${TAIL}`,
  `SELECT 'a''b'; ${TAIL}`,
  `SELECT ''; ${TAIL}`,
  `SELECT U&'\\0027'; ${TAIL}`,
  `SELECT U&'!0027' UESCAPE '!'; ${TAIL}`,
  `SELECT U&"a""b"; ${TAIL}`,
  `SELECT $$'$$; ${TAIL}`,
  `SELECT $a$ $$ ' $a$; ${TAIL}`,
  `SELECT $_$;$_$; ${TAIL}`,
  `SELECT B'101'; ${TAIL}`,
  `SELECT X'1F'; ${TAIL}`,
  `SELECT N'x'; ${TAIL}`,
  `SELECT 'a' 'b'; ${TAIL}`,
  `SELECT 'a'\n'b'; ${TAIL}`,
  `SELECT "a;b" FROM pg_stat_activity; ${TAIL}`,
  `SELECT 1 /* /* nested */ still comment */; ${TAIL}`,
  `SELECT 1 /* ; */; ${TAIL}`,
  `SELECT 1 -- comment\n; ${TAIL}`,
  `SELECT 1 --\r; ${TAIL}`,
  `SELECT 1; ${TAIL}`,
  `SELECT 1;${TAIL}`,
  `SHOW work_mem; ${TAIL}`,
  `SELECT 1; SELECT 2`,
  `SHOW ALL; RESET ALL`,
  `;${TAIL}`,
  `SELECT 1\\;${TAIL}`,
  `SELECT 1 \\g ${TAIL}`,
].map((sql) => ({ cls: 'strings, comments and stacking', sql }));

const transactionControl: Attack[] = [
  'COMMIT',
  'ROLLBACK',
  'END',
  'ABORT',
  'BEGIN',
  'BEGIN READ WRITE',
  'START TRANSACTION READ WRITE',
  'SET TRANSACTION READ WRITE',
  'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
  'SAVEPOINT s',
  'RELEASE SAVEPOINT s',
  'ROLLBACK TO SAVEPOINT s',
  "PREPARE TRANSACTION 'x'",
  "COMMIT PREPARED 'x'",
  'COMMIT AND CHAIN',
].map((sql) => ({ cls: 'transaction control', sql }));

const sessionSettings: Attack[] = [
  'SET default_transaction_read_only = off',
  'SET transaction_read_only = off',
  'SET search_path = evil, pg_catalog',
  'SET ROLE admin',
  'SET SESSION AUTHORIZATION admin',
  'RESET ALL',
  'RESET default_transaction_read_only',
  'DISCARD ALL',
  "LOAD 'auto_explain'",
  "SELECT set_config('default_transaction_read_only', 'off', false)",
  "SELECT set_config('search_path', 'evil', false)",
  "SELECT set_config('role', 'admin', false)",
  "SELECT pg_catalog.set_config('transaction_read_only', 'off', true)",
  'ALTER SYSTEM SET default_transaction_read_only = off',
  'ALTER ROLE CURRENT_USER SET default_transaction_read_only = off',
].map((sql) => ({ cls: 'session settings', sql }));

const writes: Attack[] = [
  'INSERT INTO t VALUES (1)',
  'UPDATE t SET a = 1',
  'DELETE FROM t',
  'MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE',
  'CREATE TABLE pwned (a int)',
  'CREATE TEMP TABLE pwned (a int)',
  'SELECT 1 AS a INTO pwned',
  'SELECT * INTO TEMP pwned FROM pg_stat_activity',
  'CREATE TABLE pwned AS SELECT 1',
  'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
  'WITH i AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1',
  'COPY t TO STDOUT',
  "COPY t FROM '/etc/passwd'",
  "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned'",
  'DO $$ BEGIN CREATE TABLE pwned(a int); END $$',
  'CALL p()',
  'VACUUM',
  'ANALYZE',
  'CLUSTER',
  'REINDEX DATABASE appdb',
  'TRUNCATE t',
  'LOCK TABLE pg_class',
  "NOTIFY c, 'x'",
  'LISTEN c',
  'PREPARE p AS SELECT 1',
  'EXECUTE p',
  'DEALLOCATE ALL',
  'CHECKPOINT',
  'GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC',
  "COMMENT ON TABLE t IS 'x'",
  'REFRESH MATERIALIZED VIEW m',
  'SELECT * FROM pg_class FOR UPDATE',
  'SELECT * FROM pg_class FOR SHARE',
  'SELECT * FROM pg_class FOR NO KEY UPDATE',
  'SELECT * FROM pg_class FOR KEY SHARE',
  'EXPLAIN ANALYZE DELETE FROM t',
  'EXPLAIN SELECT 1',
  'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
  'DROP TABLE t',
  "SECURITY LABEL ON TABLE t IS 'x'",
  'IMPORT FOREIGN SCHEMA s FROM SERVER x INTO public',
  'DECLARE c CURSOR FOR SELECT 1',
  'FETCH ALL FROM c',
].map((sql) => ({ cls: 'writes, DDL and utility statements', sql }));

const malformed: Attack[] = ['', ' ', ';', 'SELEC 1', "SELECT 'unterminated", 'SELECT $$unterminated', 'SELECT /* unterminated', '\u0000SELECT 1'].map(
  (sql) => ({
    cls: 'malformed',
    sql,
  }),
);

export const PG_ATTACKS: readonly Attack[] = [
  ...functionAttacks,
  ...hiddenCalls,
  ...dataReads,
  ...stacking,
  ...transactionControl,
  ...sessionSettings,
  ...writes,
  ...malformed,
];
