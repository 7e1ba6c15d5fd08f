import { describe, expect, it } from 'vitest';
import { ConfigError, TargetConnectError } from '../../collectors/core/engine.js';
import { mapMssqlConnectError, mapMssqlSignalError, SqlServerError } from '../../collectors/mssql/errors.js';
import { ReadOnlyViolation } from '../../collectors/mssql/guard.js';
import { MssqlSession } from '../../collectors/mssql/session.js';
import * as E from '../fixtures/mssql/errors.js';
import { AZURE_SQL_DB, SQL2019, SQL2022 } from '../fixtures/mssql/servers.js';
import { failingConnect, FakeSqlServer } from '../helpers/mssql-fake.js';
import { MemoryAudit, mssqlTarget } from '../helpers/mssql.js';

const MONITOR = { login: 'monitor', user: 'monitor', serverPerms: ['VIEW SERVER STATE'] };
const ctx = (audit = new MemoryAudit()) => ({ audit, applicationName: 'logstag-agent/0.1.0' });

/** Statements the session must refuse before they reach the driver. */
const WRITES = [
  'INSERT INTO dbo.t VALUES (1)',
  'UPDATE dbo.t SET a = 1',
  'DELETE FROM dbo.t',
  'MERGE dbo.t AS t USING dbo.s AS s ON t.id = s.id WHEN MATCHED THEN DELETE;',
  'TRUNCATE TABLE dbo.t',
  'CREATE TABLE dbo.x (a int)',
  'ALTER DATABASE app SET QUERY_STORE = ON',
  'DROP LOGIN monitor',
  'GRANT CONTROL SERVER TO monitor',
  'DENY SELECT ON dbo.t TO app_user',
  "EXEC sp_configure N'xp_cmdshell', 1",
  "EXECUTE AS LOGIN = N'sa'",
  'DBCC FREEPROCCACHE',
  "DBCC SQLPERF(N'sys.dm_os_wait_stats', CLEAR)",
  'KILL 52',
  'SHUTDOWN WITH NOWAIT',
  'RECONFIGURE',
  "BACKUP DATABASE app TO DISK = N'nul'",
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'BEGIN TRAN',
  'SELECT * INTO dbo.copy FROM dbo.t',
  'SELECT 1; UPDATE dbo.t SET a = 2',
  'SELECT 1 UPDATE dbo.t SET a = 2',
  'SELECT NEXT VALUE FOR dbo.seq',
  'WITH c AS (SELECT * FROM dbo.t) DELETE FROM c',
];

