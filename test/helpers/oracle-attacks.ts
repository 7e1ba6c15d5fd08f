// Oracle SQL that must never reach the database through the agent's session, by
// attack class (issue 18). None may pass the guard.
import type { Attack } from './pg-attacks.js';

/** Packages and functions with side effects, dynamic SQL, file/network access or autonomous transactions. */
const DANGEROUS: ReadonlyArray<[name: string, args: string]> = [
  ['dbms_lock.sleep', '10'],
  ['dbms_session.sleep', '10'],
  ['dbms_sql.execute', '1'],
  ['dbms_xmlgen.getxml', "'DELETE FROM t'"],
  ['dbms_xmlquery.getxml', "'SELECT * FROM app.users'"],
  ['dbms_scheduler.create_job', "'j'"],
  ['dbms_job.submit', '1'],
  ['dbms_pipe.send_message', "'p'"],
  ['dbms_alert.signal', "'a', 'm'"],
  ['dbms_stats.gather_schema_stats', "'APP'"],
  ['dbms_utility.exec_ddl_statement', "'DROP TABLE t'"],
  ['dbms_assert.noop', "'x'"],
  ['dbms_java.runjava', "'x'"],
  ['utl_http.request', "'http://attacker'"],
  ['utl_inaddr.get_host_address', "'attacker'"],
  ['utl_file.fopen', "'DIR', 'f', 'w'"],
  ['utl_smtp.open_connection', "'mx'"],
  ['httpuritype', "'http://attacker'"],
  ['dbms_ldap.init', "'attacker', 389"],
  ['sys.kupp$proc.create_master_process', "'x'"],
  ['app.autonomous_writer', '1'],
  ['ctxsys.drithsx.sn', "1, 'x'"],
];

function nameForms(name: string): string[] {
  const parts = name.split('.');
  const quoted = parts.map((p) => `"${p.toUpperCase()}"`).join('.');
  return [name, name.toUpperCase(), quoted, `sys.${name}`, `${name}@remote`, parts.map((p) => p.toUpperCase()).join(' . ')];
}

const calls: Attack[] = DANGEROUS.flatMap(([name, args]) =>
  nameForms(name).flatMap((form) => [
    { cls: 'package and function name forms', sql: `SELECT ${form}(${args}) FROM dual` },
    { cls: 'package and function name forms', sql: `SELECT * FROM TABLE(${form}(${args}))` },
  ]),
);

const undeclaredFunctions: Attack[] = [
  'ora_hash',
  'sys_guid',
  'userenv',
  'xmltype',
  'extractvalue',
  'dbms_random',
  'standard_hash',
  'lnnvl',
  'ora_invoking_user',
  'updatexml',
  'appendchildxml',
  'sys_connect_by_path',
  'xmlquery',
].map((f) => ({
  cls: 'functions not on the allowlist',
  sql: `SELECT ${f}('x') FROM dual`,
}));

const TAIL = "BEGIN EXECUTE IMMEDIATE 'CREATE TABLE pwned (a NUMBER)'; END;";
const stacking: Attack[] = [
  `SELECT 1 FROM dual; ${TAIL}`,
  `SELECT 'a''b' FROM dual; ${TAIL}`,
  `SELECT q'[x']' FROM dual; ${TAIL}`,
  `SELECT Q'{;}' FROM dual`,
  `SELECT nq'!x!' FROM dual`,
  `SELECT N'x' FROM dual; ${TAIL}`,
  `SELECT 1 FROM dual /* ; */; ${TAIL}`,
  `SELECT 1 FROM dual -- x\n; ${TAIL}`,
  `SELECT 1 FROM dual\n/\n${TAIL}`,
  `SELECT "A;B" FROM dual`,
  `SELECT 1 FROM dual ${TAIL}`,
  `WITH FUNCTION f RETURN NUMBER IS BEGIN EXECUTE IMMEDIATE 'DROP TABLE t'; RETURN 1; END; SELECT f FROM dual`,
  `WITH PROCEDURE p IS BEGIN NULL; END; SELECT 1 FROM dual`,
  `SELECT 1 FROM dual UNION ALL SELECT dbms_lock.sleep(1) FROM dual`,
].map((sql) => ({ cls: 'strings, comments and stacking', sql }));

