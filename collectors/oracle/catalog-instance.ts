import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { literalList, utcOfDate, utcOfTimestamp } from './sql.js';
import { needsAllContainers } from './visibility.js';

interface InstanceRow {
  instance_name: string;
  host_name: string;
  version: string;
  edition: string | null;
  instance_status: string;
  database_status: string;
  instance_role: string;
  started_at: string;
  uptime_seconds: number;
  database_name: string;
  db_unique_name: string;
  database_role: string;
  open_mode: string;
  log_mode: string;
  cdb: string;
  platform_name: string;
  container: string;
  container_name: string;
}
const instance = defineSignal<OracleSession, InstanceRow>({
  id: 'oracle.instance',
  family: 'server_stats',
  description: 'Instance and database: version, edition, start time, uptime, role, open mode, CDB or not, and the container the agent is in',
  requires: ['V$INSTANCE', 'V$DATABASE'],
  shape: 'object',
  read: async (s) => {
    const rows = await s.query<Omit<InstanceRow, 'container' | 'container_name'>>(
      `SELECT i.instance_name, i.host_name, i.version_full AS version, i.edition, i.status AS instance_status,
              i.database_status, i.instance_role, ${utcOfDate('i.startup_time')} AS started_at,
              ROUND((SYSDATE - i.startup_time) * 86400) AS uptime_seconds,
              d.name AS database_name, d.db_unique_name, d.database_role, d.open_mode, d.log_mode, d.cdb, d.platform_name
         FROM v$instance i CROSS JOIN v$database d`,
    );
    return rows.map((r) => ({ ...r, container: s.container, container_name: s.containerName }));
  },
  fields: {
    instance_name: 'object_names',
    host_name: 'config_posture',
    version: null,
    edition: null,
    instance_status: null,
    database_status: null,
    instance_role: null,
    started_at: null,
    uptime_seconds: null,
    database_name: 'object_names',
    db_unique_name: 'object_names',
    database_role: null,
    open_mode: null,
    log_mode: 'config_posture',
    cdb: null,
    platform_name: null,
    container: null,
    container_name: 'object_names',
  },
});

interface ContainerRow {
  con_id: number;
  name: string;
  open_mode: string;
  restricted: string | null;
  open_at: string | null;
  total_size_bytes: number | null;
}
const containers = defineSignal<OracleSession, ContainerRow>({
  id: 'oracle.containers',
  family: 'server_stats',
  description: 'Containers (CDB$ROOT, PDB$SEED, PDBs) with open mode and size; one row in a non-CDB',
  requires: ['V$CONTAINERS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'containers');
    return s.query<ContainerRow>(
      `SELECT con_id, name, open_mode, restricted, ${utcOfTimestamp('open_time')} AS open_at, total_size AS total_size_bytes
         FROM v$containers ORDER BY con_id`,
    );
  },
  fields: { con_id: null, name: 'object_names', open_mode: null, restricted: null, open_at: null, total_size_bytes: null },
});

/** System metrics worth a time series; V$SYSMETRIC is the 60-second group (GROUP_ID 2) and needs no pack licence. */
export const VETTED_METRICS = [
  'Average Active Sessions',
  'Database CPU Time Ratio',
  'Database Wait Time Ratio',
  'Host CPU Utilization (%)',
  'Executions Per Sec',
  'User Transaction Per Sec',
  'User Commits Per Sec',
  'Hard Parse Count Per Sec',
  'Logical Reads Per Sec',
  'Physical Reads Per Sec',
  'Redo Generated Per Sec',
  'Buffer Cache Hit Ratio',
  'SQL Service Response Time',
  'Session Count',
] as const;

interface MetricRow {
  con_id: number;
  metric_name: string;
  value: number;
  metric_unit: string;
}
const sysmetrics = defineSignal<OracleSession, MetricRow>({
  id: 'oracle.sysmetrics',
  family: 'server_stats',
  description: 'Key system metrics over the last minute (V$SYSMETRIC): load, CPU, throughput, response time',
  requires: ['V$SYSMETRIC'],
  shape: 'rows',
  read: (s) =>
    s.query<MetricRow>(
      `SELECT con_id, metric_name, ROUND(value, 4) AS value, metric_unit
         FROM v$sysmetric
        WHERE group_id = 2 AND metric_name IN (${literalList(VETTED_METRICS)})
        ORDER BY con_id, metric_name`,
    ),
  fields: { con_id: null, metric_name: null, value: null, metric_unit: null },
});

export const instanceSignals: readonly AnySignalSpec<OracleSession>[] = [instance, containers, sysmetrics];
