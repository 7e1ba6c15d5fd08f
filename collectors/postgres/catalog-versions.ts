// Statistics views newer PostgreSQL releases add (docs/postgres-versions.md). Every column is
// read where this server's view has it and is null where it does not (relation.ts): a counter
// a version lacks is null, never 0; a view a version lacks makes the signal `unsupported`,
// naming the server's version and the release that added it.
import { defineSignal, SignalUnavailable, type AnySignalSpec, type FieldCategories } from '../core/signal.js';
import { type Columns, selectColumns } from './columns.js';
import { quoteIdent } from './grants.js';
import { ifPresent, pgVersionName, relationColumns, requireRelation, type RelationColumns } from './relation.js';
import type { PgSession } from './session.js';

const ts = (cols: RelationColumns, col: string): string => ifPresent(cols, col, 'text', `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

interface IoRow {
  backend_type: string;
  object: string;
  context: string;
  reads: number | null;
  read_bytes: number | null;
  read_time_ms: number | null;
  writes: number | null;
  write_bytes: number | null;
  write_time_ms: number | null;
  writebacks: number | null;
  writeback_time_ms: number | null;
  extends: number | null;
  extend_bytes: number | null;
  extend_time_ms: number | null;
  op_bytes: number | null;
  hits: number | null;
  evictions: number | null;
  reuses: number | null;
  fsyncs: number | null;
  fsync_time_ms: number | null;
  stats_reset: string | null;
}
const IO_FIELDS: FieldCategories<IoRow> = {
  backend_type: null,
  object: null,
  context: null,
  reads: null,
  read_bytes: null,
  read_time_ms: null,
  writes: null,
  write_bytes: null,
  write_time_ms: null,
  writebacks: null,
  writeback_time_ms: null,
  extends: null,
  extend_bytes: null,
  extend_time_ms: null,
  op_bytes: null,
  hits: null,
  evictions: null,
  reuses: null,
  fsyncs: null,
  fsync_time_ms: null,
  stats_reset: null,
};
const io = defineSignal<PgSession, IoRow>({
  id: 'postgres.io',
  family: 'server_stats',
  description: 'I/O by backend type, object and context from pg_stat_io (PostgreSQL 16+; byte counters 18+, op_bytes 16-17; times need track_io_timing)',
  requires: [],
  shape: 'rows',
  read: async (s, ctx) => {
    const c = await requireRelation(s, 'pg_catalog', 'pg_stat_io', 'PostgreSQL 16');
    const n = (col: string) => ifPresent(c, col, 'float8');
    const columns: Columns<IoRow> = {
      backend_type: 'backend_type',
      object: 'object',
      context: 'context',
      reads: n('reads'),
      read_bytes: n('read_bytes'),
      read_time_ms: n('read_time'),
      writes: n('writes'),
      write_bytes: n('write_bytes'),
      write_time_ms: n('write_time'),
      writebacks: n('writebacks'),
      writeback_time_ms: n('writeback_time'),
      extends: n('extends'),
      extend_bytes: n('extend_bytes'),
      extend_time_ms: n('extend_time'),
      op_bytes: n('op_bytes'),
      hits: n('hits'),
      evictions: n('evictions'),
      reuses: n('reuses'),
      fsyncs: n('fsyncs'),
      fsync_time_ms: n('fsync_time'),
      stats_reset: ts(c, 'stats_reset'),
    };
    return s.query<IoRow>(`SELECT ${selectColumns(columns, IO_FIELDS, ctx)} FROM pg_catalog.pg_stat_io ORDER BY 1, 2, 3`);
  },
  fields: IO_FIELDS,
});

interface WalRow {
  wal_records: number | null;
  wal_fpi: number | null;
  wal_bytes: number | null;
  wal_buffers_full: number | null;
  wal_write: number | null;
  wal_sync: number | null;
  wal_write_time_ms: number | null;
  wal_sync_time_ms: number | null;
  stats_reset: string | null;
}
const WAL_FIELDS: FieldCategories<WalRow> = {
  wal_records: null,
  wal_fpi: null,
  wal_bytes: null,
  wal_buffers_full: null,
  wal_write: null,
  wal_sync: null,
  wal_write_time_ms: null,
  wal_sync_time_ms: null,
  stats_reset: null,
};
const wal = defineSignal<PgSession, WalRow>({
  id: 'postgres.wal',
  family: 'server_stats',
  description:
    'WAL generation from pg_stat_wal (PostgreSQL 14+): records, full-page images, bytes, full WAL buffers; write/sync counts and times up to 17 (moved to pg_stat_io in 18)',
  requires: [],
  shape: 'object',
  read: async (s, ctx) => {
    const c = await requireRelation(s, 'pg_catalog', 'pg_stat_wal', 'PostgreSQL 14');
    const n = (col: string) => ifPresent(c, col, 'float8');
    const columns: Columns<WalRow> = {
      wal_records: n('wal_records'),
      wal_fpi: n('wal_fpi'),
      wal_bytes: n('wal_bytes'),
      wal_buffers_full: n('wal_buffers_full'),
      wal_write: n('wal_write'),
      wal_sync: n('wal_sync'),
      wal_write_time_ms: n('wal_write_time'),
      wal_sync_time_ms: n('wal_sync_time'),
      stats_reset: ts(c, 'stats_reset'),
    };
    return s.query<WalRow>(`SELECT ${selectColumns(columns, WAL_FIELDS, ctx)} FROM pg_catalog.pg_stat_wal`);
  },
  fields: WAL_FIELDS,
});

/** The schema pg_stat_statements is created in, or not_enabled with the fix (as postgres.query_stats says). */
export async function statementsSchema(s: PgSession): Promise<string> {
  // query_stats and statements_info both need it: asked once per cycle's transaction.
  const schema = await s.factOfTransaction(
    'pg_stat_statements schema',
    async () =>
      (
        await s.query<{ schema: string }>(
          `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
        )
      )[0]?.schema ?? null,
  );
  if (schema === null) {
    throw new SignalUnavailable(
      'not_enabled',
      'the pg_stat_statements extension is not created in this database',
      'Add pg_stat_statements to shared_preload_libraries (restart), then: CREATE EXTENSION pg_stat_statements;',
    );
  }
  return schema;
}