describe('SQL Server session', () => {
  it('connects read-only: READ UNCOMMITTED, ApplicationIntent=ReadOnly, request timeout, app name, certificate validated by default', async () => {
    const fake = new FakeSqlServer({ model: SQL2019, identity: MONITOR });
    const s = await MssqlSession.open(mssqlTarget({ statementTimeoutMs: 4000 }), 'pw', ctx(), fake.connect);
    const cfg = fake.configs[0]!;
    expect(cfg.options).toMatchObject({
      connectionIsolationLevel: 1,
      readOnlyIntent: true,
      appName: 'logstag-agent/0.1.0',
      encrypt: true,
      trustServerCertificate: false,
    });
    expect(cfg).toMatchObject({ requestTimeout: 4000, user: 'monitor', password: 'pw', database: 'app', pool: { max: 1 } });
    expect(s.facts).toMatchObject({ platform: 'sql_server', majorVersion: 15, serverPerformanceState: false, login: 'monitor' });
    await s.close();
    expect(fake.closed).toBe(1);
  });

  it('refuses every non-read statement before it is sent, and audits the refusal', async () => {
    const fake = new FakeSqlServer({ model: SQL2022, identity: MONITOR });
    const audit = new MemoryAudit();
    const s = await MssqlSession.open(mssqlTarget(), 'pw', ctx(audit), fake.connect);
    const sentBefore = [...fake.sent];
    for (const sql of WRITES) await expect(s.query(sql), sql).rejects.toBeInstanceOf(ReadOnlyViolation);
    expect(fake.sent).toEqual(sentBefore);
    const refused = audit.entries.filter((e) => e.outcome === 'refused');
    expect(refused.map((e) => e.statement)).toEqual(WRITES.map((w) => w.replace(/\s+/g, ' ').trim()));
    expect(refused.every((e) => e.code === 'read_only_guard' && e.engine === 'mssql')).toBe(true);
    await s.close();
  });

  it('closes the connection and refuses the session when READ UNCOMMITTED is not in force', async () => {
    const fake = new FakeSqlServer({ model: SQL2019, identity: MONITOR, isolationLevel: 2 });
    await expect(MssqlSession.open(mssqlTarget(), 'pw', ctx(), fake.connect)).rejects.toThrow(/not READ UNCOMMITTED/);
    expect(fake.closed).toBe(1);
  });

  it('TLS and authentication options map onto tedious; impossible combinations are configuration errors', async () => {
    const fake = new FakeSqlServer({ model: SQL2022, identity: MONITOR });
    const open = (extra: Parameters<typeof mssqlTarget>[0], pw: string | null = 'pw') =>
      MssqlSession.open(mssqlTarget(extra), pw ?? undefined, ctx(), fake.connect).then((s) => s.close());
    await open({ tls: { mode: 'require' } });
    expect(fake.configs.at(-1)!.options).toMatchObject({ encrypt: true, trustServerCertificate: true });
    await open({ tls: { mode: 'disable' } });
    expect(fake.configs.at(-1)!.options).toMatchObject({ encrypt: false });
    await open({ tls: { mode: 'verify-full', serverName: 'sql01.corp' }, mssql: { strictEncryption: true } });
    expect(fake.configs.at(-1)!.options).toMatchObject({ encrypt: 'strict', trustServerCertificate: false, serverName: 'sql01.corp' });
    await open({ user: 'CONTOSO\\svc_mon', mssql: { authentication: 'ntlm' } });
    expect(fake.configs.at(-1)!.authentication).toEqual({ type: 'ntlm', options: { userName: 'svc_mon', password: 'pw', domain: 'CONTOSO' } });
    await open({ user: 'app-id', mssql: { authentication: 'entra-service-principal', tenantId: 't-1' } });
    expect(fake.configs.at(-1)!.authentication).toEqual({
      type: 'azure-active-directory-service-principal-secret',
      options: { clientId: 'app-id', clientSecret: 'pw', tenantId: 't-1' },
    });
    await open({ mssql: { authentication: 'entra-managed-identity', readOnlyIntent: false } }, null);
    expect(fake.configs.at(-1)).toMatchObject({ authentication: { type: 'azure-active-directory-msi-vm' }, options: { readOnlyIntent: false } });
    await expect(open({ tls: { mode: 'verify-ca' } })).rejects.toThrow(ConfigError);
    await expect(open({ tls: { mode: 'require' }, mssql: { strictEncryption: true } })).rejects.toThrow(ConfigError);
    await expect(open({ tls: { mode: 'verify-full', caFile: '/nonexistent/ca.pem' } })).rejects.toThrow(/tls.caFile \/nonexistent\/ca.pem: no such file/);
    await expect(open({}, null)).rejects.toThrow(/needs a password/);
  });

  it('connection failures map to authentication / unreachable / timeout / tls (CLI exit 3)', async () => {
    const kinds: Array<[Error, string]> = [
      [E.loginFailed('monitor'), 'authentication'],
      [E.refused('127.0.0.1', 1433), 'unreachable'],
      [E.connectTimeout('sql01', 1433, 10000), 'timeout'],
      [E.selfSignedCertificate('sql01', 1433), 'tls'],
    ];
    for (const [err, kind] of kinds) {
      const open = MssqlSession.open(mssqlTarget(), 'pw', ctx(), failingConnect(err));
      await expect(open).rejects.toBeInstanceOf(TargetConnectError);
      await expect(open).rejects.toMatchObject({ kind });
    }
    expect(mapMssqlConnectError(E.loginFailed('monitor'), 'sql01:1433').message).toBe("sql01:1433: Login failed for user 'monitor'.");
  });
});

