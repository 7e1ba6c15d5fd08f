import type { Category } from '../core/category.js';
import { defineSignal, type AnySignalSpec, type FieldCategories, type Family, type SignalSpec, SignalUnavailable } from '../core/signal.js';
import { CLIENT_SUMMARY_FIELDS, type ClientSummaryRow, MAX_GROUPS, summarizeClientList, TOP_N } from './clients.js';
import { aclFix, RedisCommandError } from './errors.js';
import { type CursorState, type LogRead, type LogSource, loadCursor, readNewEntries, saveCursor } from './logcursor.js';
import {
  aclPosture,
  type AclPosture,
  type ArgSummary,
  infoScalar,
  type InfoSection,
  num,
  pairs,
  parseAclListLine,
  parseInfo,
  parseKv,
  parseLogEntries,
  summarizeArgs,
} from './parse.js';
import { productLabel, type RedisSession } from './session.js';
import { VETTED_CONFIG } from './settings.js';

type Scalar = number | string | null;

/** Most log entries shipped per log per cycle; the rest are counted as missed. */
export const MAX_LOG_ENTRIES_PER_CYCLE = 2048;

async function section(s: RedisSession, name: string): Promise<InfoSection> {
  const sec = await s.info(name);
  if (sec === undefined) {
    const f = await s.facts();
    throw new SignalUnavailable('unsupported', `INFO has no ${name} section on ${f === undefined ? 'this server' : productLabel(f)}`);
  }
  return sec;
}

/**
 * A signal made of vetted fields of one INFO section. Only the listed fields
 * are shipped (new server versions add fields; none leaves unreviewed), each
 * with its category; a field this server version does not report is null,
 * never 0.
 */
function infoSignal<const K extends string>(spec: {
  id: string;
  family: Family;
  section: string;
  description: string;
  fields: readonly K[];
  categories?: Partial<Record<K, Category>>;
}): SignalSpec<RedisSession, Record<K, Scalar>> {
  return defineSignal<RedisSession, Record<K, Scalar>>({
    id: spec.id,
    family: spec.family,
    description: spec.description,
    requires: ['info'],
    shape: 'object',
    read: async (s) => {
      const sec = await section(s, spec.section);
      const row = Object.fromEntries(spec.fields.map((k) => [k, sec.has(k) ? infoScalar(sec.get(k)!) : null]));
      return [row as Record<K, Scalar>];
    },
    fields: Object.fromEntries(spec.fields.map((k) => [k, spec.categories?.[k] ?? null])) as FieldCategories<Record<K, Scalar>>,
  });
}

// ---------------------------------------------------------------- INFO

interface ServerRow {
  product: 'redis' | 'valkey';
  version: string;
  redis_version: string | null;
  mode: string | null;
  os: string | null;
  arch_bits: number | null;
  multiplexing_api: string | null;
  process_id: number | null;
  process_supervised: string | null;
  run_id: string | null;
  tcp_port: number | null;
  uptime_in_seconds: number | null;
  hz: number | null;
  configured_hz: number | null;
  io_threads_active: number | null;
  executable: string | null;
  config_file: string | null;
}
const server = defineSignal<RedisSession, ServerRow>({
  id: 'redis.server',
  family: 'server_stats',
  description: 'Product (Redis or Valkey), version, mode, run id and uptime from INFO server',
  requires: ['info'],
  shape: 'object',
  read: async (s) => {
    const sec = await section(s, 'server');
    const f = (await s.facts())!;
    const str = (k: string): string | null => sec.get(k) ?? null;
    return [
      {
        product: f.product,
        version: f.version,
        redis_version: f.redisVersion,
        mode: f.mode,
        os: str('os'),
        arch_bits: num(sec.get('arch_bits')),
        multiplexing_api: str('multiplexing_api'),
        process_id: num(sec.get('process_id')),
        process_supervised: str('process_supervised'),
        run_id: f.runId,
        tcp_port: num(sec.get('tcp_port')),
        uptime_in_seconds: num(sec.get('uptime_in_seconds')),
        hz: num(sec.get('hz')),
        configured_hz: num(sec.get('configured_hz')),
        io_threads_active: num(sec.get('io_threads_active')),
        executable: str('executable') || null,
        config_file: str('config_file') || null,
      },
    ];
  },
  fields: {
    product: null,
    version: null,
    redis_version: null,
    mode: null,
    os: 'config_posture',
    arch_bits: null,
    multiplexing_api: null,
    process_id: null,
    process_supervised: null,
    run_id: null,
    tcp_port: 'config_posture',
    uptime_in_seconds: null,
    hz: null,
    configured_hz: null,
    io_threads_active: null,
    executable: 'config_posture',
    config_file: 'config_posture',
  },
});

