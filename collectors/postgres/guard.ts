/**
 * The statement allowlist of the PostgreSQL session, decided on PostgreSQL's own
 * parse tree (libpg-query is the server's parser compiled to WebAssembly), never
 * on the text. A statement is accepted only if:
 *
 * - it parses, and parses to exactly ONE statement (stacking is impossible: a
 *   second statement, however it is hidden in strings or comments, is a second
 *   entry in the parse tree);
 * - that statement is a SELECT (without INTO or FOR UPDATE/SHARE) or a SHOW;
 * - every node of the tree is of a kind listed in ALLOWED_NODES (expressions,
 *   joins, subqueries, CTEs of SELECTs, $n parameters; no data-modifying CTE,
 *   no XML/JSON table functions, no TABLESAMPLE, no window or set-returning
 *   function in FROM);
 * - every function it calls, every operator, every type it casts to, every
 *   relation it reads and every column it names qualified (t.col, which is also
 *   function-call notation: col(t)) is on the allowlists below: the exact set the catalog uses
 *   (test/unit/pg-guard.test.ts checks that every statement the catalog can send
 *   passes, and that the allowlists hold nothing the catalog does not use).
 *
 * Names are compared as the parser resolved them: quoting, case folding and
 * U&"\0070g_…" escapes are already undone in the tree, so `"pg_catalog"."set_config"`
 * is the function pg_catalog.set_config and is refused like set_config. A name may
 * be schema-qualified only with pg_catalog (pg_stat_statements: with the schema
 * the extension lives in): the unqualified forms resolve there first, because
 * pg_catalog is searched before search_path and the session cannot change
 * search_path anyway (SET and set_config are refused).
 *
 * Everything else is refused before it reaches the network. The server-side
 * layers (read-only transaction, verified every cycle; extended protocol, one
 * statement per message; a role without write grants) are in session.ts.
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

/** Functions the catalog calls (pg_catalog built-ins that only read). */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set<string>([
  'age',
  'cardinality',
  'count',
  'current_setting',
  'extract',
  'has_database_privilege',
  'has_function_privilege',
  'has_table_privilege',
  'host',
  'max',
  'mxid_age',
  'now',
  'pg_backend_pid',
  'pg_blocking_pids',
  'pg_current_wal_lsn',
  'pg_database_size',
  'pg_get_userbyid',
  'pg_has_role',
  'pg_is_in_recovery',
  'pg_last_wal_receive_lsn',
  'pg_last_wal_replay_lsn',
  'pg_last_xact_replay_timestamp',
  'pg_postmaster_start_time',
  'pg_stat_get_numscans',
  'pg_wal_lsn_diff',
  'replace',
  'round',
  'string_to_array',
  'sum',
  'timezone',
  'to_char',
  'unnest',
]);

/** Column names the catalog reads qualified (t.col). Field selection ((x).col) is not allowed at all (A_Indirection). */
export const ALLOWED_FIELDS: ReadonlySet<string> = new Set<string>([
  'active_time',
  'attisdropped',
  'attname',
  'attnum',
  'attrelid',
  'autovacuum_count',
  'blks_hit',
  'blks_read',
  'buffers_alloc',
  'buffers_clean',
  'buffers_written',
  'classid',
  'conflicts',
  'datname',
  'deadlocks',
  'deptype',
  'extname',
  'extnamespace',
  'idle_in_transaction_time',
  'indexrelid',
  'indisprimary',
  'indisunique',
  'indisvalid',
  'indrelid',
  'lanname',
  'maxwritten_clean',
  'member',
  'n_dead_tup',
  'n_live_tup',
  'n_mod_since_analyze',
  'nspname',
  'nspowner',
  'num_done',
  'num_requested',
  'num_timed',
  'numbackends',
  'objid',
  'oid',
  'parallel_workers_launched',
  'parallel_workers_to_launch',
  'prokind',
  'prolang',
  'proname',
  'pronamespace',
  'pronargs',
  'prosecdef',
  'relfrozenxid',
  'relid',
  'relkind',
  'relname',
  'relnamespace',
  'relpages',
  'reltoastrelid',
  'reltuples',
  'restartpoints_done',
  'restartpoints_req',
  'restartpoints_timed',
  'rolbypassrls',
  'rolcanlogin',
  'rolconnlimit',
  'rolcreatedb',
  'rolcreaterole',
  'roleid',
  'rolinherit',
  'rolname',
  'rolreplication',
  'rolsuper',
  'rolvaliduntil',
  'schemaname',
  'sender_host',
  'sender_port',
  'session_time',
  'sessions',
  'sessions_abandoned',
  'sessions_fatal',
  'sessions_killed',
  'slot_name',
  'slru_written',
  'status',
  'sync_time',
  'temp_bytes',
  'temp_files',
  'total_analyze_time',
  'total_autoanalyze_time',
  'total_autovacuum_time',
  'total_vacuum_time',
  'tup_deleted',
  'tup_fetched',
  'tup_inserted',
  'tup_returned',
  'tup_updated',
  'vacuum_count',
  'write_time',
  'xact_commit',
  'xact_rollback',
]);

