import type { ChecklistItem, IdentityReport } from '../core/engine.js';
import type { GrantRef } from '../core/signal.js';
import type { Target } from '../target.js';
import { mssqlCatalog } from './catalog.js';
import { GRANTS, logShippingGrant, PLATFORM_LABEL } from './model.js';
import { quoteName } from './names.js';
import { mssqlOptions } from './options.js';
import type { MssqlSession } from './session.js';
import { fixFor, permissionName, probe, probeFor } from './visibility.js';

/** The checklist item that is a connection setting, not a grant: never part of the SQL script. */
export const TLS_ITEM = 'TLS: server certificate validation';

interface IdentityRow {
  login_name: string;
  user_name: string;
  sysadmin: number | null;
  securityadmin: number | null;
  serveradmin: number | null;
  control_server: number | null;
  alter_any_login: number | null;
  impersonate_any_login: number | null;
  read_all_data: number | null;
  master_control: number | null;
  db_owner: number | null;
  db_securityadmin: number | null;
  db_accessadmin: number | null;
  db_ddladmin: number | null;
  db_datawriter: number | null;
}

export const IDENTITY_SQL = `SELECT SUSER_SNAME() AS login_name, USER_NAME() AS user_name,
       IS_SRVROLEMEMBER(N'sysadmin') AS sysadmin, IS_SRVROLEMEMBER(N'securityadmin') AS securityadmin,
       IS_SRVROLEMEMBER(N'serveradmin') AS serveradmin,
       HAS_PERMS_BY_NAME(NULL, NULL, N'CONTROL SERVER') AS control_server,
       HAS_PERMS_BY_NAME(NULL, NULL, N'ALTER ANY LOGIN') AS alter_any_login,
       HAS_PERMS_BY_NAME(NULL, NULL, N'IMPERSONATE ANY LOGIN') AS impersonate_any_login,
       HAS_PERMS_BY_NAME(NULL, NULL, N'SELECT ALL USER SECURABLES') AS read_all_data,
       HAS_PERMS_BY_NAME(N'master', N'DATABASE', N'CONTROL') AS master_control,
       IS_ROLEMEMBER(N'db_owner') AS db_owner, IS_ROLEMEMBER(N'db_securityadmin') AS db_securityadmin,
       IS_ROLEMEMBER(N'db_accessadmin') AS db_accessadmin, IS_ROLEMEMBER(N'db_ddladmin') AS db_ddladmin,
       IS_ROLEMEMBER(N'db_datawriter') AS db_datawriter`;

/**
 * Administrator detection. IS_SRVROLEMEMBER is NULL when membership is not visible
 * and always 0 on Azure SQL Database, where the server admin is dbo of the database;
 * so the database-level roles and CONTROL on master count too.
 */
export async function mssqlIdentity(s: MssqlSession): Promise<IdentityReport> {
  const [r] = await s.query<IdentityRow>(IDENTITY_SQL);
  if (r === undefined) throw new Error('the identity probe returned no row');
  const db = quoteName(s.facts.database);
  const reasons: string[] = [];
  const serverWide = r.sysadmin === 1 || r.control_server === 1;
  if (r.sysadmin === 1) reasons.push('is a member of sysadmin');
  else if (r.control_server === 1) reasons.push('has CONTROL SERVER');
  if (r.securityadmin === 1) reasons.push('is a member of securityadmin (can grant itself any permission)');
  if (r.serveradmin === 1) reasons.push('is a member of serveradmin');
  if (!serverWide) {
    if (r.alter_any_login === 1 && r.securityadmin !== 1) reasons.push('has ALTER ANY LOGIN');
    if (r.impersonate_any_login === 1) reasons.push('has IMPERSONATE ANY LOGIN');
    if (r.read_all_data === 1) reasons.push('has SELECT ALL USER SECURABLES (reads every table)');
    if (r.master_control === 1 && s.facts.database !== 'master' && s.facts.platform !== 'azure_sql_database') reasons.push('is db_owner of [master]');
    if (s.facts.platform === 'azure_sql_database' && r.user_name === 'dbo') reasons.push(`is dbo of ${db} (the server admin or the database owner)`);
    else if (r.db_owner === 1) reasons.push(`is db_owner of ${db}`);
    for (const role of ['db_securityadmin', 'db_accessadmin', 'db_ddladmin', 'db_datawriter'] as const) {
      if (r[role] === 1 && r.db_owner !== 1) reasons.push(`is a member of ${role} in ${db}`);
    }
  }
  return {
    user: s.facts.platform === 'azure_sql_database' ? r.user_name : r.login_name,
    serverVersion: `${PLATFORM_LABEL[s.facts.platform]} ${s.facts.productVersion} (${s.facts.edition})`,
    isAdministrator: reasons.length > 0,
    reasons,
  };
}