const clients = infoSignal({
  id: 'redis.clients',
  family: 'server_stats',
  section: 'clients',
  description: 'Connection counters from INFO clients',
  fields: [
    'connected_clients',
    'cluster_connections',
    'maxclients',
    'client_recent_max_input_buffer',
    'client_recent_max_output_buffer',
    'blocked_clients',
    'tracking_clients',
    'pubsub_clients',
    'watching_clients',
    'clients_in_timeout_table',
    'total_watched_keys',
    'total_blocking_keys',
    'total_blocking_keys_on_nokey',
  ],
});

const memory = infoSignal({
  id: 'redis.memory',
  family: 'server_stats',
  section: 'memory',
  description: 'Memory use, fragmentation and eviction policy from INFO memory',
  fields: [
    'used_memory',
    'used_memory_rss',
    'used_memory_peak',
    'used_memory_peak_perc',
    'used_memory_overhead',
    'used_memory_startup',
    'used_memory_dataset',
    'used_memory_dataset_perc',
    'allocator_allocated',
    'allocator_active',
    'allocator_resident',
    'total_system_memory',
    'used_memory_lua',
    'used_memory_vm_eval',
    'used_memory_vm_functions',
    'used_memory_vm_total',
    'used_memory_scripts',
    'number_of_cached_scripts',
    'maxmemory',
    'maxmemory_policy',
    'allocator_frag_ratio',
    'allocator_frag_bytes',
    'allocator_rss_ratio',
    'allocator_rss_bytes',
    'rss_overhead_ratio',
    'rss_overhead_bytes',
    'mem_fragmentation_ratio',
    'mem_fragmentation_bytes',
    'mem_not_counted_for_evict',
    'mem_replication_backlog',
    'mem_total_replication_buffers',
    'mem_clients_slaves',
    'mem_clients_normal',
    'mem_cluster_links',
    'mem_aof_buffer',
    'mem_allocator',
    'active_defrag_running',
    'lazyfree_pending_objects',
    'lazyfreed_objects',
  ],
  categories: { maxmemory: 'config_posture', maxmemory_policy: 'config_posture' },
});

const persistence = infoSignal({
  id: 'redis.persistence',
  family: 'server_stats',
  section: 'persistence',
  description: 'RDB and AOF status from INFO persistence',
  fields: [
    'loading',
    'async_loading',
    'loading_loaded_perc',
    'loading_eta_seconds',
    'current_cow_peak',
    'current_cow_size',
    'current_fork_perc',
    'rdb_changes_since_last_save',
    'rdb_bgsave_in_progress',
    'rdb_last_save_time',
    'rdb_last_bgsave_status',
    'rdb_last_bgsave_time_sec',
    'rdb_saves',
    'rdb_last_cow_size',
    'aof_enabled',
    'aof_rewrite_in_progress',
    'aof_rewrite_scheduled',
    'aof_last_rewrite_time_sec',
    'aof_last_bgrewrite_status',
    'aof_rewrites',
    'aof_last_write_status',
    'aof_last_cow_size',
    'aof_current_size',
    'aof_base_size',
    'aof_buffer_length',
    'aof_delayed_fsync',
    'module_fork_in_progress',
  ],
  categories: { aof_enabled: 'config_posture' },
});

