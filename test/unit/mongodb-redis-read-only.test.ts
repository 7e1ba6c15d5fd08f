// Issue 18 for MongoDB and Redis: the command allowlists, attacked with the same
// classes as the SQL engines (case, aliases, sub-commands, scripts, transactions,
// session settings, admin commands hidden inside other commands). Each attempt
// must be refused by the guard the session calls before the driver sees anything.
import { describe, expect, it } from 'vitest';
import { assertReadOnlyCommand, ReadOnlyViolation } from '../../collectors/mongodb/guard.js';
import { checkCommand, CommandRefused } from '../../collectors/redis/guard.js';

const MONGO_ATTACKS: ReadonlyArray<[cls: string, db: string, doc: Record<string, unknown>]> = [
  // Case and aliases: the server's own spellings that are not the vetted one.
  ['case', 'admin', { ServerStatus: 1 }],
  ['case', 'admin', { serverstatus: 1 }],
  ['case', 'admin', { SERVERSTATUS: 1 }],
  ['alias', 'admin', { isMaster: 1 }],
  ['alias', 'admin', { ismaster: 1 }],
  ['alias', 'app', { dbstats: 1 }],
  ['alias', 'app', { collstats: 'users' }],
  ['alias', 'admin', { buildinfo: 1 }],
  // Writes and admin commands.
  ...['insert', 'update', 'delete', 'findAndModify', 'findandmodify', 'bulkWrite', 'create', 'drop', 'dropDatabase', 'renameCollection', 'createIndexes', 'dropIndexes', 'collMod', 'compact', 'reIndex', 'createUser', 'updateUser', 'dropUser', 'grantRolesToUser', 'createRole', 'shutdown', 'fsync', 'fsyncUnlock', 'killOp', 'killSessions', 'killAllSessions', 'setParameter', 'setFeatureCompatibilityVersion', 'setDefaultRWConcern', 'replSetReconfig', 'replSetStepDown', 'replSetFreeze', 'logRotate', 'setProfilingLevel', 'profile', 'cloneCollectionAsCapped', 'convertToCapped', 'applyOps', 'doTxn', 'eval', '$eval', 'mapReduce', 'mapreduce', 'group', 'copydb', 'clone', 'movePrimary', 'enableSharding', 'shardCollection', 'addShard', 'removeShard', 'balancerStart', 'clearLog', 'invalidateUserCache', 'refreshSessions', 'endSessions', 'commitTransaction', 'abortTransaction', 'getMore', 'count', 'distinct', 'listIndexes', 'explain', 'validate', 'dataSize', 'hostInfo', 'getLog'].map(
    (name) => ['not on the allowlist', 'admin', { [name]: 1 }] as [string, string, Record<string, unknown>],
  ),
  // Admin commands hidden inside allowlisted ones.
  ['hidden in explain', 'app', { explain: { delete: 'users', deletes: [{ q: {}, limit: 0 }] } }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $out: 'pwned' }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $merge: { into: 'pwned' } }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: {} }, { $out: 'pwned' }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $match: {} }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: { storageStats: {} } }, { $limit: 1 }, { $out: 'x' }], cursor: {} }],
  ['hidden in aggregate', 'admin', { aggregate: 1, pipeline: [{ $currentOp: { allUsers: true, $where: 'sleep(1)' } }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 1, pipeline: [{ $currentOp: {} }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: { storageStats: { scale: { $function: 'x' } } } }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $indexStats: {}, $out: 'x' }], cursor: {} }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: {} }], cursor: {}, writeConcern: { w: 1 } }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: {} }], cursor: {}, let: { x: { $function: {} } } }],
  ['hidden in aggregate', 'app', { aggregate: 'users', pipeline: [{ $collStats: {} }] }],
  // Scripts and filters that run JavaScript or read application data.
  ['scripts', 'local', { find: 'oplog.rs', filter: { $where: 'sleep(1000)' }, projection: { ts: 1, _id: 0 } }],
  ['application data', 'local', { find: 'oplog.rs', filter: {}, projection: { o: 1, _id: 0 } }],
  ['application data', 'local', { find: 'oplog.rs', filter: {} }],
  ['application data', 'app', { find: 'users', filter: {}, projection: { ts: 1, _id: 0 } }],
  ['application data', 'admin', { usersInfo: { forAllDBs: true }, showCredentials: true }],
  ['application data', 'admin', { usersInfo: 1, showCredentials: true }],
  ['application data', 'admin', { usersInfo: { forAllDBs: true }, showCustomData: true }],
  ['application data', 'admin', { getParameter: 1, authenticationMechanisms: 1 }],
  // Transactions and session settings smuggled as fields.
  ['transactions', 'admin', { serverStatus: 1, lsid: { id: 'x' }, txnNumber: 1, autocommit: false, startTransaction: true }],
  ['transactions', 'admin', { ping: 1, autocommit: false }],
  ['session settings', 'admin', { serverStatus: 1, $readPreference: { mode: 'secondary' } }],
  ['session settings', 'admin', { serverStatus: 1, writeConcern: { w: 0 } }],
  ['session settings', 'admin', { serverStatus: 1, comment: { $function: 'x' } }],
  // Cursors of other sessions.
  ['cursors', 'app', { killCursors: 'users', cursors: [42] }],
  // Shapes.
  ['shape', 'admin', Object.create({ serverStatus: 1 }) as Record<string, unknown>],
  ['shape', '', { ping: 1 }],
  ['shape', 'a\u0000b', { ping: 1 }],
  ['shape', 'admin', {}],
  ['shape', 'app', { top: 1 }],
  ['shape', 'app', { getCmdLineOpts: 1 }],
];

