/**
 * The statement allowlist of the SQL Server session. SQL Server has no read-only
 * session switch (ApplicationIntent=ReadOnly only routes; on a primary it enforces
 * nothing), so this guard is what keeps the agent to reads: one SELECT (or WITH …
 * SELECT) per batch, checked before anything reaches the network. T-SQL runs
 * several statements in one batch without semicolons, so every word that can start
 * a non-read statement is refused anywhere in the text, as are SELECT … INTO,
 * sequence increments, locking hints and the rowset functions that reach other
 * servers or files. No DBCC at all: even the "read-only" ones are not needed.
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

const FORBIDDEN_WORDS = new RegExp(
  '\\b(' +
    [
      // data and schema changes
      'insert',
      'update',
      'delete',
      'merge',
      'truncate',
      'create',
      'alter',
      'drop',
      'into',
      'bulk',
      'writetext',
      'updatetext',
      'readtext',
      // permissions and identity
      'grant',
      'revoke',
      'deny',
      'setuser',
      'revert',
      // code execution, control flow and variables
      'exec',
      'execute',
      'declare',
      'set',
      'if',
      'while',
      'goto',
      'return',
      'begin',
      'end\\s+conversation',
      'print',
      'raiserror',
      'throw',
      'waitfor',
      // transactions
      'commit',
      'rollback',
      'save',
      'tran',
      'transaction',
      // server and database state
      'dbcc',
      'backup',
      'restore',
      'kill',
      'shutdown',
      'reconfigure',
      'checkpoint',
      'use',
      'enable',
      'disable',
      // cursors and Service Broker
      'open',
      'fetch',
      'close',
      'deallocate',
      'receive',
      'send',
      'move',
      'get',
      // rowsets from elsewhere (linked servers, files, XML documents)
      'openrowset',
      'openquery',
      'opendatasource',
      'openxml',
    ].join('|') +
    ')\\b',
  'i',
);

const LOCK_HINTS = /\b(updlock|xlock|holdlock|tablock|tablockx|paglock|rowlock|serializable|repeatableread|readcommittedlock)\b/i;

/**
 * Blanks comments, string literals and delimited identifiers so the checks see only
 * T-SQL words. Nested block comments are refused rather than parsed.
 */
function skeleton(sql: string): string {
  let s = sql.replace(/--[^\r\n]*/g, ' ');
  s = s.replace(/\/\*[\s\S]*?\*\//g, (c) => {
    if (c.slice(2).includes('/*')) throw new ReadOnlyViolation('nested comments are not allowed');
    return ' ';
  });
  if (s.includes('/*') || s.includes('*/')) throw new ReadOnlyViolation('unterminated comment');
  return s
    .replace(/N?'(?:[^']|'')*'/g, "''")
    .replace(/\[(?:[^\]]|\]\])*\]/g, '[x]')
    .replace(/"(?:[^"]|"")*"/g, '[x]');
}

