import { defineSignal, type FieldCategories, SignalUnavailable, type AnySignalSpec } from '../core/signal.js';
import { type Columns, selectColumns } from './columns.js';
import { quoteIdent } from './quote.js';
import type { PgSession } from './session.js';
import { needsAllStats } from './visibility.js';
import { healthSignals } from './catalog-health.js';
import { replicationSignals } from './catalog-replication.js';
import { schemaSignals } from './catalog-schema.js';
import { securitySignals } from './catalog-security.js';
import { statementsSchema, versionSignals } from './catalog-versions.js';
import { ifPresent, relationColumns, type RelationColumns } from './relation.js';

interface ServerRow {
  version: string;
  version_num: number;
  started_at: string;
  uptime_seconds: number;
  in_recovery: boolean;
}
const server = defineSignal<PgSession, ServerRow>({
  id: 'postgres.server',
  family: 'server_stats',
  description: 'Server version, start time, uptime and whether it is a standby',
  requires: [],
  shape: 'object',
  read: (s) =>
    s.query<ServerRow>(
      `SELECT current_setting('server_version') AS version,
              current_setting('server_version_num')::int AS version_num,
              to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at,
              round(extract(epoch FROM now() - pg_postmaster_start_time()))::float8 AS uptime_seconds,
              pg_is_in_recovery() AS in_recovery`,
    ),
  fields: { version: null, version_num: null, started_at: null, uptime_seconds: null, in_recovery: null },
});

interface ActivityRow {
  pid: number;
  datname: string | null;
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  backend_type: string | null;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  xact_age_s: number | null;
  query_age_s: number | null;
  blocked_by: number[];
  query_id: string | null;
  query: string | null;
}
const ACTIVITY_FIELDS: FieldCategories<ActivityRow> = {
  pid: 'client_metadata',
  datname: 'object_names',
  usename: 'identity_metadata',
  application_name: 'client_metadata',
  client_addr: 'client_metadata',
  backend_type: null,
  state: null,
  wait_event_type: null,
  wait_event: null,
  xact_age_s: null,
  query_age_s: null,
  blocked_by: 'client_metadata',
  query_id: null,
  query: 'query_text',
};
/** query_id exists in pg_stat_activity from PostgreSQL 14. */
const activityColumns = (versionNum: number): Columns<ActivityRow> => ({
  pid: 'pid',
  datname: 'datname',
  usename: 'usename',
  application_name: 'application_name',
  client_addr: 'host(client_addr)',
  backend_type: 'backend_type',
  state: 'state',
  wait_event_type: 'wait_event_type',
  wait_event: 'wait_event',
  xact_age_s: 'round(extract(epoch FROM now() - xact_start)::numeric, 3)::float8',
  query_age_s: 'round(extract(epoch FROM now() - query_start)::numeric, 3)::float8',
  blocked_by: 'pg_blocking_pids(pid)',
  query_id: versionNum >= 140000 ? 'query_id::text' : 'NULL::text',
  query: 'query',
});
const activity = defineSignal<PgSession, ActivityRow>({
  id: 'postgres.activity',
  family: 'activity',
  description:
    'Sessions doing something (not idle), and idle sessions that block another, from pg_stat_activity with state, wait events and blocking PIDs (idle sessions: postgres.connections)',
  requires: ['pg_read_all_stats'],
  shape: 'rows',
  read: async (s, ctx) => {
    await needsAllStats(s, 'sessions');
    // Idle sessions are many (every pooled connection of every application) and each one alone says little: they
    // are counted in postgres.connections, as are processes without a state (checkpointer, background writer,
    // launchers). A session still holding a lock another one waits for (a session-level advisory lock outlives
    // its transaction) is listed whatever its state, so every PID in blocked_by has its row. Excluded categories
    // are left out of the SELECT: e.g. no client address is read when client_metadata is excluded.
    //
    // Who blocks whom is client metadata (blocked_by): a policy that excludes it has no blocking PIDs to
    // resolve, and the server is not asked which idle sessions block (their row would say so). The waiting
    // sessions' blockers are an uncorrelated subquery, which PostgreSQL runs once and hashes: correlated, it
    // would scan pg_stat_activity again for every idle session.
    const blockers = ctx.excluded('client_metadata')
      ? ''
      : " OR pid IN (SELECT unnest(pg_blocking_pids(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock')";
    const rows = await s.query<ActivityRow & { masked: boolean }>(
      `SELECT ${selectColumns(activityColumns(s.versionNum), ACTIVITY_FIELDS, ctx)},
              query = '<insufficient privilege>' AS masked
         FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND (state <> 'idle'${blockers})
        ORDER BY pid`,
    );
    // Belt and braces: a masked row is never passed through as data.
    if (rows.some((r) => r.masked)) {
      throw new SignalUnavailable('permission', 'some sessions are masked as <insufficient privilege>', 'GRANT pg_read_all_stats TO <monitoring role>;');
    }
    return rows.map(({ masked: _masked, ...r }) => r);
  },
  fields: ACTIVITY_FIELDS,
});