const stats = infoSignal({
  id: 'redis.stats',
  family: 'server_stats',
  section: 'stats',
  description: 'Throughput, hit ratio, evictions, expirations, errors and ACL denials from INFO stats',
  fields: [
    'total_connections_received',
    'total_commands_processed',
    'instantaneous_ops_per_sec',
    'total_net_input_bytes',
    'total_net_output_bytes',
    'total_net_repl_input_bytes',
    'total_net_repl_output_bytes',
    'instantaneous_input_kbps',
    'instantaneous_output_kbps',
    'rejected_connections',
    'sync_full',
    'sync_partial_ok',
    'sync_partial_err',
    'expired_keys',
    'expired_stale_perc',
    'expired_time_cap_reached_count',
    'expire_cycle_cpu_milliseconds',
    'evicted_keys',
    'evicted_clients',
    'evicted_scripts',
    'total_eviction_exceeded_time',
    'current_eviction_exceeded_time',
    'keyspace_hits',
    'keyspace_misses',
    'pubsub_channels',
    'pubsub_patterns',
    'pubsubshard_channels',
    'latest_fork_usec',
    'total_forks',
    'migrate_cached_sockets',
    'active_defrag_hits',
    'active_defrag_misses',
    'active_defrag_key_hits',
    'active_defrag_key_misses',
    'total_active_defrag_time',
    'tracking_total_keys',
    'tracking_total_items',
    'unexpected_error_replies',
    'total_error_replies',
    'dump_payload_sanitizations',
    'total_reads_processed',
    'total_writes_processed',
    'io_threaded_reads_processed',
    'io_threaded_writes_processed',
    'client_query_buffer_limit_disconnections',
    'client_output_buffer_limit_disconnections',
    'acl_access_denied_auth',
    'acl_access_denied_cmd',
    'acl_access_denied_key',
    'acl_access_denied_channel',
  ],
});

const cpu = infoSignal({
  id: 'redis.cpu',
  family: 'server_stats',
  section: 'cpu',
  description: 'CPU seconds of the server and its children from INFO cpu',
  fields: ['used_cpu_sys', 'used_cpu_user', 'used_cpu_sys_children', 'used_cpu_user_children', 'used_cpu_sys_main_thread', 'used_cpu_user_main_thread'],
});

interface KeyspaceRow {
  db: number;
  keys: number | null;
  expires: number | null;
  avg_ttl_ms: number | null;
}
const keyspace = defineSignal<RedisSession, KeyspaceRow>({
  id: 'redis.keyspace',
  family: 'server_stats',
  description: 'Keys, keys with an expiry and average TTL per logical database from INFO keyspace (no key names)',
  requires: ['info'],
  shape: 'rows',
  read: async (s) => {
    const sec = await section(s, 'keyspace');
    return [...sec].flatMap(([k, v]) => {
      const m = /^db(\d+)$/.exec(k);
      if (!m) return [];
      const kv = parseKv(v);
      return [{ db: Number(m[1]), keys: num(kv['keys']), expires: num(kv['expires']), avg_ttl_ms: num(kv['avg_ttl']) }];
    });
  },
  fields: { db: null, keys: null, expires: null, avg_ttl_ms: null },
});

interface CommandStatRow {
  command: string;
  calls: number | null;
  usec: number | null;
  usec_per_call: number | null;
  rejected_calls: number | null;
  failed_calls: number | null;
}
const commandstats = defineSignal<RedisSession, CommandStatRow>({
  id: 'redis.commandstats',
  family: 'query_stats',
  description: 'Calls, time and failures per command (and subcommand) from INFO commandstats',
  requires: ['info'],
  shape: 'rows',
  read: async (s) => {
    const sec = await section(s, 'commandstats');
    return [...sec].flatMap(([k, v]) => {
      if (!k.startsWith('cmdstat_')) return [];
      const kv = parseKv(v);
      return [
        {
          command: k.slice('cmdstat_'.length),
          calls: num(kv['calls']),
          usec: num(kv['usec']),
          usec_per_call: num(kv['usec_per_call']),
          rejected_calls: num(kv['rejected_calls']),
          failed_calls: num(kv['failed_calls']),
        },
      ];
    });
  },
  fields: { command: null, calls: null, usec: null, usec_per_call: null, rejected_calls: null, failed_calls: null },
});

