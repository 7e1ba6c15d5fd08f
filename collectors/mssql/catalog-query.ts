import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { statementText } from './catalog-activity.js';
import { utc } from './catalog-server.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';

export interface QueryStatRow {
  /** Where the numbers come from: Query Store (last hour, survives restarts) or the plan cache (since each plan was cached). */
  source: 'query_store' | 'plan_cache';
  database_name: string | null;
  query_hash: string | null;
  executions: number;
  total_duration_ms: number;
  total_cpu_ms: number;
  logical_reads: number;
  physical_reads: number;
  returned_rows: number;
  last_execution_time: string | null;
  /** Raw statement text: the policy engine normalises or drops it. NULL when the server marks it restricted. */
  query_text: string | null;
  /** The server flagged the text (a password or other restricted words; an encrypted module): it is never read. */
  text_restricted: boolean;
}

const QUERY_STORE_SQL = `WITH agg AS (
  SELECT p.query_id,
         SUM(rs.count_executions) AS executions,
         SUM(rs.avg_duration * rs.count_executions) AS duration_us,
         SUM(rs.avg_cpu_time * rs.count_executions) AS cpu_us,
         SUM(rs.avg_logical_io_reads * rs.count_executions) AS logical_reads,
         SUM(rs.avg_physical_io_reads * rs.count_executions) AS physical_reads,
         SUM(rs.avg_rowcount * rs.count_executions) AS returned_rows,
         MAX(rs.last_execution_time) AS last_execution_time
    FROM sys.query_store_runtime_stats rs
    JOIN sys.query_store_plan p ON p.plan_id = rs.plan_id
    JOIN sys.query_store_runtime_stats_interval i ON i.runtime_stats_interval_id = rs.runtime_stats_interval_id
   WHERE i.end_time > DATEADD(HOUR, -1, SYSDATETIMEOFFSET())
   GROUP BY p.query_id)
SELECT TOP (500) N'query_store' AS source, DB_NAME() AS database_name, CONVERT(varchar(18), q.query_hash, 1) AS query_hash,
       CAST(a.executions AS float) AS executions, a.duration_us / 1000.0 AS total_duration_ms, a.cpu_us / 1000.0 AS total_cpu_ms,
       CAST(a.logical_reads AS float) AS logical_reads, CAST(a.physical_reads AS float) AS physical_reads, CAST(a.returned_rows AS float) AS returned_rows,
       a.last_execution_time,
       CASE WHEN qt.has_restricted_text = 1 OR qt.is_part_of_encrypted_module = 1 THEN NULL ELSE qt.query_sql_text END AS query_text,
       CAST(CASE WHEN qt.has_restricted_text = 1 OR qt.is_part_of_encrypted_module = 1 THEN 1 ELSE 0 END AS bit) AS text_restricted
  FROM agg a
  JOIN sys.query_store_query q ON q.query_id = a.query_id
  JOIN sys.query_store_query_text qt ON qt.query_text_id = q.query_text_id
 ORDER BY a.duration_us DESC`;

const PLAN_CACHE_SQL = `SELECT TOP (500) N'plan_cache' AS source, DB_NAME(t.dbid) AS database_name, CONVERT(varchar(18), qs.query_hash, 1) AS query_hash,
       CAST(qs.execution_count AS float) AS executions, qs.total_elapsed_time / 1000.0 AS total_duration_ms, qs.total_worker_time / 1000.0 AS total_cpu_ms,
       CAST(qs.total_logical_reads AS float) AS logical_reads, CAST(qs.total_physical_reads AS float) AS physical_reads, CAST(qs.total_rows AS float) AS returned_rows,
       ${utc('qs.last_execution_time')} AS last_execution_time,
       CASE WHEN t.encrypted = 1 THEN NULL ELSE ${statementText('t.text', 'qs.statement_start_offset', 'qs.statement_end_offset')} END AS query_text,
       CAST(CASE WHEN t.encrypted = 1 THEN 1 ELSE 0 END AS bit) AS text_restricted
  FROM sys.dm_exec_query_stats qs
 OUTER APPLY sys.dm_exec_sql_text(qs.sql_handle) t
 ORDER BY qs.total_elapsed_time DESC`;

/** Fails closed: a row flagged restricted never carries text, whatever the server sent. */
export const dropRestrictedText = (r: QueryStatRow): QueryStatRow => (r.text_restricted ? { ...r, query_text: null } : r);

const queryStats = defineSignal<MssqlSession, QueryStatRow>({
  id: 'mssql.query_stats',
  family: 'query_stats',
  description: 'Top statements by total duration: Query Store of the monitored database where it is on (last hour), else the plan cache',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    await requireGrants(s, [GRANTS.serverState], 'query statistics');
    const [qs] = await s.query<{ actual_state_desc: string | null }>('SELECT actual_state_desc FROM sys.database_query_store_options');
    const useQueryStore = qs?.actual_state_desc === 'READ_WRITE' || qs?.actual_state_desc === 'READ_ONLY';
    const rows = await s.query<QueryStatRow>(useQueryStore ? QUERY_STORE_SQL : PLAN_CACHE_SQL);
    return rows.map((r) => dropRestrictedText({ ...r, text_restricted: Boolean(r.text_restricted) }));
  },
  fields: {
    source: null,
    database_name: 'object_names',
    query_hash: null,
    executions: null,
    total_duration_ms: null,
    total_cpu_ms: null,
    logical_reads: null,
    physical_reads: null,
    returned_rows: null,
    last_execution_time: null,
    query_text: 'query_text',
    text_restricted: null,
  },
});

export const querySignals: readonly AnySignalSpec<MssqlSession>[] = [queryStats];
