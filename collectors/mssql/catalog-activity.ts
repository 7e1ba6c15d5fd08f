import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';
import { requireViews } from './views.js';

/** The current statement of a batch, cut from the batch text by the request's byte offsets (UTF-16: 2 bytes a character). */
export const statementText = (text: string, start: string, end: string): string =>
  `SUBSTRING(${text}, ${start} / 2 + 1, (CASE ${end} WHEN -1 THEN DATALENGTH(${text}) ELSE ${end} END - ${start}) / 2 + 1)`;

interface SessionRow {
  session_id: number;
  login_name: string | null;
  host_name: string | null;
  program_name: string | null;
  client_net_address: string | null;
  database_name: string | null;
  session_status: string | null;
  request_status: string | null;
  command: string | null;
  wait_type: string | null;
  wait_time_ms: number | null;
  wait_resource: string | null;
  blocking_session_id: number | null;
  cpu_time_ms: number | null;
  logical_reads: number | null;
  reads: number | null;
  writes: number | null;
  open_transaction_count: number | null;
  transaction_isolation_level: number | null;
  connected_seconds: number | null;
  request_elapsed_ms: number | null;
  query_hash: string | null;
  statement_text: string | null;
}
const sessions = defineSignal<MssqlSession, SessionRow>({
  id: 'mssql.sessions',
  family: 'activity',
  description: 'User sessions and their running requests: client, database, status, waits, blocker, resource use and current statement',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    // Without the permission SQL Server answers with the agent's own session only: no error to catch.
    await requireViews(s, ['sys.dm_exec_sessions', 'sys.dm_exec_requests', 'sys.dm_exec_connections', 'sys.dm_exec_sql_text'], 'sessions and their requests');
    await requireGrants(s, [GRANTS.serverState], 'other sessions');
    return s.query<SessionRow>(
      `SELECT TOP (1000) s.session_id, s.login_name, s.host_name, s.program_name, c.client_net_address,
              DB_NAME(COALESCE(r.database_id, s.database_id)) AS database_name,
              s.status AS session_status, r.status AS request_status, r.command,
              r.wait_type, r.wait_time AS wait_time_ms, r.wait_resource, NULLIF(r.blocking_session_id, 0) AS blocking_session_id,
              COALESCE(r.cpu_time, s.cpu_time) AS cpu_time_ms,
              CAST(COALESCE(r.logical_reads, s.logical_reads) AS float) AS logical_reads,
              CAST(COALESCE(r.reads, s.reads) AS float) AS reads,
              CAST(COALESCE(r.writes, s.writes) AS float) AS writes,
              s.open_transaction_count, s.transaction_isolation_level,
              DATEDIFF(SECOND, s.login_time, GETDATE()) AS connected_seconds,
              r.total_elapsed_time AS request_elapsed_ms,
              CONVERT(varchar(18), r.query_hash, 1) AS query_hash,
              ${statementText('t.text', 'r.statement_start_offset', 'r.statement_end_offset')} AS statement_text
         FROM sys.dm_exec_sessions s
         LEFT JOIN sys.dm_exec_requests r ON r.session_id = s.session_id
         LEFT JOIN sys.dm_exec_connections c ON c.session_id = s.session_id AND c.parent_connection_id IS NULL
         OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) t
        WHERE s.is_user_process = 1 AND s.session_id <> @@SPID
        ORDER BY s.session_id`,
    );
  },
  fields: {
    session_id: 'client_metadata',
    login_name: 'identity_metadata',
    host_name: 'client_metadata',
    program_name: 'client_metadata',
    client_net_address: 'client_metadata',
    database_name: 'object_names',
    session_status: null,
    request_status: null,
    command: null,
    wait_type: null,
    wait_time_ms: null,
    wait_resource: 'object_names',
    blocking_session_id: 'client_metadata',
    cpu_time_ms: null,
    logical_reads: null,
    reads: null,
    writes: null,
    open_transaction_count: null,
    transaction_isolation_level: null,
    connected_seconds: null,
    request_elapsed_ms: null,
    query_hash: null,
    statement_text: 'query_text',
  },
});

