import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { GRANTS, type Platform } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';
import { requireViews } from './views.js';

/** Server-local datetime → UTC, so the driver (which labels datetimes as UTC) reports the right instant. */
export const utc = (expr: string): string => `DATEADD(MINUTE, DATEDIFF(MINUTE, GETDATE(), GETUTCDATE()), ${expr})`;

interface ServerRow {
  product_version: string;
  product_level: string | null;
  product_update_level: string | null;
  major_version: number | null;
  edition: string;
  engine_edition: number;
  platform: Platform;
  server_name: string | null;
  collation: string | null;
  is_clustered: number | null;
  is_hadr_enabled: number | null;
  started_at: string | null;
  uptime_seconds: number | null;
}
const server = defineSignal<MssqlSession, ServerRow>({
  id: 'mssql.server',
  family: 'server_stats',
  description: 'Version, edition, platform (SQL Server, Managed Instance, Azure SQL Database), start time and uptime',
  requires: [],
  shape: 'object',
  read: async (s) => {
    // tempdb is recreated at every start, and its row in sys.databases is visible to every login.
    const rows = await s.query<Omit<ServerRow, 'platform'>>(
      `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
              CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS product_level,
              CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128)) AS product_update_level,
              CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major_version,
              CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
              CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
              CAST(SERVERPROPERTY('ServerName') AS nvarchar(256)) AS server_name,
              CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS collation,
              CAST(SERVERPROPERTY('IsClustered') AS int) AS is_clustered,
              CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS is_hadr_enabled,
              (SELECT ${utc('create_date')} FROM sys.databases WHERE database_id = 2) AS started_at,
              (SELECT DATEDIFF(SECOND, create_date, GETDATE()) FROM sys.databases WHERE database_id = 2) AS uptime_seconds`,
    );
    return rows.map((r) => ({ ...r, platform: s.facts.platform }));
  },
  fields: {
    product_version: null,
    product_level: null,
    product_update_level: null,
    major_version: null,
    edition: null,
    engine_edition: null,
    platform: null,
    server_name: 'object_names',
    collation: null,
    is_clustered: null,
    is_hadr_enabled: null,
    started_at: null,
    uptime_seconds: null,
  },
});

interface DatabaseRow {
  name: string;
  database_id: number;
  state_desc: string;
  user_access_desc: string;
  is_read_only: boolean;
  recovery_model_desc: string | null;
  compatibility_level: number;
  collation_name: string | null;
  is_query_store_on: boolean | null;
  log_reuse_wait_desc: string | null;
  is_encrypted: boolean | null;
  is_read_committed_snapshot_on: boolean | null;
  snapshot_isolation_state_desc: string | null;
  is_auto_close_on: boolean;
  is_auto_shrink_on: boolean;
  page_verify_option_desc: string | null;
  has_access: number | null;
}
const databases = defineSignal<MssqlSession, DatabaseRow>({
  id: 'mssql.databases',
  family: 'server_stats',
  description: 'Databases and their state, recovery model, Query Store, encryption and log reuse wait (sys.databases)',
  requires: [GRANTS.viewAnyDatabase],
  shape: 'rows',
  read: async (s) => {
    // Without VIEW ANY DATABASE, sys.databases shows only master, tempdb and databases the login owns.
    await requireGrants(s, [GRANTS.viewAnyDatabase], 'the full list of databases');
    return s.query<DatabaseRow>(
      `SELECT d.name, d.database_id, d.state_desc, d.user_access_desc, d.is_read_only, d.recovery_model_desc, d.compatibility_level,
              d.collation_name, d.is_query_store_on, d.log_reuse_wait_desc, d.is_encrypted, d.is_read_committed_snapshot_on,
              d.snapshot_isolation_state_desc, d.is_auto_close_on, d.is_auto_shrink_on, d.page_verify_option_desc,
              HAS_DBACCESS(d.name) AS has_access
         FROM sys.databases d
        ORDER BY d.name`,
    );
  },
  fields: {
    name: 'object_names',
    database_id: null,
    state_desc: null,
    user_access_desc: null,
    is_read_only: null,
    recovery_model_desc: null,
    compatibility_level: null,
    collation_name: null,
    is_query_store_on: null,
    log_reuse_wait_desc: null,
    is_encrypted: 'config_posture',
    is_read_committed_snapshot_on: null,
    snapshot_isolation_state_desc: null,
    is_auto_close_on: 'config_posture',
    is_auto_shrink_on: 'config_posture',
    page_verify_option_desc: 'config_posture',
    has_access: null,
  },
});

interface ConfigurationRow {
  name: string;
  value: number | null;
  value_in_use: number | null;
  is_dynamic: boolean;
  is_advanced: boolean;
}
const configuration = defineSignal<MssqlSession, ConfigurationRow>({
  id: 'mssql.configuration',
  family: 'config',
  description: 'Server configuration options (sys.configurations: configured and running values)',
  // sys.configurations is public up to 2019 and needs VIEW SERVER PERFORMANCE STATE from 2022 (see views.ts).
  requires: [GRANTS.serverState],
  shape: 'rows',
  // Every option is numeric (no secrets).
  read: async (s) => {
    await requireViews(s, ['sys.configurations'], 'the server configuration');
    return s.query<ConfigurationRow>(
      `SELECT name, CAST(value AS float) AS value, CAST(value_in_use AS float) AS value_in_use, is_dynamic, is_advanced
         FROM sys.configurations
        ORDER BY name`,
    );
  },
  fields: { name: null, value: 'config_posture', value_in_use: 'config_posture', is_dynamic: null, is_advanced: null },
});

export const serverSignals: readonly AnySignalSpec<MssqlSession>[] = [server, databases, configuration];
