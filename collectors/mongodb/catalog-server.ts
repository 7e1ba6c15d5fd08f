import { type AnySignalSpec, defineSignal } from '../core/signal.js';
import type { MongoSession } from './session.js';
import { iso, num, numbers, str, sub } from './values.js';

type Doc = Record<string, unknown>;

/** One serverStatus per cycle, shared by the signals that read it. */
export const serverStatus = (s: MongoSession): Promise<Doc> => s.memo('serverStatus', () => s.command('admin', { serverStatus: 1 }));

interface ServerRow {
  version: string;
  edition: string;
  process: string;
  topology: string;
  set_name: string | null;
  is_writable_primary: boolean;
  is_secondary: boolean;
  max_wire_version: number | null;
}
const server = defineSignal<MongoSession, ServerRow>({
  id: 'mongodb.server',
  family: 'server_stats',
  description: 'Version, edition, process (mongod or mongos) and topology, from hello and buildInfo',
  requires: [],
  shape: 'object',
  // Read when the session opened (hello and buildInfo need no privilege).
  read: async (s) => [
    {
      version: s.server.version,
      edition: s.server.edition,
      process: s.server.process,
      topology: s.server.topology,
      set_name: s.server.setName,
      is_writable_primary: s.server.isWritablePrimary,
      is_secondary: s.server.isSecondary,
      max_wire_version: s.server.maxWireVersion,
    },
  ],
  fields: {
    version: null,
    edition: null,
    process: null,
    topology: null,
    set_name: 'object_names',
    is_writable_primary: null,
    is_secondary: null,
    max_wire_version: null,
  },
});

type Counters = Record<string, number | null>;
interface ServerStatusRow {
  uptime_seconds: number | null;
  /** When the process started: localTime − uptime, both whole seconds of the server's clock (a restart moves it). */
  started_at: string | null;
  local_time: string | null;
  storage_engine: string | null;
  connections: Counters;
  opcounters: Counters;
  opcounters_repl: Counters | null;
  memory: Counters;
  wiredtiger_cache: Counters | null;
  asserts: Counters;
  network: Counters;
}
const OPCOUNTERS = { insert: 'insert', query: 'query', update: 'update', delete: 'delete', getmore: 'getmore', command: 'command' } as const;

const serverStatusSignal = defineSignal<MongoSession, ServerStatusRow>({
  id: 'mongodb.server_status',
  family: 'server_stats',
  description: 'serverStatus counters: connections, operations (cumulative), memory, WiredTiger cache, asserts, network',
  requires: ['serverStatus'],
  shape: 'object',
  read: async (s) => {
    const ss = await serverStatus(s);
    const cache = sub(ss, 'wiredTiger', 'cache');
    const repl = sub(ss, 'opcountersRepl');
    const uptime = num(ss['uptime']);
    const localTime = ss['localTime'];
    return [
      {
        uptime_seconds: uptime,
        // server_status.cpp: uptime = time(0) - started (whole seconds), so this is the start time to the second, the same on every read.
        started_at:
          uptime === null || !(localTime instanceof Date) || Number.isNaN(localTime.getTime())
            ? null
            : new Date((Math.floor(localTime.getTime() / 1000) - Math.floor(uptime)) * 1000).toISOString(),
        local_time: iso(ss['localTime']),
        storage_engine: str(sub(ss, 'storageEngine')['name']),
        connections: numbers(sub(ss, 'connections'), {
          current: 'current',
          available: 'available',
          total_created: 'totalCreated',
          active: 'active',
          rejected: 'rejected',
        }),
        opcounters: numbers(sub(ss, 'opcounters'), OPCOUNTERS),
        // A mongos does not replicate: no opcountersRepl section at all.
        opcounters_repl: Object.keys(repl).length === 0 ? null : numbers(repl, OPCOUNTERS),
        memory: numbers(sub(ss, 'mem'), { resident_mb: 'resident', virtual_mb: 'virtual' }),
        wiredtiger_cache:
          Object.keys(cache).length === 0
            ? null
            : numbers(cache, {
                bytes_in_cache: 'bytes currently in the cache',
                max_bytes: 'maximum bytes configured',
                dirty_bytes: 'tracked dirty bytes in the cache',
                pages_read: 'pages read into cache',
                pages_written: 'pages written from cache',
                pages_evicted_modified: 'modified pages evicted',
                pages_evicted_unmodified: 'unmodified pages evicted',
              }),
        asserts: numbers(sub(ss, 'asserts'), { regular: 'regular', warning: 'warning', msg: 'msg', user: 'user', rollovers: 'rollovers' }),
        network: numbers(sub(ss, 'network'), { bytes_in: 'bytesIn', bytes_out: 'bytesOut', requests: 'numRequests' }),
      },
    ];
  },
  fields: {
    uptime_seconds: null,
    started_at: null,
    local_time: null,
    storage_engine: null,
    connections: null,
    opcounters: null,
    opcounters_repl: null,
    memory: null,
    wiredtiger_cache: null,
    asserts: null,
    network: null,
  },
});

