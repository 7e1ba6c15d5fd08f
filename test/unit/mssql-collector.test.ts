import { describe, expect, it } from 'vitest';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import { TLS_ITEM } from '../../collectors/mssql/grants.js';
import { AZURE_SQL_DB, SQL2019, SQL2022, type ServerModel } from '../fixtures/mssql/servers.js';
import { FakeSqlServer, type Identity } from '../helpers/mssql-fake.js';
import { mssqlTarget, runAgainst, signal, statuses } from '../helpers/mssql.js';

const NONE: Identity = { login: 'monitor', user: 'monitor', serverPerms: [] };
const LEAST_2019: Identity = {
  login: 'monitor',
  user: 'monitor',
  serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER STATE', 'VIEW ANY DEFINITION'],
  msdbLogShipping: true,
};
const LEAST_2022: Identity = {
  login: 'monitor',
  user: 'monitor',
  serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER PERFORMANCE STATE', 'VIEW ANY DEFINITION'],
  msdbLogShipping: true,
};
const SYSADMIN: Identity = { login: 'dba', user: 'dba', serverPerms: [], serverRoles: ['sysadmin'] };

/** Signals every identity reads: public metadata (sys.configurations only up to 2019: 2022 needs VIEW SERVER PERFORMANCE STATE). */
const PUBLIC = ['mssql.server', 'mssql.databases', 'mssql.configuration'];
const publicOn = (model: ServerModel): string[] => (model === SQL2022 ? PUBLIC.filter((id) => id !== 'mssql.configuration') : PUBLIC);
/** Signals behind VIEW SERVER (PERFORMANCE) STATE / VIEW ANY DEFINITION / msdb. */
const GATED = [
  'mssql.sessions',
  'mssql.blocking',
  'mssql.waits',
  'mssql.query_stats',
  'mssql.file_io',
  'mssql.memory',
  'mssql.memory_clerks',
  'mssql.tempdb',
  'mssql.tables',
  'mssql.indexes',
  'mssql.missing_indexes',
  'mssql.server_principals',
  'mssql.security',
  'mssql.database_roles',
  'mssql.log_shipping',
];
const AG = ['mssql.availability_replicas', 'mssql.availability_databases'];
// sys.dm_exec_requests shows only the agent's own connection on Azure SQL Database: sessions and blocking cannot be read there.
const AZURE_UNSUPPORTED = [
  'mssql.sessions',
  'mssql.blocking',
  'mssql.memory',
  'mssql.memory_clerks',
  'mssql.server_principals',
  'mssql.security',
  'mssql.log_shipping',
  ...AG,
];

const fake = (model: ServerModel, identity: Identity, extra: Partial<ConstructorParameters<typeof FakeSqlServer>[0]> = {}) =>
  new FakeSqlServer({ model, identity, ...extra });

describe('SQL Server catalog', () => {
  it('every field of every signal carries a category decision, ids are unique, every family but slowlog is covered', () => {
    for (const spec of mssqlCatalog) {
      expect(spec.id).toMatch(/^mssql\.[a-z_]+$/);
      expect(Object.keys(spec.fields).length, spec.id).toBeGreaterThan(0);
    }
    expect(new Set(mssqlCatalog.map((s) => s.id)).size).toBe(mssqlCatalog.length);
    expect(new Set(mssqlCatalog.map((s) => s.family))).toEqual(
      new Set(['server_stats', 'activity', 'query_stats', 'waits_locks', 'replication', 'schema', 'security_posture', 'config']),
    );
    // Text the policy engine must normalise is tagged query_text, and only statement text is.
    const queryText = mssqlCatalog.flatMap((s) =>
      Object.entries(s.fields)
        .filter(([, c]) => c === 'query_text')
        .map(([f]) => `${s.id}.${f}`),
    );
    expect(queryText.sort()).toEqual(['mssql.query_stats.query_text', 'mssql.sessions.statement_text']);
  });
});