interface ErrorStatRow {
  error: string;
  count: number | null;
}
const errorstats = defineSignal<RedisSession, ErrorStatRow>({
  id: 'redis.errorstats',
  family: 'server_stats',
  description: 'Error replies per error prefix (ERR, NOPERM, WRONGTYPE, …) from INFO errorstats',
  requires: ['info'],
  shape: 'rows',
  read: async (s) => {
    const sec = await section(s, 'errorstats');
    return [...sec].flatMap(([k, v]) => (k.startsWith('errorstat_') ? [{ error: k.slice('errorstat_'.length), count: num(parseKv(v)['count']) }] : []));
  },
  fields: { error: null, count: null },
});

// ---------------------------------------------------------------- replication

interface ReplicaRow {
  ip: string | null;
  port: number | null;
  state: string | null;
  offset: number | null;
  lag: number | null;
}
interface ReplicationRow {
  role: string | null;
  connected_replicas: number | null;
  master_host: string | null;
  master_port: number | null;
  master_link_status: string | null;
  master_last_io_seconds_ago: number | null;
  master_sync_in_progress: number | null;
  master_link_down_since_seconds: number | null;
  replica_repl_offset: number | null;
  replica_read_only: number | null;
  replica_priority: number | null;
  master_failover_state: string | null;
  master_replid: string | null;
  master_repl_offset: number | null;
  repl_backlog_active: number | null;
  repl_backlog_size: number | null;
  repl_backlog_histlen: number | null;
  replicas: ReplicaRow[];
}
const replication = defineSignal<RedisSession, ReplicationRow>({
  id: 'redis.replication',
  family: 'replication',
  description: 'Role, link to the master, offsets, backlog and replicas from INFO replication (ROLE is an @admin command, so it is not used)',
  requires: ['info'],
  shape: 'object',
  read: async (s) => {
    const sec = await section(s, 'replication');
    // Redis says slave_*, Valkey may say replica_*: accept either.
    const pick = (...names: string[]): string | undefined => names.map((n) => sec.get(n)).find((v) => v !== undefined);
    const replicas = [...sec]
      .filter(([k]) => /^(slave|replica)\d+$/.test(k))
      .map(([, v]) => {
        const kv = parseKv(v);
        return { ip: kv['ip'] ?? null, port: num(kv['port']), state: kv['state'] ?? null, offset: num(kv['offset']), lag: num(kv['lag']) };
      });
    return [
      {
        role: pick('role') ?? null,
        connected_replicas: num(pick('connected_slaves', 'connected_replicas')),
        master_host: pick('master_host') ?? null,
        master_port: num(pick('master_port')),
        master_link_status: pick('master_link_status') ?? null,
        master_last_io_seconds_ago: num(pick('master_last_io_seconds_ago')),
        master_sync_in_progress: num(pick('master_sync_in_progress')),
        master_link_down_since_seconds: num(pick('master_link_down_since_seconds')),
        replica_repl_offset: num(pick('slave_repl_offset', 'replica_repl_offset')),
        replica_read_only: num(pick('slave_read_only', 'replica_read_only')),
        replica_priority: num(pick('slave_priority', 'replica_priority')),
        master_failover_state: pick('master_failover_state') ?? null,
        master_replid: pick('master_replid') ?? null,
        master_repl_offset: num(pick('master_repl_offset')),
        repl_backlog_active: num(pick('repl_backlog_active')),
        repl_backlog_size: num(pick('repl_backlog_size')),
        repl_backlog_histlen: num(pick('repl_backlog_histlen')),
        replicas,
      },
    ];
  },
  fields: {
    role: null,
    connected_replicas: null,
    master_host: 'client_metadata',
    master_port: 'client_metadata',
    master_link_status: null,
    master_last_io_seconds_ago: null,
    master_sync_in_progress: null,
    master_link_down_since_seconds: null,
    replica_repl_offset: null,
    replica_read_only: 'config_posture',
    replica_priority: 'config_posture',
    master_failover_state: null,
    master_replid: null,
    master_repl_offset: null,
    repl_backlog_active: null,
    repl_backlog_size: 'config_posture',
    repl_backlog_histlen: null,
    replicas: 'client_metadata',
  },
});

// ---------------------------------------------------------------- clients

