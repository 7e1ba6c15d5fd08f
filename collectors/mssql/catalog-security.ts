import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { perDatabase } from './databases.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants, requirePlatform } from './visibility.js';
import { requireViews } from './views.js';

/** "a,b" from FOR XML PATH concatenation (STRING_AGG needs 2017+) → ['a', 'b']. */
const list = (csv: string | null): string[] => (csv === null || csv === '' ? [] : csv.split(','));

interface PrincipalRow {
  name: string;
  type_desc: string;
  is_disabled: boolean;
  default_database_name: string | null;
  is_policy_checked: boolean | null;
  is_expiration_checked: boolean | null;
  server_roles: string[];
}
const serverPrincipals = defineSignal<MssqlSession, PrincipalRow>({
  id: 'mssql.server_principals',
  family: 'security_posture',
  description: 'Logins (SQL, Windows, Entra) with their state, password policy flags and server roles; password hashes are never read',
  requires: [GRANTS.anyDefinition],
  shape: 'rows',
  read: async (s) => {
    requirePlatform(s, ['sql_server', 'managed_instance'], 'server logins');
    // Without VIEW ANY DEFINITION only the agent's own login and the fixed roles are visible, with no error.
    await requireGrants(s, [GRANTS.anyDefinition], 'the list of logins');
    const rows = await s.query<Omit<PrincipalRow, 'server_roles'> & { server_roles: string | null }>(
      `SELECT p.name, p.type_desc, p.is_disabled, p.default_database_name, l.is_policy_checked, l.is_expiration_checked,
              STUFF((SELECT N',' + r.name
                       FROM sys.server_role_members m
                       JOIN sys.server_principals r ON r.principal_id = m.role_principal_id
                      WHERE m.member_principal_id = p.principal_id
                      ORDER BY r.name
                        FOR XML PATH(N'')), 1, 1, N'') AS server_roles
         FROM sys.server_principals p
         LEFT JOIN sys.sql_logins l ON l.principal_id = p.principal_id
        WHERE p.type IN (N'S', N'U', N'G', N'E', N'X', N'C', N'K') AND p.name NOT LIKE N'##%'
        ORDER BY p.name`,
    );
    return rows.map((r) => ({ ...r, server_roles: list(r.server_roles) }));
  },
  fields: {
    name: 'identity_metadata',
    type_desc: 'identity_metadata',
    is_disabled: 'identity_metadata',
    default_database_name: 'object_names',
    is_policy_checked: 'config_posture',
    is_expiration_checked: 'config_posture',
    server_roles: 'identity_metadata',
  },
});