interface ConnectionsRow {
  datname: string | null;
  usename: string | null;
  application_name: string | null;
  backend_type: string | null;
  state: string | null;
  sessions: number;
  longest_in_state_s: number | null;
}
const CONNECTIONS_FIELDS: FieldCategories<ConnectionsRow> = {
  datname: 'object_names',
  usename: 'identity_metadata',
  application_name: 'client_metadata',
  backend_type: null,
  state: null,
  sessions: null,
  longest_in_state_s: null,
};
/** The grouping columns of postgres.connections, in GROUP BY and ORDER BY order. */
const CONNECTIONS_GROUPS: Columns<Pick<ConnectionsRow, 'datname' | 'usename' | 'application_name' | 'backend_type' | 'state'>> = {
  datname: 'datname',
  usename: 'usename',
  application_name: 'application_name',
  backend_type: 'backend_type',
  state: 'state',
};
const connections = defineSignal<PgSession, ConnectionsRow>({
  id: 'postgres.connections',
  family: 'activity',
  description:
    'Every session and server process counted by database, user, application, process type and state, with the longest time one has been in that state',
  requires: ['pg_read_all_stats'],
  shape: 'rows',
  read: async (s, ctx) => {
    // Without pg_read_all_stats, other users' sessions have no state: the counts by state would be wrong, not partial.
    await needsAllStats(s, 'session states');
    // A category the policy excludes is neither read nor grouped by (selectColumns leaves it out): its sessions
    // merge into the groups of the rest. The grouping columns carry no alias, so the list serves GROUP BY too.
    const groups = selectColumns(CONNECTIONS_GROUPS, CONNECTIONS_FIELDS, ctx);
    return s.query<ConnectionsRow>(
      `SELECT ${groups}, count(*)::int AS sessions,
              round(max(extract(epoch FROM now() - state_change))::numeric, 3)::float8 AS longest_in_state_s
         FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
        GROUP BY ${groups}
        ORDER BY ${groups}`,
    );
  },
  fields: CONNECTIONS_FIELDS,
});

interface DatabaseRow {
  datname: string;
  numbackends: number;
  xact_commit: number;
  xact_rollback: number;
  blks_read: number;
  blks_hit: number;
  tup_returned: number;
  tup_fetched: number;
  tup_inserted: number;
  tup_updated: number;
  tup_deleted: number;
  conflicts: number;
  temp_files: number;
  temp_bytes: number;
  deadlocks: number;
  // Session accounting (PostgreSQL 14+) and parallel workers (18+): null where the server lacks them.
  sessions: number | null;
  session_time_ms: number | null;
  active_time_ms: number | null;
  idle_in_transaction_time_ms: number | null;
  sessions_abandoned: number | null;
  sessions_fatal: number | null;
  sessions_killed: number | null;
  parallel_workers_to_launch: number | null;
  parallel_workers_launched: number | null;
}
/** Columns of pg_stat_database later releases added, read where this server has them. */
const DATABASE_ADDED = [
  ['sessions', 'sessions'],
  ['session_time_ms', 'session_time'],
  ['active_time_ms', 'active_time'],
  ['idle_in_transaction_time_ms', 'idle_in_transaction_time'],
  ['sessions_abandoned', 'sessions_abandoned'],
  ['sessions_fatal', 'sessions_fatal'],
  ['sessions_killed', 'sessions_killed'],
  ['parallel_workers_to_launch', 'parallel_workers_to_launch'],
  ['parallel_workers_launched', 'parallel_workers_launched'],
] as const;
const databases = defineSignal<PgSession, DatabaseRow>({
  id: 'postgres.databases',
  family: 'server_stats',
  description: 'Per-database counters from pg_stat_database (sizes: postgres.database_sizes)',
  requires: [],
  shape: 'rows',
  read: async (s) => {
    const cols = (await relationColumns(s, 'pg_catalog', 'pg_stat_database')) ?? new Set<string>();
    const added = DATABASE_ADDED.map(([as, col]) => `${ifPresent(cols, col, 'float8', `d.${col}`)} AS ${as}`).join(', ');
    return s.query<DatabaseRow>(
      `SELECT d.datname, d.numbackends, d.xact_commit::float8, d.xact_rollback::float8, d.blks_read::float8,
              d.blks_hit::float8, d.tup_returned::float8, d.tup_fetched::float8, d.tup_inserted::float8,
              d.tup_updated::float8, d.tup_deleted::float8, d.conflicts::float8, d.temp_files::float8,
              d.temp_bytes::float8, d.deadlocks::float8,
              ${added}
         FROM pg_stat_database d
        WHERE d.datname IS NOT NULL
        ORDER BY d.datname`,
    );
  },
  fields: {
    datname: 'object_names',
    numbackends: null,
    xact_commit: null,
    xact_rollback: null,
    blks_read: null,
    blks_hit: null,
    tup_returned: null,
    tup_fetched: null,
    tup_inserted: null,
    tup_updated: null,
    tup_deleted: null,
    conflicts: null,
    temp_files: null,
    temp_bytes: null,
    deadlocks: null,
    sessions: null,
    session_time_ms: null,
    active_time_ms: null,
    idle_in_transaction_time_ms: null,
    sessions_abandoned: null,
    sessions_fatal: null,
    sessions_killed: null,
    parallel_workers_to_launch: null,
    parallel_workers_launched: null,
  },
});