const dynamicAndLinks: Attack[] = [
  "EXECUTE IMMEDIATE 'DROP TABLE t'",
  'BEGIN NULL; END;',
  'DECLARE x NUMBER; BEGIN NULL; END;',
  'CALL dbms_lock.sleep(1)',
  'EXEC dbms_lock.sleep(1)',
  'SELECT * FROM t@remote',
  'SELECT * FROM app.t@remote.example.com',
  'SELECT * FROM dual@"REMOTE"',
  "SELECT * FROM TABLE(dbms_xplan.display_cursor('x'))",
  "SELECT XMLTYPE(dbms_xmlgen.getxml('SELECT 1 FROM dual')) FROM dual",
].map((sql) => ({ cls: 'dynamic SQL and database links', sql }));

const transactions: Attack[] = [
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT s',
  'SET TRANSACTION READ WRITE',
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'SET ROLE dba',
  'ALTER SESSION SET CURRENT_SCHEMA = app',
  'ALTER SESSION ENABLE PARALLEL DML',
  "ALTER SYSTEM KILL SESSION '1,2'",
  'LOCK TABLE t IN EXCLUSIVE MODE',
].map((sql) => ({ cls: 'transaction control and session settings', sql }));

const writes: Attack[] = [
  'INSERT INTO t VALUES (1)',
  'UPDATE t SET a = 1',
  'DELETE FROM t',
  'MERGE INTO t USING s ON (t.a = s.a) WHEN MATCHED THEN UPDATE SET t.b = 1',
  'CREATE TABLE pwned (a NUMBER)',
  'DROP TABLE t',
  'TRUNCATE TABLE t',
  'GRANT DBA TO monitor',
  'SELECT * FROM t FOR UPDATE',
  'SELECT * FROM t FOR UPDATE NOWAIT',
  'SELECT seq.NEXTVAL FROM dual',
  'SELECT app.seq.nextval FROM dual',
  'INSERT ALL INTO t VALUES (1) SELECT 1 FROM dual',
  'SELECT 1 INTO x FROM dual',
  'ANALYZE TABLE t COMPUTE STATISTICS',
  'PURGE RECYCLEBIN',
  'FLASHBACK TABLE t TO BEFORE DROP',
  'AUDIT ALL',
  "COMMENT ON TABLE t IS 'x'",
  'EXPLAIN PLAN FOR DELETE FROM t',
  'RENAME t TO u',
].map((sql) => ({ cls: 'writes', sql }));

const dataReads: Attack[] = [
  'SELECT * FROM app.users',
  'SELECT * FROM users',
  'SELECT password FROM sys.user$',
  'SELECT spare4 FROM sys.user$',
  'SELECT * FROM app.dba_users',
  'SELECT * FROM t1, app.users',
  'SELECT * FROM dual d, users u',
  'SELECT * FROM sys.link$',
  'SELECT * FROM app.secrets s JOIN v$session v ON 1 = 1',
].map((sql) => ({ cls: 'application data and secrets', sql }));

const malformed: Attack[] = ['', ' ', ';', 'SELEC 1 FROM dual', "SELECT 'unterminated FROM dual", 'SELECT 1 FROM dual /* unterminated'].map((sql) => ({
  cls: 'malformed',
  sql,
}));

export const ORACLE_ATTACKS: readonly Attack[] = [
  ...calls,
  ...undeclaredFunctions,
  ...stacking,
  ...dynamicAndLinks,
  ...transactions,
  ...writes,
  ...dataReads,
  ...malformed,
];