/** Operators the catalog uses. */
export const ALLOWED_OPERATORS: ReadonlySet<string> = new Set<string>(['!~', '!~~', '*', '+', '-', '<>', '=', '>']);

/** Types the catalog casts to (casts between built-in types run built-in functions only). */
export const ALLOWED_TYPES: ReadonlySet<string> = new Set<string>(['float8', 'int4', 'int8', 'numeric', 'regclass', 'text']);

/** Relations the catalog reads: system catalogs and statistics views, never application data. */
export const ALLOWED_RELATIONS: ReadonlySet<string> = new Set<string>([
  'pg_attribute',
  'pg_auth_members',
  'pg_available_extensions',
  'pg_class',
  'pg_database',
  'pg_depend',
  'pg_extension',
  'pg_hba_file_rules',
  'pg_index',
  'pg_language',
  'pg_locks',
  'pg_namespace',
  'pg_proc',
  'pg_replication_slots',
  'pg_roles',
  'pg_settings',
  'pg_stat_activity',
  'pg_stat_bgwriter',
  'pg_stat_checkpointer',
  'pg_stat_database',
  'pg_stat_io',
  'pg_stat_replication',
  'pg_stat_ssl',
  'pg_stat_statements',
  'pg_stat_statements_info',
  'pg_stat_subscription_stats',
  'pg_stat_user_tables',
  'pg_stat_wal',
  'pg_stat_wal_receiver',
]);

/**
 * pg_stat_statements and pg_stat_statements_info live in whatever schema the
 * extension was created in (the catalog looks it up and quotes it); they are the
 * only relations allowed in any schema.
 */
const ANY_SCHEMA_RELATIONS: ReadonlySet<string> = new Set(['pg_stat_statements', 'pg_stat_statements_info']);

/** Parse-tree node kinds a catalog read is made of. Statements of any other kind never appear. */
const ALLOWED_NODES: ReadonlySet<string> = new Set<string>([
  'A_Const',
  'A_Expr',
  'A_Star',
  'Alias',
  'BoolExpr',
  'Boolean',
  'CaseExpr',
  'CaseWhen',
  'CoalesceExpr',
  'ColumnRef',
  'CommonTableExpr',
  'Float',
  'FuncCall',
  'Integer',
  'JoinExpr',
  'List',
  'MinMaxExpr',
  'NullTest',
  'ParamRef',
  'RangeSubselect',
  'RangeVar',
  'ResTarget',
  'SQLValueFunction',
  'SelectStmt',
  'SortBy',
  'String',
  'SubLink',
  'TypeCast',
  'TypeName',
  'VariableShowStmt',
  'WindowDef',
  'WithClause',
]);

/** Fields that turn a SELECT into something else. */
const FORBIDDEN_FIELDS: ReadonlyMap<string, string> = new Map([
  ['intoClause', 'SELECT … INTO creates a table'],
  ['lockingClause', 'row locks (FOR UPDATE/SHARE) are not allowed'],
]);

let parseSync: ((sql: string) => unknown) | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the parser (WebAssembly, once per process, only when a PostgreSQL session
 * opens: other commands of the CLI do not pay for it). The session awaits it
 * before its first statement.
 */
export function loadPgGuard(): Promise<void> {
  loading ??= import('node:v8').then(async (v8) => {
    // The parser is a 1.7 MB WebAssembly module around one huge function (the grammar). V8
    // otherwise recompiles its hot functions with its optimising tier in the background, which
    // took 55 MB of memory for about two seconds (the CLI's peak RSS went from 112 to 167 MB on
    // a 30,000-table database) and was slower per statement than the baseline code for the few
    // dozen statements of a cycle (bench:schema, docs/postgres-schema.md). Baseline code only,
    // set before the module is compiled. It holds for any WebAssembly the process compiles later
    // (undici's HTTP parser: a few response headers per shipped payload).
    v8.setFlagsFromString('--liftoff-only');
    const m = await import('libpg-query');
    await m.loadModule();
    parseSync = m.parseSync;
  });
  return loading;
}

function refuse(why: string): never {
  throw new ReadOnlyViolation(why);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The String nodes of a name list, as the parser resolved them. */
function names(list: Json | undefined): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((n) => {
    const s = (n as { String?: { sval?: string } } | null)?.String?.sval;
    if (typeof s !== 'string') refuse('a name in the statement is not a plain identifier');
    return s;
  });
}

/** name or pg_catalog.name → name; any other qualification is refused. */
function unqualified(parts: string[], what: string): string {
  const shown = parts.join('.');
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2 && parts[0] === 'pg_catalog') return parts[1]!;
  return refuse(`${what} ${shown} is not on the allowlist`);
}

interface Walk {
  /** CTE names defined in the statement: readable like relations. */
  ctes: Set<string>;
}

