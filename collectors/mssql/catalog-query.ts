import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { statementText } from './catalog-activity.js';
import { utc } from './catalog-server.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';

export interface QueryStatRow {
  /** Where the numbers come from: Query Store (every interval it retains, survives restarts) or the plan cache (since each plan was cached). */
  source: 'query_store' | 'plan_cache';
  database_name: string | null;
  /** Query Store: the query and the plan (the row's identity there); null from the plan cache. */
  query_id: string | null;
  plan_id: string | null;
  /** Plan cache: the cached plan and the statement's byte offsets in its batch (the row's identity there); null from Query Store. */
  plan_handle: string | null;
  statement_start_offset: number | null;
  statement_end_offset: number | null;
  query_hash: string | null;
  query_plan_hash: string | null;
  /** When this row's totals started: the plan's compile time (plan cache creation_time, Query Store initial_compile_start_time). */
  stats_since: string | null;
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

/*
 * Both sources are read as totals that only grow while the row lives, so they ship
 * as differences (docs/payload-v2.md): Query Store summed over every runtime-stats
 * interval it retains, per plan (a new interval adds to the sum; the cleanup deleting
 * an old one makes the totals go down, and that row ships whole); the plan cache per
 * entry, "one row per query statement within the cached plan", since the plan was
 * compiled (an evicted or recompiled entry comes back with a new creation_time).
 */
const QUERY_STORE_SQL = `WITH agg AS (
  SELECT rs.plan_id,
         SUM(rs.count_executions) AS executions,
         SUM(rs.avg_duration * rs.count_executions) AS duration_us,
         SUM(rs.avg_cpu_time * rs.count_executions) AS cpu_us,
         SUM(rs.avg_logical_io_reads * rs.count_executions) AS logical_reads,
         SUM(rs.avg_physical_io_reads * rs.count_executions) AS physical_reads,
         SUM(rs.avg_rowcount * rs.count_executions) AS returned_rows,
         MAX(rs.last_execution_time) AS last_execution_time
    FROM sys.query_store_runtime_stats rs
   GROUP BY rs.plan_id)
SELECT TOP (500) N'query_store' AS source, DB_NAME() AS database_name,
       CAST(p.query_id AS varchar(20)) AS query_id, CAST(p.plan_id AS varchar(20)) AS plan_id,
       CAST(NULL AS varchar(130)) AS plan_handle, CAST(NULL AS int) AS statement_start_offset, CAST(NULL AS int) AS statement_end_offset,
       CONVERT(varchar(18), q.query_hash, 1) AS query_hash, CONVERT(varchar(18), p.query_plan_hash, 1) AS query_plan_hash,
       p.initial_compile_start_time AS stats_since,
       CAST(a.executions AS float) AS executions, a.duration_us / 1000.0 AS total_duration_ms, a.cpu_us / 1000.0 AS total_cpu_ms,
       CAST(a.logical_reads AS float) AS logical_reads, CAST(a.physical_reads AS float) AS physical_reads, CAST(a.returned_rows AS float) AS returned_rows,
       a.last_execution_time,
       CASE WHEN qt.has_restricted_text = 1 OR qt.is_part_of_encrypted_module = 1 THEN NULL ELSE qt.query_sql_text END AS query_text,
       CAST(CASE WHEN qt.has_restricted_text = 1 OR qt.is_part_of_encrypted_module = 1 THEN 1 ELSE 0 END AS bit) AS text_restricted
  FROM agg a
  JOIN sys.query_store_plan p ON p.plan_id = a.plan_id
  JOIN sys.query_store_query q ON q.query_id = p.query_id
  JOIN sys.query_store_query_text qt ON qt.query_text_id = q.query_text_id
 ORDER BY a.duration_us DESC`;

const PLAN_CACHE_SQL = `SELECT TOP (500) N'plan_cache' AS source, DB_NAME(t.dbid) AS database_name,
       CAST(NULL AS varchar(20)) AS query_id, CAST(NULL AS varchar(20)) AS plan_id,
       qs.plan_handle AS plan_handle, qs.statement_start_offset AS statement_start_offset, qs.statement_end_offset AS statement_end_offset,
       CONVERT(varchar(18), qs.query_hash, 1) AS query_hash, CONVERT(varchar(18), qs.query_plan_hash, 1) AS query_plan_hash,
       ${utc('qs.creation_time')} AS stats_since,
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
  description:
    'Top statements by total duration: Query Store of the monitored database where it is on (per plan, every retained interval), else the plan cache (per cached statement)',
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
    query_id: null,
    plan_id: null,
    plan_handle: null,
    statement_start_offset: null,
    statement_end_offset: null,
    query_hash: null,
    query_plan_hash: null,
    stats_since: null,
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
  // Totals since the row's plan was compiled: shipped as differences per row (docs/payload-v2.md).
  delta: {
    // The row's identity: a Query Store plan, or a statement of a cached plan (one source's fields are null in the other's rows).
    key: ['source', 'query_id', 'plan_id', 'plan_handle', 'statement_start_offset', 'statement_end_offset'],
    counters: ['executions', 'total_duration_ms', 'total_cpu_ms', 'logical_reads', 'physical_reads', 'returned_rows'],
    // A plan compiled again under the same identity (a reused Query Store plan_id after a clear): the row ships whole.
    since: 'stats_since',
    // A plan evicted and cached again, an interval deleted by Query Store's cleanup: only that row restarts.
    rowReset: true,
    // A restart empties the plan cache (tempdb is re-created at every start: its create_date is the start time).
    resetWhen: [{ signal: 'mssql.server', field: 'started_at' }],
  },
});

export const querySignals: readonly AnySignalSpec<MssqlSession>[] = [queryStats];