interface StatementRow {
  queryid: string;
  dbid: number;
  userid: number;
  /** PostgreSQL 14+ (1.9): false for the entry of the same statement run nested (track = all); null where the view lacks it. */
  toplevel: boolean | null;
  calls: number;
  total_exec_time_ms: number;
  mean_exec_time_ms: number;
  rows: number;
  shared_blks_hit: number;
  shared_blks_read: number;
  query: string | null;
  // Columns of newer extension versions (docs/postgres-versions.md): null where the installed
  // pg_stat_statements lacks them, never 0.
  plans: number | null;
  total_plan_time_ms: number | null;
  wal_records: number | null;
  wal_fpi: number | null;
  wal_bytes: number | null;
  wal_buffers_full: number | null;
  jit_functions: number | null;
  jit_generation_time_ms: number | null;
  jit_inlining_count: number | null;
  jit_inlining_time_ms: number | null;
  jit_optimization_count: number | null;
  jit_optimization_time_ms: number | null;
  jit_emission_count: number | null;
  jit_emission_time_ms: number | null;
  jit_deform_count: number | null;
  jit_deform_time_ms: number | null;
  parallel_workers_to_launch: number | null;
  parallel_workers_launched: number | null;
  stats_since: string | null;
}
const STATEMENT_FIELDS: FieldCategories<StatementRow> = {
  queryid: null,
  dbid: null,
  userid: null,
  toplevel: null,
  calls: null,
  total_exec_time_ms: null,
  mean_exec_time_ms: null,
  rows: null,
  shared_blks_hit: null,
  shared_blks_read: null,
  query: 'query_text',
  plans: null,
  total_plan_time_ms: null,
  wal_records: null,
  wal_fpi: null,
  wal_bytes: null,
  wal_buffers_full: null,
  jit_functions: null,
  jit_generation_time_ms: null,
  jit_inlining_count: null,
  jit_inlining_time_ms: null,
  jit_optimization_count: null,
  jit_optimization_time_ms: null,
  jit_emission_count: null,
  jit_emission_time_ms: null,
  jit_deform_count: null,
  jit_deform_time_ms: null,
  parallel_workers_to_launch: null,
  parallel_workers_launched: null,
  stats_since: null,
};
/** The columns of the installed extension's view (1.8: PostgreSQL 13; 1.10: 15; 1.11: 17; 1.12: 18). */
function statementColumns(c: RelationColumns): Columns<StatementRow> {
  const n = (col: string) => ifPresent(c, col, 'float8');
  return {
    queryid: 'queryid::text',
    dbid: 'dbid::int8::float8',
    userid: 'userid::int8::float8',
    // A boolean needs no cast (bool is not on the guard's type allowlist); NULL where the view lacks it.
    toplevel: c.has('toplevel') ? 'toplevel' : 'NULL::text',
    calls: 'calls::float8',
    total_exec_time_ms: 'total_exec_time',
    mean_exec_time_ms: 'mean_exec_time',
    rows: 'rows::float8',
    shared_blks_hit: 'shared_blks_hit::float8',
    shared_blks_read: 'shared_blks_read::float8',
    query: 'query',
    plans: n('plans'),
    total_plan_time_ms: n('total_plan_time'),
    wal_records: n('wal_records'),
    wal_fpi: n('wal_fpi'),
    wal_bytes: n('wal_bytes'),
    wal_buffers_full: n('wal_buffers_full'),
    jit_functions: n('jit_functions'),
    jit_generation_time_ms: n('jit_generation_time'),
    jit_inlining_count: n('jit_inlining_count'),
    jit_inlining_time_ms: n('jit_inlining_time'),
    jit_optimization_count: n('jit_optimization_count'),
    jit_optimization_time_ms: n('jit_optimization_time'),
    jit_emission_count: n('jit_emission_count'),
    jit_emission_time_ms: n('jit_emission_time'),
    jit_deform_count: n('jit_deform_count'),
    jit_deform_time_ms: n('jit_deform_time'),
    parallel_workers_to_launch: n('parallel_workers_to_launch'),
    parallel_workers_launched: n('parallel_workers_launched'),
    stats_since: ifPresent(c, 'stats_since', 'text', `to_char(stats_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`),
  };
}
const queryStats = defineSignal<PgSession, StatementRow>({
  id: 'postgres.query_stats',
  family: 'query_stats',
  description: 'Top statements by total execution time from pg_stat_statements (statistics only; query text is governed by the policy)',
  requires: ['pg_stat_statements', 'pg_read_all_stats'],
  shape: 'rows',
  read: async (s, ctx) => {
    const schema = await statementsSchema(s);
    await needsAllStats(s, 'statement statistics');
    const cols = await relationColumns(s, schema, 'pg_stat_statements');
    if (cols === undefined) throw new SignalUnavailable('not_enabled', 'the pg_stat_statements view is missing from the extension schema');
    const rel = `${quoteIdent(schema)}.pg_stat_statements`;
    return s.query<StatementRow>(
      `SELECT ${selectColumns(statementColumns(cols), STATEMENT_FIELDS, ctx)}
         FROM ${rel}
        ORDER BY total_exec_time DESC
        LIMIT 500`,
    );
  },
  fields: STATEMENT_FIELDS,
  // Cumulative since the entry was created (pg_stat_statements.c: pgssEntry counters): shipped as differences per entry.
  delta: {
    // An entry's identity (pg_stat_statements.c pgssHashKey): on 14+ the same statement run top-level and nested (track = all) are two entries.
    key: ['queryid', 'dbid', 'userid', 'toplevel'],
    counters: [
      'calls',
      'total_exec_time_ms',
      'rows',
      'shared_blks_hit',
      'shared_blks_read',
      'plans',
      'total_plan_time_ms',
      'wal_records',
      'wal_fpi',
      'wal_bytes',
      'wal_buffers_full',
      'jit_functions',
      'jit_generation_time_ms',
      'jit_inlining_count',
      'jit_inlining_time_ms',
      'jit_optimization_count',
      'jit_optimization_time_ms',
      'jit_emission_count',
      'jit_emission_time_ms',
      'jit_deform_count',
      'jit_deform_time_ms',
      'parallel_workers_to_launch',
      'parallel_workers_launched',
    ],
    // PostgreSQL 17+: when this entry's statistics started (pg_stat_statements_reset of one entry).
    since: 'stats_since',
    // Evictions (dealloc), a reset of all statistics, a server restart: the next value is a full baseline.
    resetWhen: [
      { signal: 'postgres.statements_info', field: 'dealloc' },
      { signal: 'postgres.statements_info', field: 'stats_reset' },
      { signal: 'postgres.server', field: 'started_at' },
    ],
  },
});

