import { defineSignal, type AnySignalSpec, type FieldCategories } from '../core/signal.js';
import { type Columns, selectColumns } from './columns.js';
import type { PgSession } from './session.js';
import { ifPresent, relationColumns } from './relation.js';
import { needsAllStats } from './visibility.js';

interface LockRow {
  locktype: string;
  mode: string;
  granted: boolean;
  count: number;
}
const locks = defineSignal<PgSession, LockRow>({
  id: 'postgres.locks',
  family: 'waits_locks',
  description: 'Locks held and awaited, counted by lock type, mode and whether granted (pg_locks)',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<LockRow>(
      `SELECT locktype, mode, granted, count(*)::int AS count
         FROM pg_locks
        GROUP BY locktype, mode, granted
        ORDER BY locktype, mode, granted`,
    ),
  fields: { locktype: null, mode: null, granted: null, count: null },
});

interface BlockingRow {
  pid: number;
  blocked_by: number[];
  datname: string | null;
  usename: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  waiting_seconds: number | null;
}
const BLOCKING_FIELDS: FieldCategories<BlockingRow> = {
  pid: 'client_metadata',
  blocked_by: 'client_metadata',
  datname: 'object_names',
  usename: 'identity_metadata',
  wait_event_type: null,
  wait_event: null,
  waiting_seconds: null,
};
const BLOCKING_COLUMNS: Columns<BlockingRow> = {
  pid: 'pid',
  blocked_by: 'pg_blocking_pids(pid)',
  datname: 'datname',
  usename: 'usename',
  wait_event_type: 'wait_event_type',
  wait_event: 'wait_event',
  waiting_seconds: 'round(extract(epoch FROM now() - state_change)::numeric, 3)::float8',
};
const blocking = defineSignal<PgSession, BlockingRow>({
  id: 'postgres.blocking',
  family: 'waits_locks',
  description: 'Sessions waiting on a lock held by another session, with who blocks them (pg_blocking_pids)',
  requires: ['pg_read_all_stats'],
  shape: 'rows',
  read: async (s, ctx) => {
    await needsAllStats(s, 'lock waits');
    // pg_blocking_pids takes the lock manager's locks: asked only of sessions waiting on a lock (the only ones it
    // can name blockers for), not of every session.
    return s.query<BlockingRow>(
      `SELECT ${selectColumns(BLOCKING_COLUMNS, BLOCKING_FIELDS, ctx)}
         FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND cardinality(pg_blocking_pids(pid)) > 0
        ORDER BY pid`,
    );
  },
  fields: BLOCKING_FIELDS,
});

interface CheckpointerRow {
  checkpoints_timed: number;
  checkpoints_requested: number;
  checkpoint_write_time_ms: number;
  checkpoint_sync_time_ms: number;
  buffers_checkpoint: number;
  buffers_clean: number;
  maxwritten_clean: number;
  /** Not reported by PostgreSQL 17+ (moved to pg_stat_io): null, never 0. */
  buffers_backend: number | null;
  buffers_alloc: number;
  /** pg_stat_checkpointer (17+) counts restartpoints on a standby: null before 17. */
  restartpoints_timed: number | null;
  restartpoints_requested: number | null;
  restartpoints_done: number | null;
  /** Checkpoints and restartpoints completed (num_done) and SLRU buffers written: 18+, null before. */
  checkpoints_done: number | null;
  slru_written: number | null;
}
const checkpointer = defineSignal<PgSession, CheckpointerRow>({
  id: 'postgres.checkpointer',
  family: 'server_stats',
  description: 'Checkpoints and background writer activity (pg_stat_bgwriter; pg_stat_checkpointer on 17+)',
  requires: [],
  shape: 'object',
  // PostgreSQL 17 moved the checkpoint counters out of pg_stat_bgwriter into pg_stat_checkpointer;
  // which one this server has is asked of the server, not inferred from its version number.
  read: async (s) => {
    const c = await relationColumns(s, 'pg_catalog', 'pg_stat_checkpointer');
    if (c === undefined) {
      return s.query<CheckpointerRow>(
        `SELECT checkpoints_timed::float8 AS checkpoints_timed, checkpoints_req::float8 AS checkpoints_requested,
                checkpoint_write_time AS checkpoint_write_time_ms, checkpoint_sync_time AS checkpoint_sync_time_ms,
                buffers_checkpoint::float8 AS buffers_checkpoint, buffers_clean::float8 AS buffers_clean,
                maxwritten_clean::float8 AS maxwritten_clean, buffers_backend::float8 AS buffers_backend,
                buffers_alloc::float8 AS buffers_alloc,
                NULL::float8 AS restartpoints_timed, NULL::float8 AS restartpoints_requested, NULL::float8 AS restartpoints_done,
                NULL::float8 AS checkpoints_done, NULL::float8 AS slru_written
           FROM pg_stat_bgwriter`,
      );
    }
    const n = (col: string) => ifPresent(c, col, 'float8', `c.${col}`);
    return s.query<CheckpointerRow>(
      `SELECT c.num_timed::float8 AS checkpoints_timed, c.num_requested::float8 AS checkpoints_requested,
              c.write_time AS checkpoint_write_time_ms, c.sync_time AS checkpoint_sync_time_ms,
              c.buffers_written::float8 AS buffers_checkpoint, b.buffers_clean::float8 AS buffers_clean,
              b.maxwritten_clean::float8 AS maxwritten_clean, NULL::float8 AS buffers_backend,
              b.buffers_alloc::float8 AS buffers_alloc,
              ${n('restartpoints_timed')} AS restartpoints_timed, ${n('restartpoints_req')} AS restartpoints_requested,
              ${n('restartpoints_done')} AS restartpoints_done, ${n('num_done')} AS checkpoints_done,
              ${n('slru_written')} AS slru_written
         FROM pg_stat_checkpointer c CROSS JOIN pg_stat_bgwriter b`,
    );
  },
  fields: {
    checkpoints_timed: null,
    checkpoints_requested: null,
    checkpoint_write_time_ms: null,
    checkpoint_sync_time_ms: null,
    buffers_checkpoint: null,
    buffers_clean: null,
    maxwritten_clean: null,
    buffers_backend: null,
    buffers_alloc: null,
    restartpoints_timed: null,
    restartpoints_requested: null,
    restartpoints_done: null,
    checkpoints_done: null,
    slru_written: null,
  },
});