export function assertReadOnlyTsql(sql: string): void {
  const s = skeleton(sql).trim();
  if (/['"[\]]/.test(s.replace(/''|\[x\]/g, ''))) throw new ReadOnlyViolation('unbalanced quotes or brackets');
  if (!/^(select|with)\b/i.test(s)) throw new ReadOnlyViolation('only SELECT or WITH … SELECT may run');
  const body = s.replace(/;\s*$/, '');
  if (body.includes(';')) throw new ReadOnlyViolation('one statement at a time');
  const word = FORBIDDEN_WORDS.exec(body);
  if (word) throw new ReadOnlyViolation(`"${word[1]!.toUpperCase().replace(/\s+/g, ' ')}" is not allowed`);
  if (/\bnext\s+value\s+for\b/i.test(body)) throw new ReadOnlyViolation('NEXT VALUE FOR changes a sequence');
  const hint = LOCK_HINTS.exec(body);
  if (hint) throw new ReadOnlyViolation(`locking hint ${hint[1]!.toUpperCase()} is not allowed`);
  if (/\bfor\s+update\b/i.test(body)) throw new ReadOnlyViolation('FOR UPDATE is not allowed');
  assertAllowlistedTsql(sql);
}

/** One lexical token of T-SQL, with delimited identifiers already unquoted. */
interface Token {
  kind: 'word' | 'ident' | 'string' | 'number' | 'var' | 'punct';
  /** Lower-cased for words and identifiers (SQL Server's default collation is case-insensitive). */
  text: string;
}

/** T-SQL's lexical rules: N'…' and '…' with '' escapes, […] with ]] escapes, "…" with "" escapes, -- and nested /* … *\/ comments. */
export function tokenizeTsql(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < n);
      if (depth > 0) throw new ReadOnlyViolation('unterminated comment');
    } else if (c === "'" || ((c === 'N' || c === 'n') && sql[i + 1] === "'")) {
      i += c === "'" ? 1 : 2;
      for (;;) {
        if (i >= n) throw new ReadOnlyViolation('unterminated string');
        if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      out.push({ kind: 'string', text: "''" });
    } else if (c === '[' || c === '"') {
      const close = c === '[' ? ']' : '"';
      let name = '';
      i++;
      for (;;) {
        if (i >= n) throw new ReadOnlyViolation('unterminated delimited identifier');
        if (sql[i] === close && sql[i + 1] === close) {
          name += close;
          i += 2;
        } else if (sql[i] === close) break;
        else name += sql[i++]!;
      }
      i++;
      out.push({ kind: 'ident', text: name.toLowerCase() });
    } else if (/[A-Za-z_#]/.test(c) || c.charCodeAt(0) > 127) {
      const m = /^[A-Za-z_#\u0080-\uffff][\w@$#\u0080-\uffff]*/.exec(sql.slice(i))!;
      out.push({ kind: 'word', text: m[0].toLowerCase() });
      i += m[0].length;
    } else if (c === '@') {
      const m = /^@@?[\w@$#]*/.exec(sql.slice(i))!;
      out.push({ kind: 'var', text: m[0].toLowerCase() });
      i += m[0].length;
    } else if (/[0-9.]/.test(c) && /[0-9]/.test(sql[i + 1] ?? c)) {
      const m = /^(0x[0-9a-f]*|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?)/i.exec(sql.slice(i))!;
      out.push({ kind: 'number', text: m[0] });
      i += Math.max(1, m[0].length);
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

const isName = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'ident' || t.kind === 'word');

/** Reads a multi-part name starting at `i` (a.b.c, [a].[b], a..c); returns the parts ('' for an omitted one) and the next index. */
function nameChain(tokens: Token[], i: number): { parts: string[]; next: number } {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    if (isName(tokens[j])) parts.push(tokens[j++]!.text);
    else parts.push('');
    if (tokens[j]?.kind === 'punct' && tokens[j]!.text === '.') j++;
    else break;
  }
  return { parts, next: j };
}

/** Words that stand before "(" without being a call. */
const TSQL_KEYWORDS_BEFORE_PAREN = new Set(
  // Also TOP (n), FOR XML PATH(''), and the types that take a length in CAST(x AS nvarchar(128)).
  'select with as from join apply on in exists any all some and or not where having by over partition order group union intersect except when then else case is between values like top path nvarchar varchar nchar char varbinary decimal numeric'.split(
    ' ',
  ),
);

/**
 * The second layer of the T-SQL allowlist, on tokens (names already unbracketed
 * and unquoted, so [xp_cmdshell] and "xp_cmdshell" are xp_cmdshell): every
 * function called must be a built-in the catalog uses, every relation read must
 * be a catalog or DMV the catalog reads (or a CTE of the statement), and no name
 * may have four parts or an omitted part (linked servers, other databases' default
 * schema).
 */
export function assertAllowlistedTsql(sql: string): void {
  // The one credential column among the allowed relations (sys.sql_logins): the allowed set is closed, so this list is complete.
  if (tokenizeTsql(sql).some((t) => (t.kind === 'word' || t.kind === 'ident') && t.text === 'password_hash')) {
    throw new ReadOnlyViolation('password hashes are never read');
  }
  const used = tsqlNamesUsed(sql);
  for (const fn of used.functions) if (!ALLOWED_TSQL_FUNCTIONS.has(fn)) throw new ReadOnlyViolation(`function ${fn}() is not on the allowlist`);
  for (const rel of used.relations)
    if (!ALLOWED_TSQL_RELATIONS.has(rel) && !ALLOWED_TSQL_RELATIONS.has(rel.replace(/^[^.]+\.(?=sys\.[^.]+$)/, '')))
      throw new ReadOnlyViolation(`relation ${rel} is not on the allowlist`);
}

/** The functions a statement calls and the relations it reads, as the allowlists name them. Refuses malformed names outright. */
export function tsqlNamesUsed(sql: string): { functions: Set<string>; relations: Set<string> } {
  const tokens = tokenizeTsql(sql);
  const functions = new Set<string>();
  const relations = new Set<string>();
  const ctes = new Set<string>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    const [a, b, c] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!];
    if (isName(a) && b.kind === 'word' && b.text === 'as' && c.text === '(') {
      const prev = tokens[i - 1];
      if (prev?.text === 'with' || prev?.text === ',') ctes.add(a.text);
    }
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!isName(t)) continue;
    const { parts, next } = nameChain(tokens, i);
    const shown = parts.join('.');
    if (parts.length > 3 || parts.some((p) => p === ''))
      throw new ReadOnlyViolation(`${shown}: names of other servers or with an omitted part are not allowed`);
    const prev = tokens[i - 1];
    if (tokens[next]?.text === '(') {
      // A keyword before "(" is syntax (IN (…), OVER (…)); any other name is a call, however it is quoted or qualified.
      if (!(parts.length === 1 && t.kind === 'word' && TSQL_KEYWORDS_BEFORE_PAREN.has(parts[0]!))) functions.add(shown);
    } else if (prev !== undefined && prev.kind === 'word' && (prev.text === 'from' || prev.text === 'join' || prev.text === 'apply')) {
      if (!(parts.length === 1 && ctes.has(parts[0]!))) relations.add(shown);
    }
    i = next - 1;
  }
  return { functions, relations };
}

/** Built-in functions the catalog calls (sys.* table-valued ones qualified). */
export const ALLOWED_TSQL_FUNCTIONS: ReadonlySet<string> = new Set<string>([
  'cast',
  'coalesce',
  'connectionproperty',
  'convert',
  'count',
  'databasepropertyex',
  'datalength',
  'dateadd',
  'datediff',
  'db_id',
  'db_name',
  'getdate',
  'getutcdate',
  'has_dbaccess',
  'has_perms_by_name',
  'is_rolemember',
  'is_srvrolemember',
  'isnull',
  'max',
  'nullif',
  'serverproperty',
  'stuff',
  'substring',
  'sum',
  'suser_sname',
  'sys.dm_exec_sql_text',
  'sys.dm_io_virtual_file_stats',
  'sys.fn_builtin_permissions',
  'user_name',
]);

/**
 * Catalog views and DMVs the catalog reads. A sys.* view may also be read in another
 * database of the instance ([db].sys.tables: the per-database signals); msdb.dbo.*
 * only as listed.
 */
export const ALLOWED_TSQL_RELATIONS: ReadonlySet<string> = new Set<string>([
  'msdb.dbo.log_shipping_monitor_primary',
  'msdb.dbo.log_shipping_monitor_secondary',
  'sys.availability_groups',
  'sys.availability_replicas',
  'sys.configurations',
  'sys.database_principals',
  'sys.database_query_store_options',
  'sys.database_role_members',
  'sys.database_files',
  'sys.databases',
  'sys.dm_db_file_space_usage',
  'sys.dm_db_index_usage_stats',
  'sys.dm_db_missing_index_details',
  'sys.dm_db_missing_index_group_stats',
  'sys.dm_db_missing_index_groups',
  'sys.dm_db_partition_stats',
  'sys.dm_db_wait_stats',
  'sys.dm_exec_connections',
  'sys.dm_exec_query_stats',
  'sys.dm_exec_requests',
  'sys.dm_exec_sessions',
  'sys.dm_hadr_availability_replica_states',
  'sys.dm_hadr_database_replica_states',
  'sys.dm_os_buffer_descriptors',
  'sys.dm_os_memory_clerks',
  'sys.dm_os_performance_counters',
  'sys.dm_os_process_memory',
  'sys.dm_os_sys_memory',
  'sys.dm_os_wait_stats',
  'sys.indexes',
  'sys.master_files',
  'sys.query_store_plan',
  'sys.query_store_query',
  'sys.query_store_query_text',
  'sys.query_store_runtime_stats',
  'sys.schemas',
  'sys.server_principals',
  'sys.server_role_members',
  'sys.sql_logins',
  'sys.tables',
]);
