/**
 * The command allowlist of the MongoDB session. MongoDB has no read-only session
 * mode, so this is the enforcement: every command document the agent builds is
 * checked here before the driver sees it. A command is allowed only if its name
 * is listed AND every field of the document is one the rule names, with the value
 * the rule accepts; anything else is refused and never leaves the process.
 * Aggregations are limited to the three statistics stages and `$limit`, so no
 * pipeline can carry `$out`, `$merge` or JavaScript.
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

export type CommandDoc = Record<string, unknown>;

export interface GuardOptions {
  /** Cursor ids this session opened; only those may be closed with killCursors. */
  ownsCursor?(id: unknown): boolean;
}

const isDoc = (v: unknown): v is CommandDoc => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const isPositiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const isOne = (v: unknown): boolean => v === 1 || v === true;
const isNamespacePart = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 256 && !v.includes('\0');

function refuse(why: string): never {
  throw new ReadOnlyViolation(why);
}

/** Every key of `doc` must be in `allowed`; each present key's value must pass its check. */
function fields(name: string, doc: CommandDoc, allowed: Readonly<Record<string, (v: unknown) => boolean>>): void {
  for (const [key, value] of Object.entries(doc)) {
    const check = allowed[key];
    if (check === undefined) refuse(`${name}: field "${key}" is not allowed`);
    if (!check(value)) refuse(`${name}: unexpected value for "${key}"`);
  }
}

const cursorOption = (v: unknown): boolean => isDoc(v) && Object.entries(v).every(([k, x]) => k === 'batchSize' && isPositiveInt(x));
const maxTimeMS = isPositiveInt;

const COLL_STATS_OPTIONS = new Set(['storageStats', 'count', 'latencyStats']);
const CURRENT_OP_OPTIONS = new Set(['allUsers', 'idleConnections', 'idleCursors', 'idleSessions', 'localOps']);

/** The three statistics stages, optionally followed by one `$limit`. */
function checkPipeline(db: string, target: unknown, pipeline: unknown): void {
  if (!Array.isArray(pipeline) || pipeline.length === 0 || pipeline.length > 2)
    refuse('aggregate: the pipeline must be one statistics stage and an optional $limit');
  const stages = pipeline.map((s: unknown) => {
    if (!isDoc(s) || Object.keys(s).length !== 1) refuse('aggregate: each stage must be a document with one operator');
    const [op, arg] = Object.entries(s)[0]!;
    return { op, arg };
  });
  const [first, second] = stages as [{ op: string; arg: unknown }, { op: string; arg: unknown } | undefined];
  switch (first.op) {
    case '$collStats':
      if (!isNamespacePart(target)) refuse('aggregate: $collStats needs a collection name');
      if (
        !isDoc(first.arg) ||
        !Object.entries(first.arg).every(
          ([k, v]) => COLL_STATS_OPTIONS.has(k) && isDoc(v) && Object.values(v).every((x) => typeof x === 'number' || typeof x === 'boolean'),
        )
      ) {
        refuse('aggregate: $collStats options may only be storageStats, count or latencyStats');
      }
      break;
    case '$indexStats':
      if (!isNamespacePart(target)) refuse('aggregate: $indexStats needs a collection name');
      if (!isDoc(first.arg) || Object.keys(first.arg).length > 0) refuse('aggregate: $indexStats takes no options');
      break;
    case '$currentOp':
      if (db !== 'admin' || target !== 1) refuse('aggregate: $currentOp runs only as { aggregate: 1 } on admin');
      if (!isDoc(first.arg) || !Object.entries(first.arg).every(([k, v]) => CURRENT_OP_OPTIONS.has(k) && isBool(v))) {
        refuse('aggregate: $currentOp options may only be allUsers, idleConnections, idleCursors, idleSessions, localOps');
      }
      break;
    default:
      refuse(`aggregate: stage ${first.op.slice(0, 40)} is not allowed (only $collStats, $indexStats, $currentOp)`);
  }
  if (second !== undefined && !(second.op === '$limit' && isPositiveInt(second.arg))) refuse('aggregate: only $limit may follow the statistics stage');
}

type Rule = (cmd: CommandDoc, db: string, opts: GuardOptions) => void;