interface BlockedRow {
  session_id: number;
  blocking_session_id: number;
  database_name: string | null;
  command: string | null;
  wait_type: string | null;
  wait_time_ms: number | null;
  wait_resource: string | null;
}
export interface BlockingRow extends BlockedRow {
  /** The session at the root of the chain: blocks others and waits on no one (the one to look at). */
  head_blocker_session_id: number;
  /** 1 = blocked directly by the head blocker. */
  chain_depth: number;
  /** The chain loops back on itself (a deadlock the monitor has not resolved yet). */
  cycle: boolean;
}

/** Follows blocking_session_id up to the session that blocks without waiting. */
export function blockingChains(rows: readonly BlockedRow[]): BlockingRow[] {
  const blocker = new Map(rows.map((r) => [r.session_id, r.blocking_session_id]));
  return rows.map((r) => {
    const seen = new Set([r.session_id]);
    let head = r.blocking_session_id;
    let depth = 1;
    let cycle = false;
    while (blocker.has(head)) {
      if (seen.has(head)) {
        cycle = true;
        break;
      }
      seen.add(head);
      head = blocker.get(head)!;
      depth++;
    }
    return { ...r, head_blocker_session_id: head, chain_depth: depth, cycle };
  });
}

const blocking = defineSignal<MssqlSession, BlockingRow>({
  id: 'mssql.blocking',
  family: 'waits_locks',
  description: 'Blocked requests with their blocker, the head of each blocking chain, and what they wait on',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    await requireViews(s, ['sys.dm_exec_requests'], 'blocking chains');
    await requireGrants(s, [GRANTS.serverState], 'blocking chains');
    const rows = await s.query<BlockedRow>(
      `SELECT r.session_id, r.blocking_session_id, DB_NAME(r.database_id) AS database_name, r.command,
              r.wait_type, r.wait_time AS wait_time_ms, r.wait_resource
         FROM sys.dm_exec_requests r
        WHERE r.blocking_session_id <> 0
        ORDER BY r.session_id`,
    );
    return blockingChains(rows);
  },
  fields: {
    session_id: 'client_metadata',
    blocking_session_id: 'client_metadata',
    head_blocker_session_id: 'client_metadata',
    chain_depth: null,
    cycle: null,
    database_name: 'object_names',
    command: null,
    wait_type: null,
    wait_time_ms: null,
    wait_resource: 'object_names',
  },
});

