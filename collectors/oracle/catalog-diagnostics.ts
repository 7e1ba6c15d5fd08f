import { defineSignal, SignalUnavailable, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { needsAllContainers } from './visibility.js';

/**
 * ASH and AWR: part of the Oracle Diagnostics Pack, whose use needs a licence even
 * though Enterprise Edition leaves the views readable. Both signals are
 * `optIn: 'license'`: the runner reports them not_licensed and the session's guard
 * refuses their views unless the target says "oracle": { "diagnosticsPack": true }.
 */
export const DIAGNOSTICS_PACK = 'DIAGNOSTICS_PACK';

/** With the licence confirmed, the pack may still be switched off on the server. */
async function packEnabled(s: OracleSession): Promise<void> {
  const rows = await s.query<{ value: string | null }>(`SELECT value FROM v$parameter WHERE name = 'control_management_pack_access'`).catch(() => undefined); // Not readable without V$PARAMETER: the view read itself then decides.
  const value = rows?.[0]?.value;
  if (value != null && !/DIAGNOSTIC/i.test(value)) {
    throw new SignalUnavailable(
      'not_enabled',
      `control_management_pack_access is ${value}: the Diagnostics Pack is switched off on this database`,
      "ALTER SYSTEM SET control_management_pack_access = 'DIAGNOSTIC+TUNING';  -- only with the licence",
    );
  }
}

interface AshRow {
  con_id: number;
  sql_id: string | null;
  session_state: string;
  wait_class: string;
  event: string;
  samples: number;
}
const ashActivity = defineSignal<OracleSession, AshRow>({
  id: 'oracle.ash_activity',
  family: 'activity',
  description: 'Active Session History of the last 5 minutes by SQL id and wait event (Diagnostics Pack)',
  requires: [DIAGNOSTICS_PACK, 'V$ACTIVE_SESSION_HISTORY'],
  optIn: 'license',
  shape: 'rows',
  read: async (s) => {
    await packEnabled(s);
    await needsAllContainers(s, 'active session history');
    // SAMPLE_TIME is TIMESTAMP(3) without zone (the host's wall clock): compared with SYSTIMESTAMP it would be
    // converted in the session's (the agent machine's) zone and shift the window; compare wall clock to wall clock.
    return s.query<AshRow>(
      `SELECT con_id, sql_id, session_state, NVL(wait_class, 'CPU') AS wait_class, NVL(event, 'ON CPU') AS event, COUNT(*) AS samples
         FROM v$active_session_history
        WHERE sample_time > CAST(SYSTIMESTAMP AS TIMESTAMP) - INTERVAL '5' MINUTE
        GROUP BY con_id, sql_id, session_state, wait_class, event
        ORDER BY samples DESC
        FETCH FIRST 100 ROWS ONLY`,
    );
  },
  fields: { con_id: null, sql_id: null, session_state: null, wait_class: null, event: null, samples: null },
});

interface AwrSqlRow {
  snap_id: number;
  sql_id: string;
  plan_hash_value: number;
  executions: number;
  elapsed_ms: number;
  cpu_ms: number;
  buffer_gets: number;
  disk_reads: number;
}
const awrTopSql = defineSignal<OracleSession, AwrSqlRow>({
  id: 'oracle.awr_top_sql',
  family: 'query_stats',
  description: 'Top 50 statements of the latest AWR snapshot interval by elapsed time (Diagnostics Pack)',
  requires: [DIAGNOSTICS_PACK, 'DBA_HIST_SQLSTAT', 'DBA_HIST_SNAPSHOT'],
  optIn: 'license',
  shape: 'rows',
  read: async (s) => {
    await packEnabled(s);
    return s.query<AwrSqlRow>(
      `SELECT q.snap_id, q.sql_id, q.plan_hash_value, SUM(q.executions_delta) AS executions,
              ROUND(SUM(q.elapsed_time_delta) / 1000, 3) AS elapsed_ms, ROUND(SUM(q.cpu_time_delta) / 1000, 3) AS cpu_ms,
              SUM(q.buffer_gets_delta) AS buffer_gets, SUM(q.disk_reads_delta) AS disk_reads
         FROM dba_hist_sqlstat q
         JOIN (SELECT dbid, snap_id FROM dba_hist_snapshot ORDER BY end_interval_time DESC FETCH FIRST 1 ROWS ONLY) latest
           ON latest.dbid = q.dbid AND latest.snap_id = q.snap_id
        GROUP BY q.snap_id, q.sql_id, q.plan_hash_value
        ORDER BY elapsed_ms DESC
        FETCH FIRST 50 ROWS ONLY`,
    );
  },
  fields: { snap_id: null, sql_id: null, plan_hash_value: null, executions: null, elapsed_ms: null, cpu_ms: null, buffer_gets: null, disk_reads: null },
});

export const diagnosticsSignals: readonly AnySignalSpec<OracleSession>[] = [ashActivity, awrTopSql];
