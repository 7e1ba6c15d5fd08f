import { describe, expect, it } from 'vitest';
import { ConfigError, TargetConnectError } from '../../collectors/core/engine.js';
import { FAMILIES } from '../../collectors/core/signal.js';
import { oracleCatalog } from '../../collectors/oracle/catalog.js';
import { mapOracleSignalError } from '../../collectors/oracle/errors.js';
import { ReadOnlyViolation } from '../../collectors/oracle/guard.js';
import { createOracleCollector } from '../../collectors/oracle/index.js';
import { OracleSession } from '../../collectors/oracle/session.js';
import { FakeOracleDriver, fixtureCases, oracleError } from '../helpers/oracle-fake.js';
import { createSessionOnly, dbaUser, leastPrivileged, MemoryAudit, oracleTarget, runOracle, statuses } from '../helpers/oracle.js';

const LICENSED = ['oracle.ash_activity', 'oracle.awr_top_sql'];
/** Any reference to a Diagnostics Pack object (ASH, AWR, ADDM). */
const PACK_OBJECTS = /ACTIVE_SESSION_HISTORY|\b(DBA|CDB)_HIST_|\bAWR_(ROOT|PDB|CDB)_|\b(DBA|CDB)_ADDM_|DBMS_WORKLOAD_REPOSITORY/i;
const ctx = (audit = new MemoryAudit()) => ({ audit, applicationName: 'logstag-agent/0.1.0' });

describe('Oracle catalog', () => {
  it('has unique ids, covers every family, and every field carries a category decision', () => {
    expect(new Set(oracleCatalog.map((s) => s.id)).size).toBe(oracleCatalog.length);
    for (const s of oracleCatalog) {
      expect(s.id).toMatch(/^oracle\.[a-z_]+$/);
      expect(Object.keys(s.fields).length, s.id).toBeGreaterThan(0);
    }
    expect(new Set(oracleCatalog.map((s) => s.family))).toEqual(new Set(FAMILIES.filter((f) => f !== 'slowlog' && f !== 'cloud')));
    expect(oracleCatalog.filter((s) => s.optIn === 'license').map((s) => s.id)).toEqual(LICENSED);
    expect(oracleCatalog.find((s) => s.id === 'oracle.sql_stats')?.fields).toMatchObject({ sql_text: 'query_text' });
  });

  it('every signal has a fixture whose columns are exactly its fields (fixtures are the shape the driver returns)', () => {
    // Fields the collector adds itself, not columns of the query.
    const added: Record<string, string[]> = { 'oracle.instance': ['container', 'container_name'] };
    for (const spec of oracleCatalog) {
      const c = fixtureCases.find((f) => f.signal === spec.id);
      expect(c, spec.id).toBeDefined();
      const columns = c!.metaData.map((m) => m.name);
      expect(
        columns.every((n) => n === n.toUpperCase()),
        spec.id,
      ).toBe(true);
      expect([...columns.map((n) => n.toLowerCase()), ...(added[spec.id] ?? [])].sort(), spec.id).toEqual(Object.keys(spec.fields).sort());
      for (const row of c!.rows) expect(Object.keys(row).sort(), spec.id).toEqual([...columns].sort());
    }
  });
});

