import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { literalList } from './sql.js';

/** Parameters worth watching; never the whole of V$PARAMETER (some name hosts, paths and services). */
export const VETTED_PARAMETERS = [
  'audit_sys_operations',
  'audit_trail',
  'compatible',
  'control_management_pack_access',
  'cpu_count',
  'db_block_size',
  'db_recovery_file_dest_size',
  'enable_pluggable_database',
  'job_queue_processes',
  'max_string_size',
  'memory_target',
  'open_cursors',
  'optimizer_features_enable',
  'parallel_max_servers',
  'pga_aggregate_limit',
  'pga_aggregate_target',
  'processes',
  'remote_login_passwordfile',
  'remote_os_authent',
  'resource_limit',
  'sec_case_sensitive_logon',
  'sessions',
  'sga_max_size',
  'sga_target',
  'sql92_security',
  'statistics_level',
  'undo_retention',
] as const;

interface ParameterRow {
  con_id: number;
  name: string;
  value: string | null;
  is_default: string;
  is_modified: string;
}
const parameters = defineSignal<OracleSession, ParameterRow>({
  id: 'oracle.parameters',
  family: 'config',
  description: 'Vetted initialization parameters from V$PARAMETER (memory, processes, security-relevant settings, pack access)',
  requires: ['V$PARAMETER'],
  shape: 'rows',
  read: (s) =>
    s.query<ParameterRow>(
      `SELECT con_id, name, value, isdefault AS is_default, ismodified AS is_modified
         FROM v$parameter
        WHERE name IN (${literalList(VETTED_PARAMETERS)})
        ORDER BY name`,
    ),
  fields: { con_id: null, name: null, value: 'config_posture', is_default: 'config_posture', is_modified: 'config_posture' },
});

interface DataGuardRow {
  database_role: string;
  protection_mode: string;
  protection_level: string;
  switchover_status: string;
  dataguard_broker: string;
  guard_status: string;
  force_logging: string;
  flashback_on: string;
  open_mode: string;
}
const dataGuard = defineSignal<OracleSession, DataGuardRow>({
  id: 'oracle.dataguard',
  family: 'replication',
  description: 'Data Guard state of this database: role, protection mode and level, switchover status, broker, force logging',
  requires: ['V$DATABASE'],
  shape: 'object',
  read: (s) =>
    s.query<DataGuardRow>(
      `SELECT database_role, protection_mode, protection_level, switchover_status, dataguard_broker, guard_status,
              force_logging, flashback_on, open_mode
         FROM v$database`,
    ),
  fields: {
    database_role: null,
    protection_mode: 'config_posture',
    protection_level: 'config_posture',
    switchover_status: null,
    dataguard_broker: 'config_posture',
    guard_status: 'config_posture',
    force_logging: 'config_posture',
    flashback_on: 'config_posture',
    open_mode: null,
  },
});

interface MemberRow {
  db_unique_name: string;
  parent_dbun: string | null;
  dest_role: string;
  current_scn: string | null;
}
const dataGuardMembers = defineSignal<OracleSession, MemberRow>({
  id: 'oracle.dataguard_members',
  family: 'replication',
  description: 'Databases in the Data Guard configuration with their roles (V$DATAGUARD_CONFIG); only this database when none is configured',
  requires: ['V$DATAGUARD_CONFIG'],
  shape: 'rows',
  read: (s) =>
    // SCNs can exceed 2^53; text keeps them exact.
    s.query<MemberRow>('SELECT db_unique_name, parent_dbun, dest_role, TO_CHAR(current_scn) AS current_scn FROM v$dataguard_config ORDER BY db_unique_name'),
  fields: { db_unique_name: 'object_names', parent_dbun: 'object_names', dest_role: null, current_scn: null },
});

interface LagRow {
  name: string;
  value: string | null;
  unit: string | null;
  time_computed: string | null;
  datum_time: string | null;
}
const dataGuardLag = defineSignal<OracleSession, LagRow>({
  id: 'oracle.dataguard_lag',
  family: 'replication',
  description: 'Transport and apply lag on a standby (V$DATAGUARD_STATS); no rows on a primary',
  requires: ['V$DATAGUARD_STATS'],
  shape: 'rows',
  read: (s) =>
    s.query<LagRow>(
      `SELECT name, value, unit, time_computed, datum_time
         FROM v$dataguard_stats
        WHERE name IN ('transport lag', 'apply lag', 'apply finish time', 'estimated startup time')
        ORDER BY name`,
    ),
  fields: { name: null, value: null, unit: null, time_computed: null, datum_time: null },
});

export const configSignals: readonly AnySignalSpec<OracleSession>[] = [parameters];
export const dataGuardSignals: readonly AnySignalSpec<OracleSession>[] = [dataGuard, dataGuardMembers, dataGuardLag];