const REDIS_ATTACKS: ReadonlyArray<[cls: string, name: string, args: unknown[]]> = [
  // Scripts and functions.
  ...['EVAL', 'eval', 'EvAl', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO'].map((n) => ['scripts', n, ['return 1', '0']] as [string, string, unknown[]]),
  ['scripts', 'SCRIPT', ['LOAD', 'return 1']],
  ['scripts', 'SCRIPT', ['FLUSH']],
  ['scripts', 'FUNCTION', ['LOAD', '#!lua name=x']],
  ['scripts', 'FUNCTION', ['FLUSH']],
  ['scripts', 'MODULE', ['LOAD', '/tmp/evil.so']],
  // Writes and data reads.
  ...['SET', 'DEL', 'UNLINK', 'FLUSHALL', 'FLUSHDB', 'EXPIRE', 'RENAME', 'MOVE', 'COPY', 'RESTORE', 'MIGRATE', 'GET', 'MGET', 'KEYS', 'SCAN', 'DUMP', 'HGETALL', 'LRANGE', 'SMEMBERS', 'XREAD', 'SUBSCRIBE', 'PUBLISH', 'SORT', 'SORT_RO', 'OBJECT', 'DEBUG', 'BGSAVE', 'SAVE', 'BGREWRITEAOF', 'SHUTDOWN', 'REPLICAOF', 'SLAVEOF', 'FAILOVER', 'SWAPDB', 'MONITOR', 'SYNC', 'PSYNC', 'WAIT', 'RESET', 'SELECT', 'READONLY', 'READWRITE', 'LASTSAVE', 'ROLE'].map(
    (n) => ['not on the allowlist', n, ['k']] as [string, string, unknown[]],
  ),
  // Transactions.
  ...['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH'].map((n) => ['transactions', n, []] as [string, string, unknown[]]),
  // Sub-commands of allowlisted commands that write or change settings.
  ['sub-commands', 'CONFIG', ['SET', 'dir', '/tmp']],
  ['sub-commands', 'config', ['set', 'dbfilename', 'x.so']],
  ['sub-commands', 'CONFIG', ['REWRITE']],
  ['sub-commands', 'CONFIG', ['RESETSTAT']],
  ['sub-commands', 'CLIENT', ['KILL', 'ID', '1']],
  ['sub-commands', 'CLIENT', ['PAUSE', '100000']],
  ['sub-commands', 'CLIENT', ['NO-EVICT', 'on']],
  ['sub-commands', 'CLIENT', ['SETNAME', 'two words']],
  ['sub-commands', 'CLIENT', ['SETINFO', 'lib-name', 'x']],
  ['sub-commands', 'CLIENT', ['TRACKING', 'on']],
  ['sub-commands', 'SLOWLOG', ['RESET']],
  ['sub-commands', 'COMMANDLOG', ['RESET', 'slow']],
  ['sub-commands', 'LATENCY', ['RESET']],
  ['sub-commands', 'MEMORY', ['PURGE']],
  ['sub-commands', 'MEMORY', ['USAGE', 'k']],
  ['sub-commands', 'ACL', ['SETUSER', 'monitor', 'on', '+@all']],
  ['sub-commands', 'ACL', ['DELUSER', 'x']],
  ['sub-commands', 'ACL', ['SAVE']],
  ['sub-commands', 'ACL', ['LOAD']],
  ['sub-commands', 'ACL', ['GETUSER', 'a b']],
  ['sub-commands', 'CLUSTER', ['RESET']],
  ['sub-commands', 'CLUSTER', ['FAILOVER']],
  ['sub-commands', 'CLUSTER', ['MEET', '1.2.3.4', '6379']],
  ['sub-commands', 'CLUSTER', ['FORGET', 'x']],
  ['sub-commands', 'SENTINEL', ['SET', 'm', 'x', 'y']],
  ['sub-commands', 'SENTINEL', ['FAILOVER', 'm']],
  ['sub-commands', 'SENTINEL', ['REMOVE', 'm']],
  // Arguments smuggling more than the rule allows.
  ['arguments', 'PING', ['extra']],
  ['arguments', 'INFO', ['server\r\nFLUSHALL']],
  ['arguments', 'INFO', [{ toString: () => 'x' }]],
  ['arguments', 'SLOWLOG', ['GET', '-1']],
  ['arguments', 'SLOWLOG', ['GET', '10', 'x']],
  ['arguments', 'CONFIG', ['GET', '*']],
  ['arguments', 'CONFIG', ['GET', 'requirepass']],
  ['arguments', 'CONFIG', ['GET', 'masterauth']],
];

describe('MongoDB command allowlist against the attack classes', () => {
  it.each(MONGO_ATTACKS.map(([cls, db, doc]) => [cls, db, doc] as const))('refuses (%s) on %s: %o', (_cls, db, doc) => {
    expect(() => assertReadOnlyCommand(db, doc, { ownsCursor: () => false })).toThrow(ReadOnlyViolation);
  });
});

describe('Redis command allowlist against the attack classes', () => {
  it.each(REDIS_ATTACKS.map(([cls, name, args]) => [cls, name, args] as const))('refuses (%s) %s %o', (_cls, name, args) => {
    expect(() => checkCommand(name, args)).toThrow(CommandRefused);
  });
});