/** The allowlist: command name → the exact document shape the agent may send. */
const RULES: Readonly<Record<string, Rule>> = {
  hello: (c) => fields('hello', c, { hello: isOne }),
  ping: (c) => fields('ping', c, { ping: isOne, maxTimeMS }),
  buildInfo: (c) => fields('buildInfo', c, { buildInfo: isOne, maxTimeMS }),
  connectionStatus: (c) => fields('connectionStatus', c, { connectionStatus: isOne, showPrivileges: isBool, maxTimeMS }),
  serverStatus: (c) => fields('serverStatus', c, { serverStatus: isOne, maxTimeMS }),
  replSetGetStatus: (c) => fields('replSetGetStatus', c, { replSetGetStatus: isOne, maxTimeMS }),
  top: (c, db) => {
    if (db !== 'admin') refuse('top: runs only on admin');
    fields('top', c, { top: isOne, maxTimeMS });
  },
  getCmdLineOpts: (c, db) => {
    if (db !== 'admin') refuse('getCmdLineOpts: runs only on admin');
    fields('getCmdLineOpts', c, { getCmdLineOpts: isOne, maxTimeMS });
  },
  // '*' reads every parameter in one round trip; the catalog keeps a vetted few.
  getParameter: (c, db) => {
    if (db !== 'admin') refuse('getParameter: runs only on admin');
    fields('getParameter', c, { getParameter: (v) => v === '*', maxTimeMS });
  },
  // authorizedDatabases:false makes a missing privilege an error instead of a silently shorter list.
  listDatabases: (c, db) => {
    if (db !== 'admin') refuse('listDatabases: runs only on admin');
    fields('listDatabases', c, { listDatabases: isOne, nameOnly: isBool, authorizedDatabases: (v) => v === false, maxTimeMS });
  },
  dbStats: (c) => fields('dbStats', c, { dbStats: isOne, scale: isOne, freeStorage: (v) => v === 0, maxTimeMS }),
  listCollections: (c) =>
    fields('listCollections', c, { listCollections: isOne, nameOnly: isBool, authorizedCollections: (v) => v === false, cursor: cursorOption, maxTimeMS }),
  aggregate: (c, db) => {
    fields('aggregate', c, { aggregate: (v) => isNamespacePart(v) || v === 1, pipeline: () => true, cursor: cursorOption, maxTimeMS });
    if (!('cursor' in c)) refuse('aggregate: a cursor document is required');
    checkPipeline(db, c['aggregate'], c['pipeline']);
  },
  // Only the oplog's first and last timestamps: never a whole oplog entry.
  find: (c, db) => {
    if (db !== 'local' || c['find'] !== 'oplog.rs') refuse('find: only local.oplog.rs timestamps may be read');
    fields('find', c, {
      find: () => true,
      filter: (v) => isDoc(v) && Object.keys(v).length === 0,
      sort: (v) => isDoc(v) && Object.keys(v).length === 1 && (v['$natural'] === 1 || v['$natural'] === -1),
      projection: (v) => isDoc(v) && Object.keys(v).length === 2 && v['ts'] === 1 && v['_id'] === 0,
      limit: (v) => v === 1,
      singleBatch: (v) => v === true,
      maxTimeMS,
    });
    if (!isDoc(c['projection'])) refuse('find: a projection of { ts: 1, _id: 0 } is required');
  },
  // Users and roles without credentials, custom data or authentication restrictions.
  usersInfo: (c) => fields('usersInfo', c, { usersInfo: (v) => isDoc(v) && Object.keys(v).length === 1 && v['forAllDBs'] === true, maxTimeMS }),
  rolesInfo: (c) => fields('rolesInfo', c, { rolesInfo: isOne, showPrivileges: isBool, showBuiltinRoles: isBool, maxTimeMS }),
  // Closes a cursor the session itself opened and will not read to the end.
  killCursors: (c, _db, opts) => {
    fields('killCursors', c, { killCursors: isNamespacePart, cursors: (v) => Array.isArray(v) && v.length > 0, maxTimeMS });
    const ids = c['cursors'] as unknown[];
    if (!ids.every((id) => opts.ownsCursor?.(id) === true)) refuse('killCursors: only cursors this session opened');
  },
};

export const ALLOWED_COMMANDS: readonly string[] = Object.keys(RULES);

/** The command name is the first key of the document, as the server reads it. */
export function commandName(cmd: CommandDoc): string {
  return Object.keys(cmd)[0] ?? '';
}

/** Throws ReadOnlyViolation unless `cmd` on `db` is an allowlisted read of the allowed shape. */
export function assertReadOnlyCommand(db: string, cmd: unknown, opts: GuardOptions = {}): void {
  if (!isNamespacePart(db)) refuse('a database name is required');
  if (!isDoc(cmd)) refuse('a command must be a plain document');
  const name = commandName(cmd);
  const rule = Object.hasOwn(RULES, name) ? RULES[name] : undefined;
  if (rule === undefined) refuse(`command "${name.slice(0, 60)}" is not on the read-only allowlist`);
  rule(cmd, db, opts);
}
