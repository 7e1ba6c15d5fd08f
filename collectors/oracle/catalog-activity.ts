import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { utcOfDate } from './sql.js';
import { needsAllContainers } from './visibility.js';

interface SessionRow {
  con_id: number;
  sid: number;
  serial: number;
  username: string | null;
  status: string;
  osuser: string | null;
  machine: string | null;
  program: string | null;
  module: string | null;
  service_name: string | null;
  sql_id: string | null;
  event: string | null;
  wait_class: string | null;
  state: string | null;
  wait_seconds: number | null;
  blocking_session: number | null;
  final_blocking_session: number | null;
  last_call_seconds: number;
  logon_at: string;
}
const sessions = defineSignal<OracleSession, SessionRow>({
  id: 'oracle.sessions',
  family: 'activity',
  description: "User sessions from V$SESSION with their current wait, SQL id and blocker (the agent's own session excluded)",
  requires: ['V$SESSION'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'sessions');
    return s.query<SessionRow>(
      `SELECT con_id, sid, serial# AS serial, username, status, osuser, machine, program, module, service_name, sql_id,
              event, wait_class, state, ROUND(wait_time_micro / 1000000, 3) AS wait_seconds,
              blocking_session, final_blocking_session, last_call_et AS last_call_seconds,
              ${utcOfDate('logon_time')} AS logon_at
         FROM v$session
        WHERE type = 'USER' AND sid <> TO_NUMBER(SYS_CONTEXT('USERENV', 'SID'))
        ORDER BY con_id, sid
        FETCH FIRST 1000 ROWS ONLY`,
    );
  },
  fields: {
    con_id: null,
    sid: 'client_metadata',
    serial: 'client_metadata',
    username: 'identity_metadata',
    status: null,
    osuser: 'client_metadata',
    machine: 'client_metadata',
    program: 'client_metadata',
    module: 'client_metadata',
    service_name: 'object_names',
    sql_id: null,
    event: null,
    wait_class: null,
    state: null,
    wait_seconds: null,
    blocking_session: 'client_metadata',
    final_blocking_session: 'client_metadata',
    last_call_seconds: null,
    logon_at: null,
  },
});

interface EventRow {
  con_id: number;
  event: string;
  wait_class: string;
  total_waits: number;
  total_timeouts: number;
  time_waited_ms: number;
  average_wait_ms: number;
}
const systemEvents = defineSignal<OracleSession, EventRow>({
  id: 'oracle.system_events',
  family: 'waits_locks',
  description: 'Cumulative non-idle wait events since startup (V$SYSTEM_EVENT), top 100 by time waited',
  requires: ['V$SYSTEM_EVENT'],
  shape: 'rows',
  read: (s) =>
    s.query<EventRow>(
      `SELECT con_id, event, wait_class, total_waits, total_timeouts, ROUND(time_waited_micro / 1000, 3) AS time_waited_ms,
              ROUND(time_waited_micro / 1000 / NULLIF(total_waits, 0), 3) AS average_wait_ms
         FROM v$system_event
        WHERE wait_class <> 'Idle'
        ORDER BY time_waited_micro DESC
        FETCH FIRST 100 ROWS ONLY`,
    ),
  fields: { con_id: null, event: null, wait_class: null, total_waits: null, total_timeouts: null, time_waited_ms: null, average_wait_ms: null },
});

interface BlockingRow {
  con_id: number;
  waiting_sid: number;
  waiting_serial: number;
  waiting_user: string | null;
  blocking_instance: number | null;
  blocking_sid: number;
  final_blocking_sid: number | null;
  event: string | null;
  wait_seconds: number | null;
  sql_id: string | null;
  object_id: number | null;
}
const blocking = defineSignal<OracleSession, BlockingRow>({
  id: 'oracle.blocking',
  family: 'waits_locks',
  description: 'Sessions waiting on another session (V$SESSION.BLOCKING_SESSION), with the final blocker and the object waited on',
  requires: ['V$SESSION'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'blocked sessions');
    return s.query<BlockingRow>(
      `SELECT con_id, sid AS waiting_sid, serial# AS waiting_serial, username AS waiting_user, blocking_instance,
              blocking_session AS blocking_sid, final_blocking_session AS final_blocking_sid, event,
              ROUND(wait_time_micro / 1000000, 3) AS wait_seconds, sql_id,
              CASE WHEN row_wait_obj# > 0 THEN row_wait_obj# END AS object_id
         FROM v$session
        WHERE blocking_session IS NOT NULL
        ORDER BY wait_time_micro DESC
        FETCH FIRST 200 ROWS ONLY`,
    );
  },
  fields: {
    con_id: null,
    waiting_sid: 'client_metadata',
    waiting_serial: 'client_metadata',
    waiting_user: 'identity_metadata',
    blocking_instance: null,
    blocking_sid: 'client_metadata',
    final_blocking_sid: 'client_metadata',
    event: null,
    wait_seconds: null,
    sql_id: null,
    object_id: null,
  },
});