function checkNode(kind: string, node: { [k: string]: Json }, w: Walk): void {
  switch (kind) {
    case 'FuncCall': {
      const fn = unqualified(names(node.funcname), 'function');
      if (!ALLOWED_FUNCTIONS.has(fn)) refuse(`function ${names(node.funcname).join('.')}() is not on the allowlist`);
      break;
    }
    case 'A_Expr': {
      if (node.name !== undefined) {
        const op = unqualified(names(node.name), 'operator');
        if (!ALLOWED_OPERATORS.has(op)) refuse(`operator ${names(node.name).join('.')} is not on the allowlist`);
      }
      break;
    }
    case 'SubLink': {
      if (node.operName !== undefined) {
        const op = unqualified(names(node.operName), 'operator');
        if (!ALLOWED_OPERATORS.has(op)) refuse(`operator ${op} is not on the allowlist`);
      }
      break;
    }
    case 'TypeName': {
      const t = unqualified(names(node.names), 'type');
      if (!ALLOWED_TYPES.has(t)) refuse(`type ${names(node.names).join('.')} is not on the allowlist`);
      break;
    }
    case 'RangeVar': {
      const rel = typeof node.relname === 'string' ? node.relname : refuse('a relation without a name');
      const schema = typeof node.schemaname === 'string' ? node.schemaname : undefined;
      if (typeof node.catalogname === 'string') refuse(`relation ${node.catalogname}.${schema ?? ''}.${rel} names another database`);
      if (schema === undefined && w.ctes.has(rel)) break;
      const systemSchema = schema === undefined || schema === 'pg_catalog';
      if (!ALLOWED_RELATIONS.has(rel) || !(systemSchema || ANY_SCHEMA_RELATIONS.has(rel))) {
        refuse(`relation ${schema === undefined ? '' : `${schema}.`}${rel} is not on the allowlist`);
      }
      break;
    }
    case 'ColumnRef': {
      // a.b is also function notation: b(a) when a has no column b. So every name after the first must be a column the catalog reads.
      for (const f of names((node.fields as Json[]).filter((x) => !(x !== null && typeof x === 'object' && 'A_Star' in x))).slice(1)) {
        if (!ALLOWED_FIELDS.has(f)) refuse(`column ${f} is not on the allowlist (a.${f} can call a function ${f}(a))`);
      }
      break;
    }
    case 'A_Indirection': {
      for (const f of (node.indirection as Json[] | undefined) ?? []) {
        const s = (f as { String?: { sval?: string } } | null)?.String?.sval;
        if (s !== undefined && !ALLOWED_FIELDS.has(s)) refuse(`field ${s} is not on the allowlist ((x).${s} can call a function ${s}(x))`);
      }
      break;
    }
    default:
      break;
  }
}

/** Field names whose value is an unwrapped node of a known kind (libpg-query's JSON leaves them untagged). */
const UNWRAPPED: Readonly<Record<string, string>> = {
  typeName: 'TypeName',
  withClause: 'WithClause',
  alias: 'Alias',
  over: 'WindowDef',
  rel: 'RangeVar',
  relation: 'RangeVar',
};

function collectCtes(value: Json, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) collectCtes(v, into);
  } else if (value !== null && typeof value === 'object') {
    const cte = value.CommonTableExpr as { ctename?: Json } | undefined;
    if (cte !== undefined && typeof cte.ctename === 'string') into.add(cte.ctename);
    for (const v of Object.values(value)) collectCtes(v, into);
  }
}

function walk(value: Json, w: Walk, kindHint?: string): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, w);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (kindHint !== undefined) {
    if (!ALLOWED_NODES.has(kindHint)) refuse(`${kindHint} is not allowed`);
    checkNode(kindHint, value, w);
  }
  for (const [key, child] of Object.entries(value)) {
    if (/^[A-Z]/.test(key)) {
      // A tagged node: { FuncCall: {...} }.
      if (!ALLOWED_NODES.has(key)) refuse(`${key} is not allowed`);
      if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
        checkNode(key, child, w);
        walk(child, w);
      }
      continue;
    }
    const forbidden = FORBIDDEN_FIELDS.get(key);
    if (forbidden !== undefined) refuse(forbidden);
    walk(child, w, UNWRAPPED[key]);
  }
}

/**
 * Throws ReadOnlyViolation unless `sql` is a single allowlisted read. Synchronous
 * (the session calls it on the hot path); the parser must be loaded first with
 * loadPgGuard(), and until it is, every statement is refused.
 */
export function assertReadOnlySql(sql: string): void {
  if (parseSync === undefined) return refuse('the SQL parser is not loaded');
  let tree: { stmts?: Array<{ stmt?: Json }> };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch {
    return refuse('the statement does not parse');
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) refuse(stmts.length === 0 ? 'empty statement' : 'one statement at a time');
  const stmt = stmts[0]!.stmt as { [k: string]: Json } | undefined;
  const kind = stmt === undefined ? undefined : Object.keys(stmt)[0];
  if (kind !== 'SelectStmt' && kind !== 'VariableShowStmt') refuse('only SELECT or SHOW may run');
  // CTE names first: the tree lists the FROM clause before the WITH clause that defines them.
  const w: Walk = { ctes: new Set() };
  collectCtes(stmt!, w.ctes);
  walk(stmt!, w);
}