interface SecurityRow {
  authentication_mode: 'windows' | 'mixed';
  sa_disabled: boolean | null;
  sa_renamed: boolean | null;
  sysadmin_logins: string[];
  sql_logins_without_policy: number;
  sql_logins_without_expiration: number;
  xp_cmdshell_enabled: boolean | null;
  agent_connection_encrypted: boolean;
  agent_auth_scheme: string | null;
}
const security = defineSignal<MssqlSession, SecurityRow>({
  id: 'mssql.security',
  family: 'security_posture',
  description:
    "Authentication mode, the sa login (disabled? renamed?), sysadmin members, logins without password policy, xp_cmdshell, encryption of the agent's own connection",
  // xp_cmdshell comes from sys.configurations: VIEW SERVER PERFORMANCE STATE from 2022.
  requires: [GRANTS.anyDefinition, GRANTS.serverState],
  shape: 'object',
  read: async (s) => {
    requirePlatform(s, ['sql_server', 'managed_instance'], 'server security posture');
    await requireGrants(s, [GRANTS.anyDefinition], 'the security posture');
    await requireViews(s, ['sys.server_principals', 'sys.server_role_members', 'sys.sql_logins', 'sys.configurations'], 'the security posture');
    // sid 0x01 is sa whatever it has been renamed to.
    const rows = await s.query<
      Omit<SecurityRow, 'sysadmin_logins' | 'agent_connection_encrypted' | 'xp_cmdshell_enabled'> & {
        sysadmin_logins: string | null;
        agent_connection_encrypted: string | null;
        xp_cmdshell_enabled: number | null;
      }
    >(
      `SELECT CASE CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) WHEN 1 THEN N'windows' ELSE N'mixed' END AS authentication_mode,
              (SELECT is_disabled FROM sys.server_principals WHERE sid = 0x01) AS sa_disabled,
              (SELECT CAST(CASE WHEN name = N'sa' THEN 0 ELSE 1 END AS bit) FROM sys.server_principals WHERE sid = 0x01) AS sa_renamed,
              STUFF((SELECT N',' + p.name
                       FROM sys.server_role_members m
                       JOIN sys.server_principals r ON r.principal_id = m.role_principal_id AND r.name = N'sysadmin'
                       JOIN sys.server_principals p ON p.principal_id = m.member_principal_id
                      ORDER BY p.name
                        FOR XML PATH(N'')), 1, 1, N'') AS sysadmin_logins,
              (SELECT COUNT(*) FROM sys.sql_logins WHERE is_policy_checked = 0 AND is_disabled = 0) AS sql_logins_without_policy,
              (SELECT COUNT(*) FROM sys.sql_logins WHERE is_expiration_checked = 0 AND is_disabled = 0) AS sql_logins_without_expiration,
              (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'xp_cmdshell') AS xp_cmdshell_enabled,
              CAST(CONNECTIONPROPERTY('encrypt_option') AS nvarchar(10)) AS agent_connection_encrypted,
              CAST(CONNECTIONPROPERTY('auth_scheme') AS nvarchar(40)) AS agent_auth_scheme`,
    );
    return rows.map((r) => ({
      ...r,
      sysadmin_logins: list(r.sysadmin_logins),
      xp_cmdshell_enabled: r.xp_cmdshell_enabled === null ? null : r.xp_cmdshell_enabled === 1,
      agent_connection_encrypted: r.agent_connection_encrypted === 'TRUE',
    }));
  },
  fields: {
    authentication_mode: 'config_posture',
    sa_disabled: 'config_posture',
    sa_renamed: 'config_posture',
    sysadmin_logins: 'identity_metadata',
    sql_logins_without_policy: 'config_posture',
    sql_logins_without_expiration: 'config_posture',
    xp_cmdshell_enabled: 'config_posture',
    agent_connection_encrypted: 'config_posture',
    agent_auth_scheme: 'config_posture',
  },
});

interface RoleMemberRow {
  database_name: string;
  role_name: string;
  member_name: string;
  member_type: string;
}
const databaseRoles = defineSignal<MssqlSession, RoleMemberRow>({
  id: 'mssql.database_roles',
  family: 'security_posture',
  description: 'Database role memberships (db_owner, db_datawriter, custom roles…) in every monitored database',
  requires: [GRANTS.anyDefinition, GRANTS.connectAnyDatabase, GRANTS.viewAnyDatabase],
  shape: 'rows',
  read: async (s) => {
    await requireGrants(s, [GRANTS.anyDefinition], 'database role memberships');
    return perDatabase<RoleMemberRow>(
      s,
      (db) => `SELECT ${db.literal} AS database_name, r.name AS role_name, m.name AS member_name, m.type_desc AS member_type
         FROM ${db.ident}.sys.database_role_members rm
         JOIN ${db.ident}.sys.database_principals r ON r.principal_id = rm.role_principal_id
         JOIN ${db.ident}.sys.database_principals m ON m.principal_id = rm.member_principal_id
        ORDER BY r.name, m.name`,
    );
  },
  fields: { database_name: 'object_names', role_name: 'identity_metadata', member_name: 'identity_metadata', member_type: 'identity_metadata' },
});

export const securitySignals: readonly AnySignalSpec<MssqlSession>[] = [serverPrincipals, security, databaseRoles];