describe('SQL Server error mapping', () => {
  const grantee = { login: 'monitor', user: 'monitor', azureSqlDatabase: false };
  const through = (err: Error, g = grantee) => mapMssqlSignalError(SqlServerError.from(err, g));

  it('Msg 300 + 297: permission with the GRANT the message names, for this login', () => {
    expect(through(E.deniedServerPermission('VIEW SERVER STATE'))).toEqual({
      status: 'unavailable',
      reason: 'permission',
      detail: "Msg 300: VIEW SERVER STATE permission was denied on object 'server', database 'master'.",
      fix: 'USE [master]; GRANT VIEW SERVER STATE TO [monitor];',
    });
    expect(through(E.deniedServerPermission('VIEW SERVER PERFORMANCE STATE')).fix).toBe('USE [master]; GRANT VIEW SERVER PERFORMANCE STATE TO [monitor];');
  });

  it('Azure Msg 262, Msg 229 and Msg 916 are permission problems with their own fix', () => {
    expect(through(E.deniedDatabasePermission('VIEW DATABASE STATE', 'app'), { ...grantee, azureSqlDatabase: true })).toMatchObject({
      reason: 'permission',
      fix: 'GRANT VIEW DATABASE STATE TO [monitor];  -- in database [app]',
    });
    expect(through(E.deniedObject('log_shipping_monitor_primary', 'msdb', 'dbo')).fix).toMatch(
      /^USE \[msdb\]; GRANT SELECT ON \[dbo\]\.\[log_shipping_monitor_primary\] TO \[monitor\];/,
    );
    expect(through(E.cannotAccessDatabase('monitor', 'sales'))).toMatchObject({
      reason: 'permission',
      fix: expect.stringContaining('GRANT CONNECT ANY DATABASE TO [monitor];'),
    });
  });

  it('a missing view is unsupported, a request timeout is timeout, a guard refusal is an error — never 0', () => {
    expect(through(E.invalidObject('sys.dm_os_process_memory')).reason).toBe('unsupported');
    expect(through(E.requestTimeout(5000)).reason).toBe('timeout');
    expect(mapMssqlSignalError(new ReadOnlyViolation('x')).reason).toBe('error');
  });

  it('a name with a closing bracket is quoted, not injected', () => {
    expect(through(E.deniedServerPermission('VIEW SERVER STATE'), { ...grantee, login: 'evil]; DROP LOGIN sa; --' }).fix).toBe(
      'USE [master]; GRANT VIEW SERVER STATE TO [evil]]; DROP LOGIN sa; --];',
    );
  });

  it('an error mid-cycle reaches the payload mapped (the session annotates who to grant)', async () => {
    const fake = new FakeSqlServer({
      model: AZURE_SQL_DB,
      identity: { login: 'monitor', user: 'mon_user', serverPerms: [], dbPerms: ['VIEW DATABASE STATE'] },
      override: [{ match: /dm_db_wait_stats/, answer: () => E.deniedDatabasePermission('VIEW DATABASE STATE', 'app') }],
    });
    const s = await MssqlSession.open(mssqlTarget(), 'pw', ctx(), fake.connect);
    const err = await s.query('SELECT wait_type FROM sys.dm_db_wait_stats').catch((e: unknown) => e);
    expect(mapMssqlSignalError(err)).toMatchObject({ reason: 'permission', fix: 'GRANT VIEW DATABASE STATE TO [mon_user];  -- in database [app]' });
    await s.close();
  });
});