describe('Oracle collector, three identities (fake driver shaped like node-oracledb)', () => {
  it('CREATE SESSION only: every signal unavailable/permission with the exact GRANT on V_$, licensed ones not_licensed', async () => {
    const r = await runOracle(createSessionOnly);
    const st = statuses(r.payload);
    for (const id of LICENSED) expect(st[id], id).toBe('not_licensed');
    for (const s of r.payload.signals.filter((x) => !LICENSED.includes(x.id))) {
      expect(s, s.id).toMatchObject({ status: 'unavailable', reason: 'permission' });
      expect(s).not.toHaveProperty('value');
      expect((s as { fix?: string }).fix, s.id).toMatch(/^GRANT SELECT ON SYS\.(V_\$|CDB_|AUDIT_UNIFIED_)\w+ TO LOGSTAG_LOW;$/m);
    }
    expect(r.payload.signals.find((s) => s.id === 'oracle.sessions')).toMatchObject({ fix: 'GRANT SELECT ON SYS.V_$SESSION TO LOGSTAG_LOW;' });
    expect(r.identity).toEqual({ user: 'LOGSTAG_LOW', isAdministrator: false, reasons: [], serverVersion: 'Oracle 19.24.0.0.0 (PDB SALESPDB)' });
    const item = (g: string) => r.items.find((i) => i.grant === g);
    expect(item('CREATE SESSION')?.status).toBe('granted');
    expect(item('CONTAINER_DATA=ALL')).toBeUndefined(); // a PDB has no other containers to see
    expect(item('SELECT ON SYS.V_$SESSION')).toMatchObject({ status: 'missing', fix: 'GRANT SELECT ON SYS.V_$SESSION TO LOGSTAG_LOW;' });
    expect(item('Oracle Diagnostics Pack licence')?.status).toBe('not_licensed');
    expect(r.items.filter((i) => i.grant.startsWith('SELECT ON ')).every((i) => i.status === 'missing')).toBe(true);
    expect(r.script).toContain('GRANT SELECT ON SYS.V_$SQLSTATS TO LOGSTAG_LOW;');
    expect(r.script).toContain('-- GRANT SELECT_CATALOG_ROLE TO LOGSTAG_LOW;');
    expect(r.script).not.toMatch(/^GRANT SELECT ON SYS\.V_\$ACTIVE_SESSION_HISTORY/m);
  });

  it('least-privileged common user in CDB$ROOT with the recommended grants: every unlicensed signal ok, nothing missing', async () => {
    const r = await runOracle(leastPrivileged());
    const notOk = Object.entries(statuses(r.payload)).filter(([, v]) => v !== 'ok');
    expect(notOk).toEqual(LICENSED.map((id) => [id, 'not_licensed']));
    expect(r.identity.isAdministrator).toBe(false);
    expect(r.identity.serverVersion).toBe('Oracle 23.6.0.24.10 (CDB$ROOT)');
    expect(r.items.filter((i) => i.status !== 'granted').map((i) => [i.grant, i.status])).toEqual([['Oracle Diagnostics Pack licence', 'not_licensed']]);
    expect(r.items.find((i) => i.grant === 'CONTAINER_DATA=ALL')?.status).toBe('granted');
    expect(r.script).toMatch(/Nothing is missing/);
    // Rows arrive with lower-case keys and exactly the declared fields.
    for (const s of r.payload.signals) {
      if (s.status !== 'ok') continue;
      const spec = oracleCatalog.find((x) => x.id === s.id)!;
      const rows = Array.isArray(s.value) ? (s.value as Record<string, unknown>[]) : [s.value as Record<string, unknown>];
      for (const row of rows) expect(Object.keys(row).sort(), s.id).toEqual(Object.keys(spec.fields).sort());
    }
    const value = (id: string) => (r.payload.signals.find((s) => s.id === id) as { value: unknown }).value;
    expect(value('oracle.instance')).toMatchObject({
      version: '19.24.0.0.0',
      database_role: 'PRIMARY',
      container: 'root',
      container_name: 'CDB$ROOT',
      uptime_seconds: 1987354,
    });
    expect(value('oracle.blocking')).toEqual([expect.objectContaining({ waiting_sid: 142, blocking_sid: 377, final_blocking_sid: 377 })]);
    expect((value('oracle.sql_stats') as { sql_text: string }[])[0]?.sql_text).toMatch(/^UPDATE orders/);
    expect(value('oracle.dataguard_lag')).toEqual([]); // a primary: an empty list, not an error
  });

  it('a common user without CONTAINER_DATA=ALL in CDB$ROOT: container views are permission, not a root-only answer', async () => {
    const r = await runOracle({ ...leastPrivileged(), containerDataAll: false });
    const sessions = r.payload.signals.find((s) => s.id === 'oracle.sessions');
    expect(sessions).toMatchObject({
      status: 'unavailable',
      reason: 'permission',
      fix: 'ALTER USER C##LOGSTAG_MONITOR SET CONTAINER_DATA=ALL CONTAINER=CURRENT;',
    });
    expect(statuses(r.payload)['oracle.sysmetrics']).toBe('ok'); // instance-wide, no container filter
    expect(r.items.find((i) => i.grant === 'CONTAINER_DATA=ALL')).toMatchObject({ status: 'missing' });
    expect(r.script).toContain('ALTER USER C##LOGSTAG_MONITOR SET CONTAINER_DATA=ALL CONTAINER=CURRENT;');
  });

  it('a DBA user is flagged as an administrator and gets the dedicated-identity script with both grant options', async () => {
    const r = await runOracle(dbaUser);
    expect(r.identity.isAdministrator).toBe(true);
    expect(r.identity.reasons).toEqual([
      'has role DBA',
      'has role DATAPUMP_EXP_FULL_DATABASE',
      'has role EXP_FULL_DATABASE',
      'has system privileges ALTER SYSTEM, GRANT ANY PRIVILEGE, SELECT ANY TABLE, ALTER USER, CREATE USER and 1 more',
    ]);
    expect(r.identity.serverVersion).toBe('Oracle 19.24.0.0.0 (non-CDB)');
    const notOk = Object.entries(statuses(r.payload)).filter(([, v]) => v !== 'ok');
    expect(notOk).toEqual(LICENSED.map((id) => [id, 'not_licensed']));
    expect(r.script).toMatch(/^CREATE USER C##LOGSTAG_MONITOR IDENTIFIED BY "<choose a strong password>" CONTAINER=ALL;$/m);
    expect(r.script).toMatch(/^GRANT CREATE SESSION TO C##LOGSTAG_MONITOR CONTAINER=ALL;$/m);
    expect(r.script).toMatch(/^GRANT SELECT ON SYS\.V_\$SESSION TO C##LOGSTAG_MONITOR CONTAINER=ALL;$/m);
    expect(r.script).toMatch(/^-- GRANT SELECT_CATALOG_ROLE TO C##LOGSTAG_MONITOR CONTAINER=ALL;$/m);
    // Never the V$ synonym: Oracle refuses grants on it.
    expect(r.script).not.toMatch(/^GRANT SELECT ON (SYS\.)?V\$/m);
    expect(r.script).toMatch(/^-- GRANT SELECT ON SYS\.V_\$ACTIVE_SESSION_HISTORY/m);
  });

  it('SYSDBA, SYS/SYSTEM and ANY privileges are administrators; SELECT ANY DICTIONARY alone is not', async () => {
    const base = { ...createSessionOnly, readable: 'all' as const };
    expect((await runOracle({ ...base, isDba: true })).identity.reasons).toEqual(['is connected AS SYSDBA']);
    expect((await runOracle({ ...base, user: 'SYSTEM' })).identity.reasons).toEqual(['is SYSTEM, a built-in administrator']);
    expect((await runOracle({ ...base, privileges: ['CREATE SESSION', 'SELECT ANY TABLE'] })).identity.reasons).toEqual([
      'has system privilege SELECT ANY TABLE',
    ]);
    expect((await runOracle({ ...base, privileges: ['CREATE SESSION', 'SELECT ANY DICTIONARY'] })).identity.isAdministrator).toBe(false);
  });
});

describe('Diagnostics Pack (ASH/AWR) licence', () => {
  it('without the operator confirmation no ASH/AWR object is ever queried, not even by the checklist', async () => {
    for (const who of [createSessionOnly, leastPrivileged(true), dbaUser]) {
      const r = await runOracle(who); // the identity could read them: only the licence keeps them closed
      expect(r.driver.statements.length).toBeGreaterThan(20);
      expect(r.driver.statements.filter((s) => PACK_OBJECTS.test(s))).toEqual([]);
      expect(r.audit.entries.filter((e) => PACK_OBJECTS.test(e.statement))).toEqual([]);
      for (const id of LICENSED) expect(statuses(r.payload)[id]).toBe('not_licensed');
    }
  });

  it('the session refuses ASH/AWR views without the confirmation, before the driver sees them', async () => {
    const driver = new FakeOracleDriver(dbaUser);
    const audit = new MemoryAudit();
    const s = await OracleSession.open(driver, oracleTarget('DBADMIN'), 'pw', ctx(audit));
    const sent = driver.statements.length;
    await expect(s.query('SELECT COUNT(*) AS n FROM v$active_session_history')).rejects.toThrow(/Diagnostics Pack licence/);
    await expect(s.query('SELECT snap_id FROM dba_hist_snapshot')).rejects.toBeInstanceOf(ReadOnlyViolation);
    expect(driver.statements.length).toBe(sent);
    expect(audit.entries.filter((e) => e.outcome === 'refused')).toHaveLength(2);
    await s.close();
  });

  it('with "oracle": {"diagnosticsPack": true} ASH and AWR are read and probed', async () => {
    const r = await runOracle(leastPrivileged(true), { oracle: { diagnosticsPack: true } });
    expect(Object.values(statuses(r.payload)).every((v) => v === 'ok')).toBe(true);
    expect(r.driver.statements.some((s) => /FROM v\$active_session_history/.test(s))).toBe(true);
    expect(r.items.find((i) => i.grant === 'Oracle Diagnostics Pack licence')?.status).toBe('granted');
    expect(r.items.find((i) => i.grant === 'SELECT ON SYS.V_$ACTIVE_SESSION_HISTORY')?.status).toBe('granted');
  });

  it('licensed but switched off on the server (control_management_pack_access = NONE): not_enabled, views untouched', async () => {
    const packOff = { ...leastPrivileged(true), answers: { "name = 'control_management_pack_access'": [{ VALUE: 'NONE' }] } };
    const r = await runOracle(packOff, { oracle: { diagnosticsPack: true } });
    for (const id of LICENSED) {
      expect(r.payload.signals.find((s) => s.id === id)).toMatchObject({
        status: 'unavailable',
        reason: 'not_enabled',
        fix: expect.stringContaining('control_management_pack_access'),
      });
    }
    expect(r.items.find((i) => i.grant === 'control_management_pack_access')).toMatchObject({ status: 'not_enabled' });
    expect(r.driver.statements.filter((s) => /FROM (v\$active_session_history|dba_hist_sqlstat)/.test(s))).toEqual([]);
  });

  it('the licence field is validated strictly and belongs to oracle targets only', () => {
    expect(() => oracleTarget('U', { oracle: { diagnosticsPack: 'yes' } })).toThrow();
    expect(() => oracleTarget('U', { oracle: { diagnosticsPack: true, tuningPack: true } })).toThrow();
    expect(oracleTarget('U', { oracle: {} }).oracle).toEqual({ diagnosticsPack: false });
    expect(() => oracleTarget('U', { engine: 'postgres', database: 'app', oracle: { diagnosticsPack: true } })).toThrow(/oracle targets only/);
  });
});

describe('Oracle read-only session', () => {
  it('starts every transaction with SET TRANSACTION READ ONLY, never commits, ends with a rollback', async () => {
    const r = await runOracle(leastPrivileged());
    for (const conn of r.driver.connections) {
      expect(conn.calls[0]).toMatchObject({ method: 'execute', sql: 'SET TRANSACTION READ ONLY' });
      const queries = conn.calls.filter((c) => c.method === 'execute' && c.sql !== 'SET TRANSACTION READ ONLY');
      expect(queries.length).toBeGreaterThan(0);
      expect(queries.every((c) => c.inReadOnlyTransaction && c.options?.autoCommit === false)).toBe(true);
      expect(conn.calls.slice(-2).map((c) => c.method)).toEqual(['rollback', 'close']);
      expect(conn.writes).toEqual([]);
    }
    // The audit ledger holds every statement sent, and only reads besides the transaction bracket.
    const sent = r.driver.statements.length + r.driver.connections.length; // + one ROLLBACK each
    expect(r.audit.entries).toHaveLength(sent);
    for (const e of r.audit.entries) expect(e.statement).toMatch(/^(SELECT|WITH)\b|^SET TRANSACTION READ ONLY$|^ROLLBACK$/);
  });

  it('identifies itself and bounds every round trip', async () => {
    const driver = new FakeOracleDriver(leastPrivileged());
    const s = await OracleSession.open(driver, oracleTarget('C##LOGSTAG_MONITOR', { statementTimeoutMs: 4000, connectTimeoutMs: 2500 }), 'pw', ctx());
    const c = driver.connections[0]!;
    expect(c.attrs).toMatchObject({
      user: 'C##LOGSTAG_MONITOR',
      password: 'pw',
      connectString: 'tcp://db1.example.internal:1521/salespdb',
      connectTimeout: 3,
      program: 'logstag-agent/0.1.0',
    });
    expect({ callTimeout: c.callTimeout, module: c.module, action: c.action, clientId: c.clientId }).toEqual({
      callTimeout: 4000,
      module: 'logstag-agent/0.1.0',
      action: 'read-only monitoring',
      clientId: 'logstag-agent',
    });
    await s.close();
    const tls = new FakeOracleDriver(leastPrivileged());
    await (await OracleSession.open(tls, oracleTarget('U', { tls: { mode: 'verify-full' } }), 'pw', ctx())).close();
    expect(tls.connections[0]!.attrs).toMatchObject({ connectString: 'tcps://db1.example.internal:1521/salespdb', sslServerDNMatch: true });
  });

  it('refuses SYS (read-only transactions do not apply to it) and a CA file Thin mode cannot use, before connecting', async () => {
    const driver = new FakeOracleDriver(dbaUser);
    await expect(OracleSession.open(driver, oracleTarget('sys'), 'pw', ctx())).rejects.toMatchObject({
      kind: 'authentication',
      message: expect.stringMatching(/does not log in as SYS/),
    });
    await expect(OracleSession.open(driver, oracleTarget('U', { tls: { mode: 'verify-ca', caFile: '/etc/ca.pem' } }), 'pw', ctx())).rejects.toThrow(
      ConfigError,
    );
    expect(driver.connections).toHaveLength(0);
  });

  const NON_READS = [
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET x = 1',
    'DELETE FROM t',
    'MERGE INTO t USING s ON (t.id = s.id) WHEN MATCHED THEN UPDATE SET t.x = s.x',
    'CREATE TABLE t (x NUMBER)',
    'DROP TABLE t',
    'TRUNCATE TABLE t',
    "ALTER SYSTEM KILL SESSION '12,345'",
    'ALTER SESSION SET CONTAINER = pdb1',
    'GRANT DBA TO scott',
    'BEGIN dbms_lock.sleep(1); END;',
    'DECLARE x NUMBER; BEGIN NULL; END;',
    "CALL dbms_stats.gather_schema_stats('APP')",
    'COMMIT',
    'ROLLBACK',
    'SET TRANSACTION READ WRITE',
    'LOCK TABLE t IN EXCLUSIVE MODE',
    'SELECT * FROM t FOR UPDATE',
    'SELECT 1 FROM dual; DELETE FROM t',
    'SELECT dbms_lock.sleep(5) FROM dual',
    'SELECT sys.dbms_random.value() FROM dual',
    'SELECT my_function(1) FROM dual',
    'WITH FUNCTION f RETURN NUMBER IS BEGIN RETURN 1; END; SELECT f() FROM dual',
    'SELECT * FROM t@remote_db',
    'SELECT "DBMS_LOCK"."SLEEP"(5) FROM dual',
    "SELECT q'[x]' FROM dual",
    'SELECT 1 INTO x FROM dual',
    '/* SELECT */ DELETE FROM t',
    'EXPLAIN PLAN FOR SELECT 1 FROM dual',
  ];

  it.each(NON_READS)('refuses before sending: %s', async (sql) => {
    const driver = new FakeOracleDriver(dbaUser);
    const audit = new MemoryAudit();
    const s = await OracleSession.open(driver, oracleTarget('DBADMIN'), 'pw', ctx(audit));
    const before = driver.statements.length;
    await expect(s.query(sql)).rejects.toBeInstanceOf(ReadOnlyViolation);
    expect(driver.statements.length).toBe(before);
    expect(audit.entries.at(-1)).toMatchObject({ outcome: 'refused', code: 'read_only_guard' });
    await s.close();
    expect(driver.connections[0]!.writes).toEqual([]);
  });
});

describe('Oracle errors as node-oracledb raises them', () => {
  const connectWith = async (code: string): Promise<unknown> => {
    const collector = createOracleCollector(new FakeOracleDriver(dbaUser, oracleError(code)));
    return collector.connect(oracleTarget('DBADMIN'), 'secret-pw', ctx()).catch((e: unknown) => e);
  };

  it('ORA-01017 is an authentication failure (exit 3), and the message never carries the password', async () => {
    const err = await connectWith('ORA-01017');
    expect(err).toBeInstanceOf(TargetConnectError);
    expect(err).toMatchObject({ kind: 'authentication', message: expect.stringContaining('ORA-01017') });
    expect((err as Error).message).not.toContain('secret-pw');
  });

  it('NJS-533 / ORA-12660 and NJS-116 explain the Thin-mode limits plainly', async () => {
    const nne = (await connectWith('NJS-533')) as TargetConnectError;
    expect(nne.kind).toBe('tls');
    expect(nne.message).toMatch(/native network encryption.*Thin mode does not support.*TLS/);
    const verifier = (await connectWith('NJS-116')) as TargetConnectError;
    expect(verifier.kind).toBe('authentication');
    expect(verifier.message).toMatch(/10G verifier.*sec_case_sensitive_logon/);
    expect(((await connectWith('NJS-503')) as TargetConnectError).kind).toBe('unreachable');
  });

  it('signal errors map to permission / timeout, never to zero', () => {
    expect(mapOracleSignalError(oracleError('ORA-00942'))).toMatchObject({ reason: 'permission' });
    expect(mapOracleSignalError(oracleError('ORA-01031'))).toMatchObject({ reason: 'permission' });
    expect(mapOracleSignalError(oracleError('NJS-123'))).toMatchObject({ reason: 'timeout' });
    expect(mapOracleSignalError(oracleError('ORA-00942')).detail).not.toContain('Help:');
  });
});