interface Tickets {
  source: string;
  read: Counters;
  write: Counters;
}
/**
 * Storage-engine tickets moved between versions: wiredTiger.concurrentTransactions
 * (5.0–6.x), queues.execution (7.0+), admission.execution (some 8.x builds).
 */
function tickets(ss: Doc): Tickets | null {
  const candidates: Array<[string, Doc]> = [
    ['queues.execution', sub(ss, 'queues', 'execution')],
    ['admission.execution', sub(ss, 'admission', 'execution')],
    ['wiredTiger.concurrentTransactions', sub(ss, 'wiredTiger', 'concurrentTransactions')],
  ];
  const found = candidates.find(([, d]) => Object.keys(sub(d, 'read')).length > 0);
  if (found === undefined) return null;
  const t = (d: Doc) => numbers(d, { out: 'out', available: 'available', total: 'totalTickets' });
  return { source: found[0], read: t(sub(found[1], 'read')), write: t(sub(found[1], 'write')) };
}

/** acquireCount and friends are per lock mode ({ r, w, R, W }); the signal sums the modes. */
const sumModes = (d: unknown): number | null => {
  const values = Object.values(sub(d))
    .map(num)
    .filter((n): n is number => n !== null);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
};

interface LocksRow {
  queue: Counters;
  active_clients: Counters;
  tickets: Tickets | null;
  locks: Array<{ resource: string; acquire_count: number | null; acquire_wait_count: number | null; time_acquiring_micros: number | null }>;
}
const locks = defineSignal<MongoSession, LocksRow>({
  id: 'mongodb.locks',
  family: 'waits_locks',
  description: 'Lock queues and active clients (globalLock), storage-engine tickets, lock acquisitions and waits per resource (cumulative)',
  requires: ['serverStatus'],
  shape: 'object',
  read: async (s) => {
    const ss = await serverStatus(s);
    const byResource = Object.entries(sub(ss, 'locks')).map(([resource, v]) => ({
      resource,
      acquire_count: sumModes(sub(v)['acquireCount']),
      acquire_wait_count: sumModes(sub(v)['acquireWaitCount']),
      time_acquiring_micros: sumModes(sub(v)['timeAcquiringMicros']),
    }));
    const rw = { total: 'total', readers: 'readers', writers: 'writers' } as const;
    return [
      {
        queue: numbers(sub(ss, 'globalLock', 'currentQueue'), rw),
        active_clients: numbers(sub(ss, 'globalLock', 'activeClients'), rw),
        tickets: tickets(ss),
        locks: byResource,
      },
    ];
  },
  fields: { queue: null, active_clients: null, tickets: null, locks: null },
});

export const serverSignals: readonly AnySignalSpec<MongoSession>[] = [server, serverStatusSignal, locks];