const clientSummary = defineSignal<RedisSession, ClientSummaryRow>({
  id: 'redis.client_summary',
  family: 'activity',
  description: `Connected clients from CLIENT LIST, summarised in one pass (never listed one by one): totals; clients, memory and buffers per name, host, user, library, flags, db, last command and idle/age bucket (at most ${MAX_GROUPS} groups per set, the rest folded into one row); the top ${TOP_N} clients by memory, idle time and output buffer`,
  requires: ['client|list'],
  shape: 'rows',
  read: async (s, ctx) => {
    const reply = await s.commandBuffer('CLIENT', 'LIST');
    const rows = summarizeClientList(Buffer.isBuffer(reply) ? reply : String(reply), { excluded: ctx.excluded });
    // CLIENT LIST always lists the caller's own connection: an answer without a single client is not "no clients".
    if ((rows[0]?.clients ?? 0) === 0)
      throw new SignalUnavailable('error', 'CLIENT LIST answered without a single client (not even this connection): nothing to summarise');
    return rows;
  },
  fields: CLIENT_SUMMARY_FIELDS,
});

// ---------------------------------------------------------------- slow log and command log

const isNoPerm = (e: unknown): boolean => e instanceof RedisCommandError && e.code === 'NOPERM';

/** The log source of SLOWLOG, or of COMMANDLOG <type>. LEN is an optimisation: without permission the agent reads as if the log were full. */
function logSource(s: RedisSession, kind: 'slowlog' | 'large-request' | 'large-reply'): LogSource {
  return {
    length: async () => {
      try {
        return Number(kind === 'slowlog' ? await s.command('SLOWLOG', 'LEN') : await s.command('COMMANDLOG', 'LEN', kind));
      } catch (err) {
        if (isNoPerm(err)) return undefined;
        throw err;
      }
    },
    newest: async (count) => parseLogEntries(kind === 'slowlog' ? await s.command('SLOWLOG', 'GET', count) : await s.command('COMMANDLOG', 'GET', count, kind)),
  };
}

async function readLog(s: RedisSession, kind: 'slowlog' | 'large-request' | 'large-reply'): Promise<LogRead> {
  const key = kind === 'slowlog' ? 'redis.slowlog' : `redis.commandlog.${kind}`;
  const runId = (await s.facts())?.runId ?? 'unknown';
  const read = await readNewEntries(logSource(s, kind), loadCursor(s.memory, key), runId, MAX_LOG_ENTRIES_PER_CYCLE);
  // Staged: the agent makes it durable only once this cycle's payload is stored.
  saveCursor(s.memory, key, read.next);
  return read;
}

interface SlowlogRow {
  id: number;
  timestamp: number;
  duration_us: number;
  command: string;
  args: { count: number; byte_lengths: Array<number | null> };
  client_addr: string | null;
  client_name: string | null;
}
const argsOf = (a: ArgSummary): SlowlogRow['args'] => ({ count: a.count, byte_lengths: a.byte_lengths });

const slowlog = defineSignal<RedisSession, SlowlogRow>({
  id: 'redis.slowlog',
  family: 'slowlog',
  description:
    'Slow-log entries not shipped before (SLOWLOG GET, never RESET; deduplicated by entry id across cycles and restarts): command name, argument count and byte lengths — never the arguments — client address and name',
  requires: ['slowlog|get'],
  shape: 'rows',
  read: async (s) => {
    const read = await readLog(s, 'slowlog');
    s.scratch.set('slowlog', read);
    return read.entries.map((e) => {
      const a = summarizeArgs(e.argv);
      return {
        id: e.id,
        timestamp: e.timestamp,
        duration_us: e.value,
        command: a.command,
        args: argsOf(a),
        client_addr: e.clientAddr,
        client_name: e.clientName,
      };
    });
  },
  fields: {
    id: null,
    timestamp: null,
    duration_us: null,
    command: null,
    args: 'slowlog_args',
    client_addr: 'client_metadata',
    client_name: 'client_metadata',
  },
});