const signalsNeeding = (ref: GrantRef): string[] => mssqlCatalog.filter((sig) => sig.requires.includes(ref)).map((sig) => sig.id);

const WHAT: Record<string, { granted: string; missing: string }> = {
  [GRANTS.serverState]: {
    granted: 'sees every session, request, wait, query statistic and server DMV',
    missing: "SQL Server shows only the agent's own session and refuses the other DMVs (Msg 300 + 297)",
  },
  [GRANTS.anyDefinition]: {
    granted: 'sees the metadata of every object, login and availability group',
    missing: 'metadata visibility hides objects and logins the identity does not own: catalog views come back partial or empty',
  },
  [GRANTS.connectAnyDatabase]: {
    granted: 'can read metadata in every database, including ones created later',
    missing: 'schema and role signals cover only the databases this login has a user in',
  },
  [GRANTS.viewAnyDatabase]: {
    granted: 'sees every database in sys.databases',
    missing: 'sys.databases shows only master, tempdb and the databases this login owns',
  },
  [GRANTS.msdbLogShipping]: {
    granted: 'can read the msdb log shipping monitor tables',
    missing: 'msdb.dbo.log_shipping_monitor_primary/secondary are not readable (Msg 229)',
  },
};

export async function mssqlChecklist(s: MssqlSession): Promise<ChecklistItem[]> {
  const refs = [GRANTS.serverState, GRANTS.anyDefinition, GRANTS.connectAnyDatabase, GRANTS.viewAnyDatabase, GRANTS.msdbLogShipping].filter(
    (r) => probeFor(s, r) !== undefined,
  );
  const held = await probe(s, refs);
  const [state] = await s.query<{ hadr: number | null; query_store: boolean | null }>(
    "SELECT CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS hadr, (SELECT is_query_store_on FROM sys.databases WHERE database_id = DB_ID()) AS query_store",
  );
  const items: ChecklistItem[] = refs.map((ref) =>
    held.get(ref)
      ? { grant: permissionName(s, ref), status: 'granted', signals: signalsNeeding(ref), detail: WHAT[ref]!.granted }
      : { grant: permissionName(s, ref), status: 'missing', signals: signalsNeeding(ref), detail: WHAT[ref]!.missing, fix: fixFor(s, ref)! },
  );
  items.push(
    state?.query_store === true
      ? { grant: 'Query Store', status: 'granted', signals: ['mssql.query_stats'], detail: `on in ${quoteName(s.facts.database)}: statistics survive restarts` }
      : {
          grant: 'Query Store',
          status: 'not_enabled',
          signals: ['mssql.query_stats'],
          detail: `off in ${quoteName(s.facts.database)}: query statistics come from the plan cache instead (lost on restart or eviction)`,
          fix: `-- optional, a DBA decision (it writes to the database):\nALTER DATABASE ${quoteName(s.facts.database)} SET QUERY_STORE = ON;`,
        },
  );
  if (s.facts.platform !== 'azure_sql_database') {
    const ag = signalsNeeding(GRANTS.serverState).filter((id) => id.startsWith('mssql.availability_'));
    if (state?.hadr !== 1)
      items.push({ grant: 'Always On availability groups', status: 'not_applicable', signals: ag, detail: 'not enabled on this instance' });
  }
  items.push(
    s.tls.certificateValidated
      ? {
          grant: TLS_ITEM,
          status: 'granted',
          signals: [],
          detail: `the connection is encrypted${s.tls.encryption === 'strict' ? ' (TDS 8.0 strict)' : ''} and the server certificate validated`,
        }
      : {
          grant: TLS_ITEM,
          status: 'missing',
          signals: [],
          detail:
            s.tls.encryption === 'login-only'
              ? 'WARNING: tls.mode disable: only the login packet is encrypted unless the server forces encryption; statements and results cross the network in clear'
              : 'WARNING: the server certificate is trusted without validation (trustServerCertificate): anyone on the path can impersonate the server',
          fix: 'In the target file: "tls": { "mode": "verify-full", "caFile": "<CA that signed the server certificate>" }',
        },
  );
  return items;
}