interface LockedObjectRow {
  con_id: number;
  sid: number;
  owner: string;
  object_name: string;
  object_type: string;
  locked_mode: number;
}
const lockedObjects = defineSignal<OracleSession, LockedObjectRow>({
  id: 'oracle.locked_objects',
  family: 'waits_locks',
  description: 'Objects locked by open transactions (V$LOCKED_OBJECT with their names from CDB_OBJECTS)',
  requires: ['V$LOCKED_OBJECT', 'CDB_OBJECTS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'locked objects');
    return s.query<LockedObjectRow>(
      `SELECT l.con_id, l.session_id AS sid, o.owner, o.object_name, o.object_type, l.locked_mode
         FROM v$locked_object l
         JOIN cdb_objects o ON o.object_id = l.object_id AND o.con_id = l.con_id
        ORDER BY l.con_id, l.session_id
        FETCH FIRST 500 ROWS ONLY`,
    );
  },
  fields: { con_id: null, sid: 'client_metadata', owner: 'object_names', object_name: 'object_names', object_type: null, locked_mode: null },
});

interface SqlStatRow {
  con_id: number;
  sql_id: string;
  plan_hash_value: number;
  executions: number;
  elapsed_ms: number;
  cpu_ms: number;
  buffer_gets: number;
  disk_reads: number;
  rows_processed: number;
  last_active_at: string | null;
  sql_text: string | null;
}
const sqlStats = defineSignal<OracleSession, SqlStatRow>({
  id: 'oracle.sql_stats',
  family: 'query_stats',
  description: 'Top 200 statements by elapsed time from V$SQLSTATS (statistics; the first 1000 characters of text, governed by the policy)',
  requires: ['V$SQLSTATS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'SQL statistics');
    // V$SQLSTATS rather than V$SQL: same counters, kept longer, and read without library cache latches.
    return s.query<SqlStatRow>(
      `SELECT con_id, sql_id, plan_hash_value, executions, ROUND(elapsed_time / 1000, 3) AS elapsed_ms,
              ROUND(cpu_time / 1000, 3) AS cpu_ms, buffer_gets, disk_reads, rows_processed,
              ${utcOfDate('last_active_time')} AS last_active_at, sql_text
         FROM v$sqlstats
        ORDER BY elapsed_time DESC
        FETCH FIRST 200 ROWS ONLY`,
    );
  },
  fields: {
    con_id: null,
    sql_id: null,
    plan_hash_value: null,
    executions: null,
    elapsed_ms: null,
    cpu_ms: null,
    buffer_gets: null,
    disk_reads: null,
    rows_processed: null,
    last_active_at: null,
    sql_text: 'query_text',
  },
  // Totals since the cursor was first parsed (V$SQLSTATS): shipped as differences per row (docs/payload-v2.md).
  delta: {
    // "One row per unique combination of SQL_ID and PLAN_HASH_VALUE", per container.
    key: ['con_id', 'sql_id', 'plan_hash_value'],
    counters: ['executions', 'elapsed_ms', 'cpu_ms', 'buffer_gets', 'disk_reads', 'rows_processed'],
    // A cursor aged out of the shared pool and parsed again (or its PDB closed and reopened) starts from zero: only that row restarts.
    rowReset: true,
    // An instance restart empties the shared pool.
    resetWhen: [{ signal: 'oracle.instance', field: 'started_at' }],
  },
});

export const activitySignals: readonly AnySignalSpec<OracleSession>[] = [sessions, blocking, systemEvents, lockedObjects, sqlStats];