/** Idle and background waits that say nothing about load (the commonly excluded list). */
export const BENIGN_WAITS = [
  'BROKER_EVENTHANDLER',
  'BROKER_RECEIVE_WAITFOR',
  'BROKER_TASK_STOP',
  'BROKER_TO_FLUSH',
  'BROKER_TRANSMITTER',
  'CHECKPOINT_QUEUE',
  'CHKPT',
  'CLR_AUTO_EVENT',
  'CLR_MANUAL_EVENT',
  'CLR_SEMAPHORE',
  'DBMIRROR_DBM_EVENT',
  'DBMIRROR_EVENTS_QUEUE',
  'DBMIRROR_WORKER_QUEUE',
  'DBMIRRORING_CMD',
  'DIRTY_PAGE_POLL',
  'DISPATCHER_QUEUE_SEMAPHORE',
  'EXECSYNC',
  'FSAGENT',
  'FT_IFTS_SCHEDULER_IDLE_WAIT',
  'FT_IFTSHC_MUTEX',
  'HADR_CLUSAPI_CALL',
  'HADR_FILESTREAM_IOMGR_IOCOMPLETION',
  'HADR_LOGCAPTURE_WAIT',
  'HADR_NOTIFICATION_DEQUEUE',
  'HADR_TIMER_TASK',
  'HADR_WORK_QUEUE',
  'KSOURCE_WAKEUP',
  'LAZYWRITER_SLEEP',
  'LOGMGR_QUEUE',
  'MEMORY_ALLOCATION_EXT',
  'ONDEMAND_TASK_QUEUE',
  'PARALLEL_REDO_DRAIN_WORKER',
  'PARALLEL_REDO_LOG_CACHE',
  'PARALLEL_REDO_TRAN_LIST',
  'PARALLEL_REDO_WORKER_SYNC',
  'PARALLEL_REDO_WORKER_WAIT_WORK',
  'PREEMPTIVE_XE_GETTARGETSTATE',
  'PWAIT_ALL_COMPONENTS_INITIALIZED',
  'PWAIT_DIRECTLOGCONSUMER_GETNEXT',
  'QDS_PERSIST_TASK_MAIN_LOOP_SLEEP',
  'QDS_ASYNC_QUEUE',
  'QDS_CLEANUP_STALE_QUERIES_TASK_MAIN_LOOP_SLEEP',
  'QDS_SHUTDOWN_QUEUE',
  'REDO_THREAD_PENDING_WORK',
  'REQUEST_FOR_DEADLOCK_SEARCH',
  'RESOURCE_QUEUE',
  'SERVER_IDLE_CHECK',
  'SLEEP_BPOOL_FLUSH',
  'SLEEP_DBSTARTUP',
  'SLEEP_DCOMSTARTUP',
  'SLEEP_MASTERDBREADY',
  'SLEEP_MASTERMDREADY',
  'SLEEP_MASTERUPGRADED',
  'SLEEP_MSDBSTARTUP',
  'SLEEP_SYSTEMTASK',
  'SLEEP_TASK',
  'SLEEP_TEMPDBSTARTUP',
  'SNI_HTTP_ACCEPT',
  'SOS_WORK_DISPATCHER',
  'SP_SERVER_DIAGNOSTICS_SLEEP',
  'SQLTRACE_BUFFER_FLUSH',
  'SQLTRACE_INCREMENTAL_FLUSH_SLEEP',
  'SQLTRACE_WAIT_ENTRIES',
  'WAIT_FOR_RESULTS',
  'WAITFOR',
  'WAITFOR_TASKSHUTDOWN',
  'WAIT_XTP_RECOVERY',
  'WAIT_XTP_HOST_WAIT',
  'WAIT_XTP_OFFLINE_CKPT_NEW_LOG',
  'WAIT_XTP_CKPT_CLOSE',
  'XE_DISPATCHER_JOIN',
  'XE_DISPATCHER_WAIT',
  'XE_TIMER_EVENT',
] as const;

const BENIGN_LIST = BENIGN_WAITS.map((w) => {
  if (!/^[A-Z_]+$/.test(w)) throw new Error(`bad wait type ${w}`);
  return `N'${w}'`;
}).join(', ');

interface WaitRow {
  wait_type: string;
  waiting_tasks_count: number;
  wait_time_ms: number;
  max_wait_time_ms: number;
  signal_wait_time_ms: number;
}
const waits = defineSignal<MssqlSession, WaitRow>({
  id: 'mssql.waits',
  family: 'waits_locks',
  description: 'Cumulative waits by type since start (sys.dm_os_wait_stats; sys.dm_db_wait_stats on Azure SQL Database), idle waits excluded',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    await requireGrants(s, [GRANTS.serverState], 'wait statistics');
    // Azure SQL Database scopes waits to the database.
    const view = s.facts.platform === 'azure_sql_database' ? 'sys.dm_db_wait_stats' : 'sys.dm_os_wait_stats';
    return s.query<WaitRow>(
      `SELECT TOP (100) wait_type, CAST(waiting_tasks_count AS float) AS waiting_tasks_count, CAST(wait_time_ms AS float) AS wait_time_ms,
              CAST(max_wait_time_ms AS float) AS max_wait_time_ms, CAST(signal_wait_time_ms AS float) AS signal_wait_time_ms
         FROM ${view}
        WHERE wait_time_ms > 0 AND wait_type NOT IN (${BENIGN_LIST})
        ORDER BY wait_time_ms DESC`,
    );
  },
  fields: { wait_type: null, waiting_tasks_count: null, wait_time_ms: null, max_wait_time_ms: null, signal_wait_time_ms: null },
});

export const activitySignals: readonly AnySignalSpec<MssqlSession>[] = [sessions, blocking, waits];
