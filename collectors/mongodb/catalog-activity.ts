import { redactMongoDocument, type RedactedDoc } from '../core/redact/mongo.js';
import { type AnySignalSpec, defineSignal, SignalUnavailable } from '../core/signal.js';
import type { MongoSession } from './session.js';
import { bool, list, num, str, sub } from './values.js';

/** Namespaces kept per cycle (the busiest first). */
export const TOP_LIMIT = 500;
/** Operations kept per cycle. */
export const CURRENT_OPS_LIMIT = 500;

/** The operations `top` reports per namespace, each as { time (microseconds), count }, and the names they ship under. */
const TOP_OPERATIONS = {
  total: 'total',
  read_lock: 'readLock',
  write_lock: 'writeLock',
  queries: 'queries',
  getmore: 'getmore',
  insert: 'insert',
  update: 'update',
  remove: 'remove',
  commands: 'commands',
} as const;
type Operation = keyof typeof TOP_OPERATIONS;

/** Flat, so each cumulative figure is a counter that can ship as a difference. */
type TopRow = { ns: string } & Record<`${Operation}_time_us` | `${Operation}_count`, number | null>;

type TopCounter = Exclude<keyof TopRow, 'ns'>;
const TOP_COUNTERS = Object.keys(TOP_OPERATIONS).flatMap((op) => [`${op}_time_us`, `${op}_count`]) as TopCounter[];

const top = defineSignal<MongoSession, TopRow>({
  id: 'mongodb.top',
  family: 'query_stats',
  description: `Time and operation counts per collection since startup (top; the ${TOP_LIMIT} busiest namespaces)`,
  requires: ['top'],
  shape: 'rows',
  read: async (s) => {
    if (s.server.topology === 'sharded') {
      throw new SignalUnavailable('unsupported', 'a mongos does not keep per-collection usage: add the shard members as targets');
    }
    const res = await s.command('admin', { top: 1 });
    const rows = Object.entries(sub(res, 'totals'))
      // "note" is a string field beside the namespaces in the answer.
      .filter(([ns, v]) => ns !== 'note' && Object.keys(sub(v)).length > 0)
      .map(([ns, v]): TopRow => {
        const d = sub(v);
        const row: Record<string, string | number | null> = { ns };
        for (const [name, field] of Object.entries(TOP_OPERATIONS)) {
          row[`${name}_time_us`] = num(sub(d[field])['time']);
          row[`${name}_count`] = num(sub(d[field])['count']);
        }
        return row as TopRow;
      });
    rows.sort((a, b) => (b.total_time_us ?? 0) - (a.total_time_us ?? 0) || a.ns.localeCompare(b.ns));
    return rows.slice(0, TOP_LIMIT);
  },
  fields: { ns: 'object_names', ...(Object.fromEntries(TOP_COUNTERS.map((c) => [c, null])) as Record<TopCounter, null>) },
  // Cumulative since the process started (top.cpp keeps them in memory): shipped as differences per namespace (docs/payload-v2.md).
  delta: {
    key: ['ns'],
    counters: TOP_COUNTERS,
    // A collection dropped (its entry is erased) and re-created between two cycles starts from zero: only that row restarts.
    rowReset: true,
    // A restart starts every namespace from zero.
    resetWhen: [{ signal: 'mongodb.server_status', field: 'started_at' }],
  },
});

interface CurrentOpRow {
  opid: number | string | null;
  shard: string | null;
  type: string | null;
  op: string | null;
  ns: string | null;
  active: boolean | null;
  secs_running: number | null;
  microsecs_running: number | null;
  waiting_for_lock: boolean | null;
  num_yields: number | null;
  desc: string | null;
  connection_id: number | null;
  client: string | null;
  app_name: string | null;
  effective_users: string[];
  plan_summary: string | null;
  command: RedactedDoc | null;
  originating_command: RedactedDoc | null;
}

/**
 * Only the listed fields of an operation are kept; its command documents go
 * through the redactor (keys and operators kept, every value replaced) here, at
 * the point of reading, so a raw value never reaches the payload, the preview or
 * a log — whatever the policy says about the category.
 */
export function currentOpRow(op: Record<string, unknown>): CurrentOpRow {
  const opid = op['opid'];
  const originating = op['originatingCommand'] ?? sub(op, 'cursor')['originatingCommand'];
  return {
    opid: typeof opid === 'string' ? opid : num(opid),
    shard: str(op['shard']),
    type: str(op['type']),
    op: str(op['op']),
    ns: str(op['ns']),
    active: bool(op['active']),
    secs_running: num(op['secs_running']),
    microsecs_running: num(op['microsecs_running']),
    waiting_for_lock: bool(op['waitingForLock']),
    num_yields: num(op['numYields']),
    desc: str(op['desc']),
    connection_id: num(op['connectionId']),
    // Through a mongos the client address is reported as client_s.
    client: str(op['client']) ?? str(op['client_s']),
    app_name: str(op['appName']),
    effective_users: list(op['effectiveUsers']).flatMap((u) => {
      const user = str(sub(u)['user']);
      const db = str(sub(u)['db']);
      return user === null ? [] : [db === null ? user : `${user}@${db}`];
    }),
    plan_summary: str(op['planSummary']),
    command: op['command'] === undefined ? null : redactMongoDocument(op['command']),
    originating_command: originating === undefined ? null : redactMongoDocument(originating),
  };
}

const currentOps = defineSignal<MongoSession, CurrentOpRow>({
  id: 'mongodb.current_ops',
  family: 'activity',
  description: `Active operations of every user ($currentOp; up to ${CURRENT_OPS_LIMIT}), command documents redacted to their shape; opt-in per target`,
  requires: ['inprog'],
  optIn: 'operator',
  shape: 'rows',
  read: async (s) => {
    const ops = await s.firstBatch('admin', {
      aggregate: 1,
      pipeline: [{ $currentOp: { allUsers: true, idleConnections: false, idleCursors: false, idleSessions: false } }, { $limit: CURRENT_OPS_LIMIT }],
      cursor: { batchSize: CURRENT_OPS_LIMIT + 1 },
    });
    // The agent's own $currentOp is not the deployment's activity.
    return ops.filter((op) => str(op['appName']) !== s.appName).map(currentOpRow);
  },
  fields: {
    opid: null,
    shard: null,
    type: null,
    op: null,
    ns: 'object_names',
    active: null,
    secs_running: null,
    microsecs_running: null,
    waiting_for_lock: null,
    num_yields: null,
    desc: 'client_metadata',
    connection_id: 'client_metadata',
    client: 'client_metadata',
    app_name: 'client_metadata',
    effective_users: 'identity_metadata',
    plan_summary: 'current_ops',
    command: 'current_ops',
    originating_command: 'current_ops',
  },
});

export const activitySignals: readonly AnySignalSpec<MongoSession>[] = [top, currentOps];