interface WraparoundRow {
  datname: string;
  xid_age: number;
  mxid_age: number;
  allow_connections: boolean;
}
const wraparound = defineSignal<PgSession, WraparoundRow>({
  id: 'postgres.wraparound',
  family: 'server_stats',
  description: 'Transaction ID and multixact age per database (distance to wraparound vacuum)',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<WraparoundRow>(
      `SELECT datname, age(datfrozenxid)::float8 AS xid_age, mxid_age(datminmxid)::float8 AS mxid_age,
              datallowconn AS allow_connections
         FROM pg_database
        ORDER BY age(datfrozenxid) DESC, datname`,
    ),
  fields: { datname: 'object_names', xid_age: null, mxid_age: null, allow_connections: null },
});

interface VacuumRow {
  schemaname: string;
  relname: string;
  n_live_tup: number;
  n_dead_tup: number;
  n_mod_since_analyze: number;
  last_vacuum: string | null;
  last_autovacuum: string | null;
  last_analyze: string | null;
  last_autoanalyze: string | null;
  vacuum_count: number;
  autovacuum_count: number;
  xid_age: number;
  /** Cumulative time spent in (auto)vacuum and (auto)analyze of the table: 18+, null before. */
  total_vacuum_time_ms: number | null;
  total_autovacuum_time_ms: number | null;
  total_analyze_time_ms: number | null;
  total_autoanalyze_time_ms: number | null;
}
const ts = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ${col}`;
const vacuum = defineSignal<PgSession, VacuumRow>({
  id: 'postgres.vacuum',
  family: 'server_stats',
  description: 'Dead tuples, last (auto)vacuum/analyze and freeze age of the 500 tables with most dead tuples in this database',
  requires: [],
  shape: 'rows',
  read: async (s) => {
    const cols = (await relationColumns(s, 'pg_catalog', 'pg_stat_user_tables')) ?? new Set<string>();
    const t = (col: string) => `${ifPresent(cols, col, 'float8', `s.${col}`)} AS ${col}_ms`;
    return s.query<VacuumRow>(
      `SELECT s.schemaname, s.relname, s.n_live_tup::float8 AS n_live_tup, s.n_dead_tup::float8 AS n_dead_tup,
              s.n_mod_since_analyze::float8 AS n_mod_since_analyze,
              ${ts('last_vacuum')}, ${ts('last_autovacuum')}, ${ts('last_analyze')}, ${ts('last_autoanalyze')},
              s.vacuum_count::float8 AS vacuum_count, s.autovacuum_count::float8 AS autovacuum_count,
              age(c.relfrozenxid)::float8 AS xid_age,
              ${t('total_vacuum_time')}, ${t('total_autovacuum_time')}, ${t('total_analyze_time')}, ${t('total_autoanalyze_time')}
         FROM pg_stat_user_tables s
         JOIN pg_class c ON c.oid = s.relid
        ORDER BY s.n_dead_tup DESC, s.schemaname, s.relname
        LIMIT 500`,
    );
  },
  fields: {
    schemaname: 'object_names',
    relname: 'object_names',
    n_live_tup: null,
    n_dead_tup: null,
    n_mod_since_analyze: null,
    last_vacuum: null,
    last_autovacuum: null,
    last_analyze: null,
    last_autoanalyze: null,
    vacuum_count: null,
    autovacuum_count: null,
    xid_age: null,
    total_vacuum_time_ms: null,
    total_autovacuum_time_ms: null,
    total_analyze_time_ms: null,
    total_autoanalyze_time_ms: null,
  },
  // Up to 500 rows every interval: shipped as changed rows only (pg_stat_user_tables counters as differences;
  // a pg_stat_reset() shows as a counter going down, a restart as a new start time: a full baseline then).
  delta: {
    key: ['schemaname', 'relname'],
    counters: ['vacuum_count', 'autovacuum_count', 'total_vacuum_time_ms', 'total_autovacuum_time_ms', 'total_analyze_time_ms', 'total_autoanalyze_time_ms'],
    resetWhen: [{ signal: 'postgres.server', field: 'started_at' }],
  },
});

export const healthSignals: readonly AnySignalSpec<PgSession>[] = [locks, blocking, checkpointer, wraparound, vacuum];