interface SlowlogLenRow {
  length: number;
  new_entries: number | null;
  missed_entries: number | null;
  cursor: CursorState | null;
}
const slowlogLen = defineSignal<RedisSession, SlowlogLenRow>({
  id: 'redis.slowlog_len',
  family: 'slowlog',
  description: 'SLOWLOG LEN, and how many entries this cycle shipped or found already rotated out of the log',
  requires: ['slowlog|len'],
  shape: 'object',
  read: async (s) => {
    // The slow-log read of this cycle asked for LEN moments ago: no second round trip.
    const read = s.scratch.get('slowlog') as LogRead | undefined;
    const length = read?.lengthReported ?? Number(await s.command('SLOWLOG', 'LEN'));
    return [{ length, new_entries: read?.entries.length ?? null, missed_entries: read?.missed ?? null, cursor: read?.state ?? null }];
  },
  fields: { length: null, new_entries: null, missed_entries: null, cursor: null },
});

interface CommandlogRow {
  type: 'large-request' | 'large-reply';
  id: number;
  timestamp: number;
  bytes: number;
  command: string;
  args: { count: number; byte_lengths: Array<number | null> };
  client_addr: string | null;
  client_name: string | null;
}
const commandlog = defineSignal<RedisSession, CommandlogRow>({
  id: 'redis.commandlog',
  family: 'slowlog',
  description:
    'Valkey 8.1+ command log of large requests and large replies (COMMANDLOG GET, never RESET; deduplicated like the slow log, whose entries it would repeat for type slow), arguments redacted to count and byte lengths',
  requires: ['commandlog|get', 'commandlog|len'],
  shape: 'rows',
  read: async (s) => {
    const f = await s.facts();
    if (f !== undefined && !(f.product === 'valkey' && (f.major > 8 || (f.major === 8 && f.minor >= 1)))) {
      throw new SignalUnavailable('unsupported', `COMMANDLOG exists on Valkey 8.1 and later; this is ${productLabel(f)}`);
    }
    const rows: CommandlogRow[] = [];
    try {
      for (const type of ['large-request', 'large-reply'] as const) {
        for (const e of (await readLog(s, type)).entries) {
          const a = summarizeArgs(e.argv);
          rows.push({
            type,
            id: e.id,
            timestamp: e.timestamp,
            bytes: e.value,
            command: a.command,
            args: argsOf(a),
            client_addr: e.clientAddr,
            client_name: e.clientName,
          });
        }
      }
    } catch (err) {
      // Without INFO the product is unknown: an unknown COMMANDLOG then means an older server, not a renamed command.
      if (f === undefined && err instanceof RedisCommandError && err.code === 'UNKNOWN_COMMAND') {
        throw new SignalUnavailable('unsupported', 'this server has no COMMANDLOG (Valkey 8.1 and later)');
      }
      throw err;
    }
    return rows;
  },
  fields: {
    type: null,
    id: null,
    timestamp: null,
    bytes: null,
    command: null,
    args: 'slowlog_args',
    client_addr: 'client_metadata',
    client_name: 'client_metadata',
  },
});

// ---------------------------------------------------------------- latency, memory, config

interface LatencyRow {
  event: string;
  timestamp: number;
  latest_ms: number;
  max_ms: number;
}
const latency = defineSignal<RedisSession, LatencyRow>({
  id: 'redis.latency',
  family: 'waits_locks',
  description: 'Latest and maximum latency spike per event from LATENCY LATEST (the latency monitor must be enabled)',
  requires: ['latency|latest'],
  shape: 'rows',
  read: async (s) => {
    const reply = await s.command('LATENCY', 'LATEST');
    const rows = (Array.isArray(reply) ? reply : []).flatMap((e: unknown) =>
      Array.isArray(e) && e.length >= 4 ? [{ event: String(e[0]), timestamp: Number(e[1]), latest_ms: Number(e[2]), max_ms: Number(e[3]) }] : [],
    );
    if (rows.length > 0) return rows;
    // No events: a quiet server, or a latency monitor that is off. Only the threshold tells them apart.
    let threshold: number | undefined;
    try {
      threshold = Number(new Map(pairs(await s.command('CONFIG', 'GET', 'latency-monitor-threshold'))).get('latency-monitor-threshold'));
    } catch (err) {
      if (err instanceof RedisCommandError && err.code === 'NOPERM') {
        throw new SignalUnavailable(
          'permission',
          'no latency events, and the agent may not read latency-monitor-threshold to tell a quiet server from a disabled monitor',
          aclFix(s.user, 'config|get'),
        );
      }
      throw err;
    }
    if (threshold === 0) {
      throw new SignalUnavailable(
        'not_enabled',
        'the latency monitor is off (latency-monitor-threshold 0)',
        'CONFIG SET latency-monitor-threshold 100   # milliseconds; also set it in the server configuration to keep it after a restart',
      );
    }
    return rows;
  },
  fields: { event: null, timestamp: null, latest_ms: null, max_ms: null },
});

