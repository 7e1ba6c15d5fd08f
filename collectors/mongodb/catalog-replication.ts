import { type AnySignalSpec, defineSignal, SignalUnavailable } from '../core/signal.js';
import { MalformedAnswer } from './errors.js';
import type { MongoSession } from './session.js';
import { bool, iso, list, num, str, sub, tsSeconds } from './values.js';

/** Replica set state only exists on members; say why instead of asking a mongos or a standalone. */
function requireReplicaMember(s: MongoSession): void {
  if (s.server.topology === 'sharded') {
    throw new SignalUnavailable('unsupported', 'a mongos has no replica set state of its own: add the members of each shard as targets');
  }
  if (s.server.topology === 'standalone') throw new SignalUnavailable('not_enabled', 'this server is not a replica set member');
}

interface MemberRow {
  id: number | null;
  name: string | null;
  state: string | null;
  health: number | null;
  self: boolean;
  uptime_seconds: number | null;
  optime: string | null;
  /** Seconds behind the primary's last applied operation; null without a primary. */
  lag_seconds: number | null;
  ping_ms: number | null;
  sync_source: string | null;
  last_heartbeat: string | null;
  config_version: number | null;
}
interface ReplicationRow {
  set_name: string | null;
  my_state: string | null;
  term: number | null;
  majority_vote_count: number | null;
  write_majority_count: number | null;
  heartbeat_interval_ms: number | null;
  last_committed: string | null;
  max_lag_seconds: number | null;
  members: MemberRow[];
}

const replication = defineSignal<MongoSession, ReplicationRow>({
  id: 'mongodb.replication',
  family: 'replication',
  description: 'Replica set members: state, health, optime, lag behind the primary, heartbeat ping (replSetGetStatus)',
  requires: ['replSetGetStatus'],
  shape: 'object',
  read: async (s) => {
    requireReplicaMember(s);
    const res = await s.command('admin', { replSetGetStatus: 1 });
    const raw = list(res['members']).map((m) => sub(m));
    const optimeMs = (m: Record<string, unknown>): number | null => (m['optimeDate'] instanceof Date ? m['optimeDate'].getTime() : null);
    const primary = raw.find((m) => num(m['state']) === 1);
    const primaryMs = primary === undefined ? null : optimeMs(primary);
    const members = raw.map((m): MemberRow => {
      const ms = optimeMs(m);
      const isArbiter = num(m['state']) === 7;
      return {
        id: num(m['_id']),
        name: str(m['name']),
        state: str(m['stateStr']),
        health: num(m['health']),
        self: bool(m['self']) ?? false,
        uptime_seconds: num(m['uptime']),
        optime: iso(m['optimeDate']),
        lag_seconds: primaryMs === null || ms === null || isArbiter ? null : Math.max(0, (primaryMs - ms) / 1000),
        ping_ms: num(m['pingMs']),
        sync_source: str(m['syncSourceHost']) || null,
        last_heartbeat: iso(m['lastHeartbeat']),
        config_version: num(m['configVersion']),
      };
    });
    const lags = members.map((m) => m.lag_seconds).filter((l): l is number => l !== null);
    const self = members.find((m) => m.self);
    return [
      {
        set_name: str(res['set']),
        my_state: self?.state ?? null,
        term: num(res['term']),
        majority_vote_count: num(res['majorityVoteCount']),
        write_majority_count: num(res['writeMajorityCount']),
        heartbeat_interval_ms: num(res['heartbeatIntervalMillis']),
        last_committed: iso(sub(res, 'optimes')['lastCommittedWallTime']),
        max_lag_seconds: lags.length === 0 ? null : Math.max(...lags),
        members,
      },
    ];
  },
  fields: {
    set_name: 'object_names',
    my_state: null,
    term: null,
    majority_vote_count: null,
    write_majority_count: null,
    heartbeat_interval_ms: null,
    last_committed: null,
    max_lag_seconds: null,
    members: 'client_metadata',
  },
});

interface OplogRow {
  max_size_bytes: number | null;
  used_bytes: number | null;
  entries: number | null;
  first_entry: string | null;
  last_entry: string | null;
  /** How far back the oplog reaches: how long a member may be down and still catch up. */
  window_seconds: number;
}

/** The timestamp of the first or last oplog entry: the projection keeps the entry itself out of reach. */
async function oplogEdge(s: MongoSession, direction: 1 | -1): Promise<number> {
  const [doc] = await s.firstBatch('local', {
    find: 'oplog.rs',
    filter: {},
    sort: { $natural: direction },
    projection: { ts: 1, _id: 0 },
    limit: 1,
    singleBatch: true,
  });
  const seconds = tsSeconds(doc?.['ts']);
  if (seconds === null) throw new MalformedAnswer('the oplog returned no timestamp');
  return seconds;
}

const oplog = defineSignal<MongoSession, OplogRow>({
  id: 'mongodb.oplog',
  family: 'replication',
  description: 'Oplog size and window (first and last entry times; never the entries)',
  requires: ['oplog'],
  shape: 'object',
  read: async (s) => {
    requireReplicaMember(s);
    const [stats] = await s.firstBatch('local', { aggregate: 'oplog.rs', pipeline: [{ $collStats: { storageStats: {} } }], cursor: {} });
    const storage = sub(stats, 'storageStats');
    const first = await oplogEdge(s, 1);
    const last = await oplogEdge(s, -1);
    return [
      {
        max_size_bytes: num(storage['maxSize']),
        used_bytes: num(storage['size']),
        entries: num(storage['count']),
        first_entry: new Date(first * 1000).toISOString(),
        last_entry: new Date(last * 1000).toISOString(),
        window_seconds: last - first,
      },
    ];
  },
  fields: { max_size_bytes: null, used_bytes: null, entries: null, first_entry: null, last_entry: null, window_seconds: null },
});

export const replicationSignals: readonly AnySignalSpec<MongoSession>[] = [replication, oplog];