/** Settings worth watching; never the whole of pg_settings. */
export const VETTED_SETTINGS = [
  'max_connections',
  'shared_buffers',
  'work_mem',
  'maintenance_work_mem',
  'effective_cache_size',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
  'autovacuum',
  'track_io_timing',
  'statement_timeout',
  'idle_in_transaction_session_timeout',
  'max_wal_senders',
  'max_replication_slots',
  'hot_standby',
  'ssl',
  'password_encryption',
  'log_connections',
  'log_statement',
  'log_min_duration_statement',
  'shared_preload_libraries',
] as const;

// Constants only (checked identifier-shaped), so the statement is a plain literal list anyone can re-run in psql.
const SETTINGS_LIST = VETTED_SETTINGS.map((n) => {
  if (!/^[a-z_]+$/.test(n)) throw new Error(`bad setting name ${n}`);
  return `'${n}'`;
}).join(', ');

interface SettingRow {
  name: string;
  setting: string;
  unit: string | null;
  source: string;
  pending_restart: boolean;
}
const SETTING_FIELDS: FieldCategories<SettingRow> = { name: null, setting: 'config_posture', unit: null, source: 'config_posture', pending_restart: null };
const SETTING_COLUMNS: Columns<SettingRow> = { name: 'name', setting: 'setting', unit: 'unit', source: 'source', pending_restart: 'pending_restart' };
const settings = defineSignal<PgSession, SettingRow>({
  id: 'postgres.settings',
  family: 'config',
  description: 'Vetted server settings from pg_settings',
  requires: ['pg_read_all_settings'],
  shape: 'rows',
  read: async (s, ctx) => {
    const rows = await s.query<SettingRow>(
      `SELECT ${selectColumns(SETTING_COLUMNS, SETTING_FIELDS, ctx)} FROM pg_settings WHERE name IN (${SETTINGS_LIST}) ORDER BY name`,
    );
    const seen = new Set(rows.map((r) => r.name));
    const hidden = VETTED_SETTINGS.filter((n) => !seen.has(n));
    if (hidden.length > 0) {
      const [me] = await s.query<{ full: boolean; user: string }>(
        "SELECT pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS full, current_user AS user",
      );
      if (me?.full !== true) {
        throw new SignalUnavailable(
          'permission',
          `settings hidden from this role: ${hidden.join(', ')}`,
          `GRANT pg_read_all_settings TO ${quoteIdent(me?.user ?? 'monitor')};`,
        );
      }
    }
    return rows;
  },
  fields: SETTING_FIELDS,
});