interface StatementsInfoRow {
  dealloc: number | null;
  stats_reset: string | null;
}
const STATEMENTS_INFO_FIELDS: FieldCategories<StatementsInfoRow> = { dealloc: null, stats_reset: null };
const statementsInfo = defineSignal<PgSession, StatementsInfoRow>({
  id: 'postgres.statements_info',
  family: 'query_stats',
  description:
    'pg_stat_statements_info (extension 1.9+, PostgreSQL 14+): how many statements were evicted for lack of room (pg_stat_statements.max) and when the statistics were reset',
  requires: ['pg_stat_statements'],
  shape: 'object',
  read: async (s, ctx) => {
    const schema = await statementsSchema(s);
    const c = await relationColumns(s, schema, 'pg_stat_statements_info');
    if (c === undefined) {
      const [v] = await s.query<{ version: string }>(`SELECT extversion AS version FROM pg_extension WHERE extname = 'pg_stat_statements'`);
      throw new SignalUnavailable(
        'unsupported',
        `pg_stat_statements_info does not exist on PostgreSQL ${pgVersionName(s.versionNum)} with pg_stat_statements ${v?.version ?? '?'}: it was added in extension 1.9 (PostgreSQL 14)`,
        s.versionNum >= 140000 ? 'ALTER EXTENSION pg_stat_statements UPDATE;  -- as the extension owner, in the monitored database' : undefined,
      );
    }
    const columns: Columns<StatementsInfoRow> = { dealloc: ifPresent(c, 'dealloc', 'float8'), stats_reset: ts(c, 'stats_reset') };
    return s.query<StatementsInfoRow>(`SELECT ${selectColumns(columns, STATEMENTS_INFO_FIELDS, ctx)} FROM ${quoteIdent(schema)}.pg_stat_statements_info`);
  },
  fields: STATEMENTS_INFO_FIELDS,
});

interface SubscriptionStatsRow {
  subid: number;
  subname: string | null;
  apply_error_count: number | null;
  sync_error_count: number | null;
  confl_insert_exists: number | null;
  confl_update_origin_differs: number | null;
  confl_update_exists: number | null;
  confl_update_missing: number | null;
  confl_delete_origin_differs: number | null;
  confl_delete_missing: number | null;
  confl_multiple_unique_conflicts: number | null;
  stats_reset: string | null;
}
const SUBSCRIPTION_FIELDS: FieldCategories<SubscriptionStatsRow> = {
  subid: null,
  subname: 'object_names',
  apply_error_count: null,
  sync_error_count: null,
  confl_insert_exists: null,
  confl_update_origin_differs: null,
  confl_update_exists: null,
  confl_update_missing: null,
  confl_delete_origin_differs: null,
  confl_delete_missing: null,
  confl_multiple_unique_conflicts: null,
  stats_reset: null,
};
const subscriptionStats = defineSignal<PgSession, SubscriptionStatsRow>({
  id: 'postgres.subscription_stats',
  family: 'replication',
  description: 'Logical replication subscription errors from pg_stat_subscription_stats (PostgreSQL 15+; conflict counters 18+)',
  requires: [],
  shape: 'rows',
  read: async (s, ctx) => {
    const c = await requireRelation(s, 'pg_catalog', 'pg_stat_subscription_stats', 'PostgreSQL 15');
    const n = (col: string) => ifPresent(c, col, 'float8');
    const columns: Columns<SubscriptionStatsRow> = {
      subid: 'subid::int8::float8',
      subname: 'subname',
      apply_error_count: n('apply_error_count'),
      sync_error_count: n('sync_error_count'),
      confl_insert_exists: n('confl_insert_exists'),
      confl_update_origin_differs: n('confl_update_origin_differs'),
      confl_update_exists: n('confl_update_exists'),
      confl_update_missing: n('confl_update_missing'),
      confl_delete_origin_differs: n('confl_delete_origin_differs'),
      confl_delete_missing: n('confl_delete_missing'),
      confl_multiple_unique_conflicts: n('confl_multiple_unique_conflicts'),
      stats_reset: ts(c, 'stats_reset'),
    };
    return s.query<SubscriptionStatsRow>(
      `SELECT ${selectColumns(columns, SUBSCRIPTION_FIELDS, ctx)} FROM pg_catalog.pg_stat_subscription_stats ORDER BY subid`,
    );
  },
  fields: SUBSCRIPTION_FIELDS,
});

export const versionSignals: readonly AnySignalSpec<PgSession>[] = [io, wal, statementsInfo, subscriptionStats];