/** MEMORY STATS fields shipped, renamed to snake_case (peak.allocated → peak_allocated). */
const MEMORY_STATS_FIELDS = [
  'peak.allocated',
  'total.allocated',
  'startup.allocated',
  'replication.backlog',
  'clients.slaves',
  'clients.normal',
  'cluster.links',
  'aof.buffer',
  'lua.caches',
  'functions.caches',
  'overhead.total',
  'keys.count',
  'keys.bytes-per-key',
  'dataset.bytes',
  'dataset.percentage',
  'peak.percentage',
  'allocator.allocated',
  'allocator.active',
  'allocator.resident',
  'allocator-fragmentation.ratio',
  'allocator-fragmentation.bytes',
  'allocator-rss.ratio',
  'allocator-rss.bytes',
  'rss-overhead.ratio',
  'rss-overhead.bytes',
  'fragmentation',
  'fragmentation.bytes',
] as const;
const snake = (k: string): string => k.replace(/[.-]/g, '_');
type MemoryStatsRow = Record<string, number | null>;
const memoryStats = defineSignal<RedisSession, MemoryStatsRow>({
  id: 'redis.memory_stats',
  family: 'server_stats',
  description: 'Memory breakdown from MEMORY STATS (allocator, overheads, dataset, fragmentation)',
  requires: ['memory|stats'],
  shape: 'object',
  read: async (s) => {
    const m = new Map(pairs(await s.command('MEMORY', 'STATS')));
    const value = (k: string): number | null => {
      const v = m.get(k);
      if (v === undefined || v === null || Array.isArray(v)) return null;
      const n = infoScalar(String(v));
      return typeof n === 'number' ? n : null;
    };
    return [Object.fromEntries(MEMORY_STATS_FIELDS.map((k) => [snake(k), value(k)]))];
  },
  fields: Object.fromEntries(MEMORY_STATS_FIELDS.map((k) => [snake(k), null])),
});

interface ConfigRow {
  name: string;
  value: string;
}
const config = defineSignal<RedisSession, ConfigRow>({
  id: 'redis.config',
  family: 'config',
  description: 'Vetted settings from CONFIG GET (never `*`; never a parameter that holds a secret or a path)',
  requires: ['config|get'],
  shape: 'rows',
  read: async (s) => {
    const f = await s.facts();
    // CONFIG GET takes several names from Redis 7.0 (and every Valkey); older servers one at a time.
    const multi = f !== undefined && (f.product === 'valkey' || f.major >= 7);
    const got = new Map<string, string>();
    const batches: string[][] = multi ? [[...VETTED_CONFIG]] : VETTED_CONFIG.map((n) => [n]);
    for (const names of batches) for (const [k, v] of pairs(await s.command('CONFIG', 'GET', ...names))) got.set(k, String(v));
    return VETTED_CONFIG.filter((n) => got.has(n)).map((name) => ({ name, value: got.get(name)! }));
  },
  fields: { name: null, value: 'config_posture' },
});

// ---------------------------------------------------------------- security posture

interface IdentityRow {
  user: string;
  is_default_user: boolean;
}
const identity = defineSignal<RedisSession, IdentityRow>({
  id: 'redis.identity',
  family: 'security_posture',
  description: 'The user the agent is logged in as (ACL WHOAMI) and whether it is the default user',
  requires: ['acl|whoami'],
  shape: 'object',
  read: async (s) => {
    const user = String(await s.command('ACL', 'WHOAMI'));
    return [{ user, is_default_user: user === 'default' }];
  },
  fields: { user: 'identity_metadata', is_default_user: 'config_posture' },
});