interface HbaRow {
  line_number: number | null;
  type: string | null;
  database: string[] | null;
  user_name: string[] | null;
  address: string | null;
  netmask: string | null;
  auth_method: string | null;
  error: string | null;
}
const hbaRules = defineSignal<PgSession, HbaRow>({
  id: 'postgres.hba_rules',
  family: 'security_posture',
  description: 'Client authentication rules from pg_hba_file_rules',
  requires: ['pg_hba_file_rules'],
  shape: 'rows',
  read: async (s) => {
    const [p] = await s.query<{ granted: boolean; user: string }>(
      `SELECT has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE')
              AND has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT') AS granted, current_user AS user`,
    );
    if (p?.granted !== true) {
      const role = quoteIdent(p?.user ?? 'monitor');
      throw new SignalUnavailable(
        'permission',
        'pg_hba_file_rules is readable only by superusers unless granted',
        `GRANT SELECT ON pg_catalog.pg_hba_file_rules TO ${role}; GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO ${role};`,
      );
    }
    return s.query<HbaRow>(
      'SELECT line_number, type, database, user_name, address, netmask, auth_method, error FROM pg_catalog.pg_hba_file_rules ORDER BY line_number',
    );
  },
  fields: {
    line_number: null,
    type: 'config_posture',
    database: 'object_names',
    user_name: 'identity_metadata',
    address: 'client_metadata',
    netmask: 'client_metadata',
    auth_method: 'config_posture',
    error: 'config_posture',
  },
});

interface DatabaseSizeRow {
  datname: string;
  size_bytes: number | null;
}
/**
 * Database sizes on the slow clock, apart from the per-interval counters: pg_database_size()
 * asks the file system for every file of the database (150,000 files and 2.7–4.1 s for a
 * 30,000-table database, docs/postgres-schema.md), while the counters cost a catalog read.
 * Its own signal, so a size that times out leaves the counters readable.
 */
const databaseSizes = defineSignal<PgSession, DatabaseSizeRow>({
  id: 'postgres.database_sizes',
  family: 'schema',
  description: 'Size of each database the identity may connect to (pg_database_size: a walk of its files, so on the slow clock)',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<DatabaseSizeRow>(
      `SELECT d.datname,
              CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid)::float8 END AS size_bytes
         FROM pg_database d
        ORDER BY d.datname`,
    ),
  fields: { datname: 'object_names', size_bytes: null },
});

export const postgresCatalog: readonly AnySignalSpec<PgSession>[] = [
  server,
  databases,
  databaseSizes,
  activity,
  connections,
  ...healthSignals,
  queryStats,
  ...replicationSignals,
  ...schemaSignals,
  ...securitySignals,
  settings,
  hbaRules,
  ...versionSignals,
];