describe.each([
  ['2019', SQL2019, LEAST_2019, 'VIEW SERVER STATE'],
  ['2022', SQL2022, LEAST_2022, 'VIEW SERVER PERFORMANCE STATE'],
] as const)('SQL Server %s permission model', (_label, model, least, stateGrant) => {
  it('a login with no server grants: public signals read, the rest unavailable/permission with the exact GRANT, never an empty list', async () => {
    const run = await runAgainst(fake(model, NONE));
    const st = statuses(run.payload);
    for (const id of publicOn(model)) expect(st[id], id).toBe('ok');
    for (const id of GATED) expect(st[id], id).toBe('permission');
    if (model === SQL2022) expect(st['mssql.configuration']).toBe('permission');
    for (const id of AG) expect(st[id], id).toBe('not_enabled');
    for (const s of run.payload.signals.filter((x) => x.status === 'unavailable')) expect(s).not.toHaveProperty('value');
    expect(signal(run.payload, 'mssql.sessions').fix).toBe(`USE [master]; GRANT ${stateGrant} TO [monitor];`);
    expect(signal(run.payload, 'mssql.server_principals').fix).toBe('USE [master]; GRANT VIEW ANY DEFINITION TO [monitor];');
    expect(signal(run.payload, 'mssql.tables').fix).toBe(
      `USE [master]; GRANT VIEW ANY DEFINITION TO [monitor];\nUSE [master]; GRANT ${stateGrant} TO [monitor];`,
    );
    expect(signal(run.payload, 'mssql.log_shipping').fix).toContain('GRANT SELECT ON dbo.log_shipping_monitor_primary TO [monitor];');

    expect(run.identity).toMatchObject({ user: 'monitor', isAdministrator: false, reasons: [] });
    const item = (g: string) => run.items.find((i) => i.grant === g);
    expect(item(stateGrant)).toMatchObject({ status: 'missing', fix: `USE [master]; GRANT ${stateGrant} TO [monitor];` });
    expect(item('VIEW ANY DEFINITION')?.status).toBe('missing');
    expect(item('CONNECT ANY DATABASE')?.status).toBe('missing');
    expect(item('VIEW ANY DATABASE')?.status).toBe('granted');
    expect(item('SELECT on msdb log shipping monitor tables')?.status).toBe('missing');
    expect(item('Always On availability groups')?.status).toBe('not_applicable');
    expect(item(stateGrant)?.signals).toEqual(expect.arrayContaining(['mssql.sessions', 'mssql.query_stats', 'mssql.waits']));
    expect(run.script).toContain(`GRANT ${stateGrant} TO [monitor];`);
    // A 2019 script naming the 2022 permission fails (Msg 102/15151): it must not appear there.
    if (model === SQL2019) expect(run.script).not.toMatch(/PERFORMANCE STATE/);
    expect(run.script).not.toContain(TLS_ITEM);
  });

  it('the least-privileged login: every signal readable, nothing missing, not an administrator', async () => {
    const run = await runAgainst(fake(model, least, { hadr: true }));
    const notOk = Object.entries(statuses(run.payload)).filter(([, v]) => v !== 'ok');
    expect(notOk).toEqual([]);
    expect(run.identity.isAdministrator).toBe(false);
    expect(run.items.filter((i) => i.status === 'missing')).toEqual([]);
    expect(run.items.find((i) => i.grant === stateGrant)?.status).toBe('granted');
    expect(run.script).toContain('Nothing is missing');
    // Values are the server's, JSON-plain (datetimes as ISO strings).
    expect(signal<{ started_at: string; platform: string }>(run.payload, 'mssql.server').value).toMatchObject({
      started_at: '2026-11-25T09:00:00.000Z',
      platform: 'sql_server',
    });
    const chains = signal<Array<{ session_id: number; head_blocker_session_id: number; chain_depth: number }>>(run.payload, 'mssql.blocking').value;
    expect(chains).toEqual([
      expect.objectContaining({ session_id: 57, head_blocker_session_id: 61, chain_depth: 1 }),
      expect.objectContaining({ session_id: 63, head_blocker_session_id: 61, chain_depth: 2 }),
    ]);
    expect(signal<Array<{ role_desc: string }>>(run.payload, 'mssql.availability_replicas').value).toHaveLength(2);
  });

  it('sysadmin: flagged as administrator with the dedicated, version-aware login script', async () => {
    const run = await runAgainst(fake(model, SYSADMIN));
    const st = statuses(run.payload);
    expect(Object.entries(st).filter(([, v]) => v !== 'ok' && v !== 'not_enabled')).toEqual([]);
    expect(run.identity.isAdministrator).toBe(true);
    expect(run.identity.reasons).toContain('is a member of sysadmin');
    expect(run.script).toMatch(/CREATE LOGIN \[logstag_monitor\] WITH PASSWORD = N'<choose a strong password>', CHECK_POLICY = ON;/);
    expect(run.script).toContain('GRANT CONNECT ANY DATABASE TO [logstag_monitor];');
    expect(run.script).toContain('GRANT VIEW ANY DEFINITION TO [logstag_monitor];');
    // Runs on every version: the 2022 permission is only ever named inside EXEC, after the server says it knows it.
    const lines = run.script.split('\n');
    for (const l of lines.filter((x) => x.includes('VIEW SERVER PERFORMANCE STATE TO'))) expect(l).toMatch(/^\s+EXEC \(N'GRANT VIEW SERVER PERFORMANCE STATE/);
    expect(run.script).toMatch(/ELSE\n {4}GRANT VIEW SERVER STATE TO \[logstag_monitor\];/);
  });
});

describe('SQL Server 2022 accepts a 2019-style grant', () => {
  it('VIEW SERVER STATE covers VIEW SERVER PERFORMANCE STATE', async () => {
    const run = await runAgainst(fake(SQL2022, LEAST_2019));
    expect(run.items.find((i) => i.grant === 'VIEW SERVER PERFORMANCE STATE')?.status).toBe('granted');
    expect(statuses(run.payload)['mssql.sessions']).toBe('ok');
  });
});

describe('Azure SQL Database (contained user, database-scoped permissions)', () => {
  const target = mssqlTarget({ host: 'contoso.database.windows.net' });
  const AZ_NONE: Identity = { login: 'monitor', user: 'monitor', serverPerms: [] };
  const AZ_LEAST: Identity = { login: 'monitor', user: 'monitor', serverPerms: [], dbPerms: ['VIEW DATABASE PERFORMANCE STATE', 'VIEW DEFINITION'] };
  const AZ_ADMIN: Identity = { login: 'sqladmin', user: 'dbo', serverPerms: [], dbRoles: ['db_owner'] };

  it('no grants: database-scoped signals unavailable/permission with a database GRANT; server-only signals unsupported', async () => {
    const run = await runAgainst(fake(AZURE_SQL_DB, AZ_NONE), target);
    const st = statuses(run.payload);
    for (const id of PUBLIC) expect(st[id], id).toBe('ok');
    for (const id of AZURE_UNSUPPORTED) expect(st[id], id).toBe('unsupported');
    for (const id of GATED.filter((x) => !AZURE_UNSUPPORTED.includes(x))) expect(st[id], id).toBe('permission');
    expect(signal(run.payload, 'mssql.waits').fix).toBe('GRANT VIEW DATABASE PERFORMANCE STATE TO [monitor];  -- in database [app]');
    expect(run.identity).toMatchObject({ isAdministrator: false, user: 'monitor' });
    expect(run.identity.serverVersion).toMatch(/^Azure SQL Database 12\.0/);
    expect(run.items.map((i) => i.grant)).not.toContain('CONNECT ANY DATABASE');
    expect(run.items.find((i) => i.grant === 'VIEW DEFINITION')?.status).toBe('missing');
    expect(run.script).not.toMatch(/USE \[/);
  });

  it('VIEW DATABASE PERFORMANCE STATE + VIEW DEFINITION: everything the platform offers is readable', async () => {
    const run = await runAgainst(fake(AZURE_SQL_DB, AZ_LEAST), target);
    const st = statuses(run.payload);
    expect(Object.entries(st).filter(([id, v]) => v !== 'ok' && !AZURE_UNSUPPORTED.includes(id))).toEqual([]);
    expect(run.items.filter((i) => i.status === 'missing')).toEqual([]);
    expect(run.identity.isAdministrator).toBe(false);
  });

  it('the server admin (dbo; IS_SRVROLEMEMBER is 0 here): flagged, with the contained-user script', async () => {
    const run = await runAgainst(fake(AZURE_SQL_DB, AZ_ADMIN), target);
    expect(run.identity.isAdministrator).toBe(true);
    expect(run.identity.reasons.join(' ')).toMatch(/dbo of \[app\]/);
    expect(run.script).toContain("CREATE USER [logstag_monitor] WITH PASSWORD = N'<choose a strong password>';");
    expect(run.script).toContain('GRANT VIEW DEFINITION TO [logstag_monitor];');
    expect(run.script).not.toMatch(/CREATE LOGIN|USE \[master\]/);
  });
});

describe('SQL Server details', () => {
  it('Query Store off: query statistics come from the plan cache; text flagged restricted is dropped (fail closed)', async () => {
    const run = await runAgainst(fake(SQL2019, LEAST_2019, { queryStore: false }));
    const rows = signal<Array<{ source: string; query_text: string | null; text_restricted: boolean }>>(run.payload, 'mssql.query_stats').value;
    expect(rows.every((r) => r.source === 'plan_cache')).toBe(true);
    expect(rows.find((r) => r.text_restricted)?.query_text).toBeNull();
    expect(rows.find((r) => !r.text_restricted)?.query_text).toContain('dbo.orders');
    expect(run.items.find((i) => i.grant === 'Query Store')).toMatchObject({ status: 'not_enabled', fix: expect.stringContaining('SET QUERY_STORE = ON') });
  });

  it('Query Store on: statistics from Query Store, restricted text never present', async () => {
    const run = await runAgainst(fake(SQL2022, LEAST_2022));
    const rows = signal<Array<{ source: string; query_text: string | null; text_restricted: boolean; last_execution_time: string }>>(
      run.payload,
      'mssql.query_stats',
    ).value;
    expect(rows.map((r) => r.source)).toEqual(['query_store', 'query_store']);
    expect(rows[1]).toMatchObject({ text_restricted: true, query_text: null });
    expect(rows[0]!.last_execution_time).toBe('2026-11-26T09:59:00.000Z');
  });

  it('a server-level role member that can grant itself anything (securityadmin) is an administrator', async () => {
    const run = await runAgainst(fake(SQL2019, { ...LEAST_2019, serverRoles: ['securityadmin'] }));
    expect(run.identity.isAdministrator).toBe(true);
    expect(run.identity.reasons).toContain('is a member of securityadmin (can grant itself any permission)');
  });

  it('db_owner / db_datawriter in the monitored database and CONTROL SERVER are flagged', async () => {
    const owner = await runAgainst(fake(SQL2019, { ...LEAST_2019, dbRoles: ['db_owner'] }));
    expect(owner.identity.reasons).toContain('is db_owner of [app]');
    const writer = await runAgainst(fake(SQL2019, { ...LEAST_2019, dbRoles: ['db_datawriter'] }));
    expect(writer.identity.reasons).toContain('is a member of db_datawriter in [app]');
    const control = await runAgainst(fake(SQL2022, { ...NONE, serverPerms: ['CONTROL SERVER'] }));
    expect(control.identity.reasons).toEqual(['has CONTROL SERVER']);
  });

  it('VIEW ANY DATABASE revoked from public: the database list is reported as permission, not as two databases', async () => {
    const run = await runAgainst(fake(SQL2019, LEAST_2019, { revokePublicViewAnyDatabase: true }));
    expect(signal(run.payload, 'mssql.databases')).toMatchObject({
      status: 'unavailable',
      reason: 'permission',
      fix: 'USE [master]; GRANT VIEW ANY DATABASE TO [monitor];',
    });
  });

  it('TLS without certificate validation is a visible warning in the checklist, never in the SQL script', async () => {
    const run = await runAgainst(fake(SQL2019, LEAST_2019), mssqlTarget({ tls: { mode: 'require' } }));
    const tls = run.items.find((i) => i.grant === TLS_ITEM);
    expect(tls).toMatchObject({ status: 'missing', detail: expect.stringMatching(/^WARNING: .*trustServerCertificate/) });
    expect(run.script).not.toMatch(/verify-full|TLS/);
    const strict = await runAgainst(fake(SQL2022, LEAST_2022), mssqlTarget({ mssql: { strictEncryption: true } }));
    expect(strict.items.find((i) => i.grant === TLS_ITEM)).toMatchObject({ status: 'granted', detail: expect.stringContaining('TDS 8.0 strict') });
  });

  it('every statement the collector sent during a full cycle was a single SELECT or WITH … SELECT', async () => {
    const f = fake(SQL2022, SYSADMIN, { hadr: true });
    const run = await runAgainst(f);
    expect(f.sent.length).toBeGreaterThan(mssqlCatalog.length);
    for (const sql of f.sent) expect(sql.trimStart()).toMatch(/^(SELECT|WITH)\b/);
    expect(run.audit.entries.every((e) => e.outcome === 'ok' && e.engine === 'mssql')).toBe(true);
    expect(run.audit.entries.length).toBe(f.sent.length);
  });
});