/** Azure SQL Database logical servers are <name>.database.windows.net (Managed Instances have one more label). */
export function looksLikeAzureSqlDatabase(host: string): boolean {
  return /^[^.]+\.database\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net)$/i.test(host);
}

const entra = (t: Target): boolean => mssqlOptions(t).authentication.startsWith('entra-');

function dedicatedScript(target: Target): string[] {
  const login = 'logstag_monitor';
  const l = quoteName(login);
  const db = quoteName(target.database ?? 'master');
  if (looksLikeAzureSqlDatabase(target.host)) {
    return [
      `-- Azure SQL Database: a contained user in the monitored database ${db} (connect to ${db}, not to master).`,
      entra(target) ? `CREATE USER ${l} FROM EXTERNAL PROVIDER;` : `CREATE USER ${l} WITH PASSWORD = N'<choose a strong password>';`,
      `-- Databases on the SQL Server 2022 permission model know VIEW DATABASE PERFORMANCE STATE; older ones only VIEW DATABASE STATE.`,
      `IF EXISTS (SELECT 1 FROM sys.fn_builtin_permissions(N'DATABASE') WHERE permission_name = N'VIEW DATABASE PERFORMANCE STATE')`,
      `    EXEC (N'GRANT VIEW DATABASE PERFORMANCE STATE TO ${l.replace(/'/g, "''")};');`,
      'ELSE',
      `    GRANT VIEW DATABASE STATE TO ${l};`,
      `GRANT VIEW DEFINITION TO ${l};`,
    ];
  }
  const windows = mssqlOptions(target).authentication === 'ntlm';
  const name = windows ? '[DOMAIN\\logstag_monitor]' : l;
  return [
    'USE [master];',
    windows
      ? `CREATE LOGIN ${name} FROM WINDOWS;  -- a dedicated domain account`
      : entra(target)
        ? `CREATE LOGIN ${name} FROM EXTERNAL PROVIDER;  -- Azure SQL Managed Instance / SQL Server 2022 with Entra`
        : `CREATE LOGIN ${name} WITH PASSWORD = N'<choose a strong password>', CHECK_POLICY = ON;`,
    `GRANT CONNECT ANY DATABASE TO ${name};  -- connect only: reads no table data`,
    `GRANT VIEW ANY DEFINITION TO ${name};`,
    '-- SQL Server 2022 and later (and Managed Instance) know VIEW SERVER PERFORMANCE STATE, the narrower permission;',
    '-- 2016-2019 refuse a statement that names it (Msg 102), so it is granted through EXEC only where it exists.',
    `IF EXISTS (SELECT 1 FROM sys.fn_builtin_permissions(N'SERVER') WHERE permission_name = N'VIEW SERVER PERFORMANCE STATE')`,
    `    EXEC (N'GRANT VIEW SERVER PERFORMANCE STATE TO ${name.replace(/'/g, "''")};');`,
    'ELSE',
    `    GRANT VIEW SERVER STATE TO ${name};`,
    '-- Optional: log shipping status (msdb).',
    ...logShippingGrant(windows ? 'DOMAIN\\logstag_monitor' : login).split('\n'),
    'USE [master];',
  ];
}

/** One reviewable script: the dedicated login and user, or exactly the missing grants of this identity. */
export function mssqlGrantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string {
  const lines = [
    `-- Logstag monitoring identity for target "${target.id}" (${target.host}:${target.port}/${target.database ?? ''})`,
    '-- Review, then run as a member of sysadmin (or securityadmin) — on Azure SQL Database as the server admin.',
    '-- Nothing here grants access to table data or any write permission.',
  ];
  if (items === 'all') return `${[...lines, ...dedicatedScript(target)].join('\n')}\n`;
  const todo = items.filter((i) => (i.status === 'missing' || i.status === 'not_enabled') && i.fix !== undefined && i.grant !== TLS_ITEM);
  if (todo.length === 0) lines.push('-- Nothing is missing: every enabled signal is readable.');
  for (const i of todo) lines.push(`-- ${i.grant}: ${i.detail} (${i.signals.join(', ')})`, i.fix!);
  return `${lines.join('\n')}\n`;
}