const aclUsers = defineSignal<RedisSession, AclPosture>({
  id: 'redis.acl_users',
  family: 'security_posture',
  description:
    'Posture of every ACL user from ACL LIST: enabled, nopass, password count, +@all, @admin/@dangerous, all keys, write access to all keys — never the password hashes or key patterns',
  requires: ['acl|list'],
  shape: 'rows',
  read: async (s) => {
    const reply = await s.command('ACL', 'LIST');
    return (Array.isArray(reply) ? reply : []).flatMap((line: unknown) => {
      const r = parseAclListLine(String(line));
      return r === undefined ? [] : [aclPosture(r)];
    });
  },
  fields: {
    user: 'identity_metadata',
    enabled: 'config_posture',
    nopass: 'config_posture',
    password_count: 'config_posture',
    all_commands: 'config_posture',
    admin_commands: 'config_posture',
    all_keys: 'config_posture',
    writes_all_keys: 'config_posture',
    all_channels: 'config_posture',
    selector_count: 'config_posture',
  },
});

// ---------------------------------------------------------------- cluster

const CLUSTER_FIELDS = [
  'cluster_state',
  'cluster_slots_assigned',
  'cluster_slots_ok',
  'cluster_slots_pfail',
  'cluster_slots_fail',
  'cluster_known_nodes',
  'cluster_size',
  'cluster_current_epoch',
  'cluster_my_epoch',
  'cluster_stats_messages_sent',
  'cluster_stats_messages_received',
  'total_cluster_links_buffer_limit_exceeded',
] as const;
type ClusterRow = Record<(typeof CLUSTER_FIELDS)[number], Scalar> & {
  nodes: Array<{ addr: string; role: 'master' | 'replica'; self: boolean }> | null;
};
const cluster = defineSignal<RedisSession, ClusterRow>({
  id: 'redis.cluster',
  family: 'replication',
  description: 'Cluster state, slots and epochs from CLUSTER INFO, and the nodes the agent discovered (cluster mode)',
  requires: ['cluster|info'],
  shape: 'object',
  read: async (s) => {
    // INFO cluster says whether it is a cluster at all, without a denied CLUSTER INFO on plain servers.
    const enabled = await s.info('cluster').then(
      (sec) => sec?.get('cluster_enabled'),
      () => undefined,
    );
    if (enabled === '0') throw new SignalUnavailable('not_enabled', 'this server is not a cluster node (cluster-enabled no)');
    let text: string;
    try {
      text = String(await s.command('CLUSTER', 'INFO'));
    } catch (err) {
      if (err instanceof RedisCommandError && /cluster support disabled/i.test(err.message)) {
        throw new SignalUnavailable('not_enabled', 'this server is not a cluster node (cluster-enabled no)');
      }
      throw err;
    }
    const sec = parseInfo(`# Cluster\n${text}`).get('cluster') ?? new Map<string, string>();
    const row = Object.fromEntries(CLUSTER_FIELDS.map((k) => [k, sec.has(k) ? infoScalar(sec.get(k)!) : null])) as ClusterRow;
    row.nodes = s.clusterNodes() ?? null;
    return [row];
  },
  fields: {
    ...(Object.fromEntries(CLUSTER_FIELDS.map((k) => [k, null])) as Record<(typeof CLUSTER_FIELDS)[number], null>),
    nodes: 'client_metadata',
  },
});

export const redisCatalog: readonly AnySignalSpec<RedisSession>[] = [
  server,
  clients,
  memory,
  persistence,
  stats,
  cpu,
  keyspace,
  commandstats,
  errorstats,
  replication,
  clientSummary,
  slowlog,
  slowlogLen,
  commandlog,
  latency,
  memoryStats,
  config,
  identity,
  aclUsers,
  cluster,
];

/** Signals that need each ACL grant, from the catalog (one place decides). */
export function signalsNeeding(grant: string): string[] {
  return redisCatalog.filter((s) => s.requires.includes(grant)).map((s) => s.id);
}
