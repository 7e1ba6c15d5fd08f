import { defineSignal, SignalUnavailable, type AnySignalSpec } from '../core/signal.js';
import { utc } from './catalog-server.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants, requirePlatform } from './visibility.js';

/** Not installed is not a permission problem: an instance without Always On says so before any grant is checked. */
async function requireHadr(s: MssqlSession): Promise<void> {
  requirePlatform(s, ['sql_server', 'managed_instance'], 'Always On availability groups');
  const [row] = await s.query<{ hadr: number | null }>("SELECT CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS hadr");
  if (row?.hadr !== 1) throw new SignalUnavailable('not_enabled', 'Always On availability groups are not enabled on this instance');
  // The catalog views (sys.availability_groups, …) come back EMPTY without VIEW ANY DEFINITION.
  await requireGrants(s, [GRANTS.serverState, GRANTS.anyDefinition], 'availability group state');
}

interface ReplicaRow {
  ag_name: string;
  replica_server_name: string;
  role_desc: string | null;
  availability_mode_desc: string;
  failover_mode_desc: string;
  secondary_role_allow_connections_desc: string | null;
  connected_state_desc: string | null;
  operational_state_desc: string | null;
  synchronization_health_desc: string | null;
  is_local: boolean | null;
}
const replicas = defineSignal<MssqlSession, ReplicaRow>({
  id: 'mssql.availability_replicas',
  family: 'replication',
  description: 'Always On availability group replicas: role, availability and failover mode, connection and synchronization health',
  requires: [GRANTS.serverState, GRANTS.anyDefinition],
  shape: 'rows',
  read: async (s) => {
    await requireHadr(s);
    return s.query<ReplicaRow>(
      `SELECT ag.name AS ag_name, ar.replica_server_name, ars.role_desc, ar.availability_mode_desc, ar.failover_mode_desc,
              ar.secondary_role_allow_connections_desc, ars.connected_state_desc, ars.operational_state_desc,
              ars.synchronization_health_desc, ars.is_local
         FROM sys.availability_groups ag
         JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id
         LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = ar.replica_id
        ORDER BY ag.name, ar.replica_server_name`,
    );
  },
  fields: {
    ag_name: 'object_names',
    replica_server_name: 'client_metadata',
    role_desc: null,
    availability_mode_desc: null,
    failover_mode_desc: null,
    secondary_role_allow_connections_desc: null,
    connected_state_desc: null,
    operational_state_desc: null,
    synchronization_health_desc: null,
    is_local: null,
  },
});

interface AgDatabaseRow {
  ag_name: string;
  replica_server_name: string;
  database_name: string | null;
  is_local: boolean;
  is_primary_replica: boolean | null;
  synchronization_state_desc: string | null;
  synchronization_health_desc: string | null;
  database_state_desc: string | null;
  is_suspended: boolean | null;
  suspend_reason_desc: string | null;
  log_send_queue_kb: number | null;
  log_send_rate_kb_s: number | null;
  redo_queue_kb: number | null;
  redo_rate_kb_s: number | null;
  last_commit_time: string | null;
  secondary_lag_seconds: number | null;
}
const agDatabases = defineSignal<MssqlSession, AgDatabaseRow>({
  id: 'mssql.availability_databases',
  family: 'replication',
  description: 'Availability database replica states: synchronization, suspension, log send and redo queues, secondary lag',
  requires: [GRANTS.serverState, GRANTS.anyDefinition],
  shape: 'rows',
  read: async (s) => {
    await requireHadr(s);
    return s.query<AgDatabaseRow>(
      `SELECT ag.name AS ag_name, ar.replica_server_name, DB_NAME(drs.database_id) AS database_name, drs.is_local, drs.is_primary_replica,
              drs.synchronization_state_desc, drs.synchronization_health_desc, drs.database_state_desc, drs.is_suspended, drs.suspend_reason_desc,
              CAST(drs.log_send_queue_size AS float) AS log_send_queue_kb, CAST(drs.log_send_rate AS float) AS log_send_rate_kb_s,
              CAST(drs.redo_queue_size AS float) AS redo_queue_kb, CAST(drs.redo_rate AS float) AS redo_rate_kb_s,
              ${utc('drs.last_commit_time')} AS last_commit_time, CAST(drs.secondary_lag_seconds AS float) AS secondary_lag_seconds
         FROM sys.dm_hadr_database_replica_states drs
         JOIN sys.availability_replicas ar ON ar.replica_id = drs.replica_id
         JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
        ORDER BY ag.name, database_name, ar.replica_server_name`,
    );
  },
  fields: {
    ag_name: 'object_names',
    replica_server_name: 'client_metadata',
    database_name: 'object_names',
    is_local: null,
    is_primary_replica: null,
    synchronization_state_desc: null,
    synchronization_health_desc: null,
    database_state_desc: null,
    is_suspended: null,
    suspend_reason_desc: null,
    log_send_queue_kb: null,
    log_send_rate_kb_s: null,
    redo_queue_kb: null,
    redo_rate_kb_s: null,
    last_commit_time: null,
    secondary_lag_seconds: null,
  },
});

interface LogShippingRow {
  ls_role: 'primary' | 'secondary';
  primary_server: string;
  primary_database: string;
  secondary_server: string | null;
  secondary_database: string | null;
  threshold_minutes: number | null;
  threshold_alert_enabled: boolean | null;
  last_backup_utc: string | null;
  last_copied_utc: string | null;
  last_restored_utc: string | null;
  last_restored_latency_minutes: number | null;
}
const logShipping = defineSignal<MssqlSession, LogShippingRow>({
  id: 'mssql.log_shipping',
  family: 'replication',
  description: 'Log shipping status from the msdb monitor tables: last backup, copy and restore, thresholds',
  requires: [GRANTS.msdbLogShipping],
  shape: 'rows',
  read: async (s) => {
    requirePlatform(s, ['sql_server', 'managed_instance'], 'log shipping');
    await requireGrants(s, [GRANTS.msdbLogShipping], 'log shipping status');
    return s.query<LogShippingRow>(
      `SELECT N'primary' AS ls_role, primary_server, primary_database, CAST(NULL AS sysname) AS secondary_server,
              CAST(NULL AS sysname) AS secondary_database, backup_threshold AS threshold_minutes, threshold_alert_enabled,
              last_backup_date_utc AS last_backup_utc, CAST(NULL AS datetime) AS last_copied_utc, CAST(NULL AS datetime) AS last_restored_utc,
              CAST(NULL AS int) AS last_restored_latency_minutes
         FROM msdb.dbo.log_shipping_monitor_primary
       UNION ALL
       SELECT N'secondary', primary_server, primary_database, secondary_server, secondary_database, restore_threshold,
              threshold_alert_enabled, NULL, last_copied_date_utc, last_restored_date_utc, last_restored_latency
         FROM msdb.dbo.log_shipping_monitor_secondary`,
    );
  },
  fields: {
    ls_role: null,
    primary_server: 'client_metadata',
    primary_database: 'object_names',
    secondary_server: 'client_metadata',
    secondary_database: 'object_names',
    threshold_minutes: null,
    threshold_alert_enabled: null,
    last_backup_utc: null,
    last_copied_utc: null,
    last_restored_utc: null,
    last_restored_latency_minutes: null,
  },
});

export const availabilitySignals: readonly AnySignalSpec<MssqlSession>[] = [replicas, agDatabases, logShipping];
