import type { GrantRef } from '../core/signal.js';
import { nString, quoteName } from './names.js';

export type Platform = 'sql_server' | 'managed_instance' | 'azure_sql_database';

/** What the session learns about the server and the identity right after connecting. */
export interface ServerFacts {
  productVersion: string;
  /** 13 = 2016, 14 = 2017, 15 = 2019, 16 = 2022; Azure SQL reports 12. */
  majorVersion: number;
  edition: string;
  engineEdition: number;
  platform: Platform;
  /** The server knows VIEW SERVER PERFORMANCE STATE (the SQL Server 2022 permission model). */
  serverPerformanceState: boolean;
  /** The database knows VIEW DATABASE PERFORMANCE STATE (2022 model; Azure SQL Database). */
  databasePerformanceState: boolean;
  database: string;
  login: string;
  user: string;
}

/** SERVERPROPERTY('EngineEdition'): 5 = Azure SQL Database, 8 = Azure SQL Managed Instance. */
export function platformOf(engineEdition: number): Platform {
  if (engineEdition === 5) return 'azure_sql_database';
  if (engineEdition === 8) return 'managed_instance';
  return 'sql_server';
}

export const PLATFORM_LABEL: Record<Platform, string> = {
  sql_server: 'SQL Server',
  managed_instance: 'Azure SQL Managed Instance',
  azure_sql_database: 'Azure SQL Database',
};

/** The grant references used by the catalog's `requires`. */
export const GRANTS = {
  serverState: 'server_state',
  anyDefinition: 'any_definition',
  connectAnyDatabase: 'connect_any_database',
  viewAnyDatabase: 'view_any_database',
  msdbLogShipping: 'msdb_log_shipping',
} as const satisfies Record<string, GrantRef>;

export interface Permission {
  name: string;
  scope: 'server' | 'database';
}

/**
 * The permission a grant reference means on this server. The names are decided by
 * what the server itself knows (sys.fn_builtin_permissions), not guessed from the
 * version: a 2019 server refuses a script naming VIEW SERVER PERFORMANCE STATE.
 */
export function permissionFor(ref: GrantRef, f: ServerFacts): Permission | undefined {
  const azure = f.platform === 'azure_sql_database';
  switch (ref) {
    case GRANTS.serverState:
      if (azure) return { name: f.databasePerformanceState ? 'VIEW DATABASE PERFORMANCE STATE' : 'VIEW DATABASE STATE', scope: 'database' };
      return { name: f.serverPerformanceState ? 'VIEW SERVER PERFORMANCE STATE' : 'VIEW SERVER STATE', scope: 'server' };
    case GRANTS.anyDefinition:
      return azure ? { name: 'VIEW DEFINITION', scope: 'database' } : { name: 'VIEW ANY DEFINITION', scope: 'server' };
    case GRANTS.connectAnyDatabase:
      return azure ? undefined : { name: 'CONNECT ANY DATABASE', scope: 'server' };
    case GRANTS.viewAnyDatabase:
      // Granted to public by default; a hardened server may have revoked it.
      return azure ? undefined : { name: 'VIEW ANY DATABASE', scope: 'server' };
    default:
      return undefined;
  }
}

/** A positive visibility check: 1 when the identity holds the permission (directly, by role or by implication). */
export function probeExpression(p: Permission): string {
  return p.scope === 'server' ? `HAS_PERMS_BY_NAME(NULL, NULL, ${nString(p.name)})` : `HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', ${nString(p.name)})`;
}

/**
 * Server permissions are granted from master to the login; database permissions in
 * the database to its user (Azure SQL Database cannot switch databases with USE).
 */
export function grantStatement(p: Permission, f: Pick<ServerFacts, 'login' | 'user' | 'database' | 'platform'>): string {
  if (p.scope === 'server') return `USE [master]; GRANT ${p.name} TO ${quoteName(f.login)};`;
  return f.platform === 'azure_sql_database'
    ? `GRANT ${p.name} TO ${quoteName(f.user)};  -- in database ${quoteName(f.database)}`
    : `USE ${quoteName(f.database)}; GRANT ${p.name} TO ${quoteName(f.user)};`;
}

export const LOG_SHIPPING_TABLES = ['log_shipping_monitor_primary', 'log_shipping_monitor_secondary'] as const;

export function logShippingGrant(login: string): string {
  const l = quoteName(login);
  return [
    'USE [msdb];',
    `IF USER_ID(${nString(login)}) IS NULL CREATE USER ${l} FOR LOGIN ${l};`,
    ...LOG_SHIPPING_TABLES.map((t) => `GRANT SELECT ON dbo.${t} TO ${l};`),
  ].join('\n');
}
