/**
 * The statement allowlist of the Oracle session. Every statement also runs inside
 * a SET TRANSACTION READ ONLY transaction, but Oracle lets functions called from
 * SQL write through autonomous transactions and lets WITH declare PL/SQL, so the
 * guard accepts only a single plain query whose function calls are all built-in
 * SQL functions, with no database links and no licence-gated objects unless the
 * operator confirmed the licence.
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

const FORBIDDEN_WORDS =
  /\b(insert|update|delete|merge|upsert|create|alter|drop|grant|revoke|truncate|rename|purge|flashback|call|exec|execute|begin|declare|commit|rollback|savepoint|lock|set|into|function|procedure|package|audit|noaudit|comment|analyze|explain|administer|shutdown|startup)\b/i;

/** Words that may stand before "(" without being a function call. */
const KEYWORDS_BEFORE_PAREN = new Set(
  'select with as from join on in exists any all some and or not where having by over partition order group union intersect minus except when then else case is between values using like fetch only'.split(
    ' ',
  ),
);

/** Built-in SQL functions the catalog uses; anything else (user functions, DBMS_ and UTL_ packages) is refused. */
const ALLOWED_FUNCTIONS = new Set([
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'round',
  'trunc',
  'floor',
  'ceil',
  'abs',
  'greatest',
  'least',
  'mod',
  'nvl',
  'nvl2',
  'coalesce',
  'nullif',
  'decode',
  'cast',
  'to_char',
  'to_number',
  'to_date',
  'upper',
  'lower',
  'substr',
  'instr',
  'length',
  'trim',
  'replace',
  'regexp_like',
  'listagg',
  'within',
  'sys_context',
  'sys_extract_utc',
  'from_tz',
  'numtodsinterval',
  'extract',
  'row_number',
  'rank',
  'dense_rank',
  'lag',
]);

/** Objects whose use needs the Oracle Diagnostics Pack licence (ASH, AWR, ADDM). */
export const LICENSED_OBJECTS =
  /\b(g?v\$active_session_history|g?v_\$active_session_history|x\$ash|(dba|cdb)_hist_\w+|awr_(root|pdb|cdb)_\w+|(dba|cdb)_addm_\w+|dbms_workload_repository|dbms_addm)\b/i;

/** Blanks comments and string literals so the checks see only SQL words. */
function skeleton(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''");
}

/**
 * Relations: Oracle's data dictionary and performance views, by the names Oracle
 * reserves for them (V$/GV$ public synonyms, DBA_/CDB_/ALL_/USER_ views, SESSION_
 * views, AUDIT_UNIFIED_ views, DUAL), unqualified or qualified with SYS; or a WITH
 * query of the statement. Application schemas and SYS's base tables (USER$, LINK$)
 * are refused.
 */
const SYSTEM_VIEW = /^(g?v\$[a-z0-9_#$]+|(dba|cdb|all|user|session|audit_unified)_[a-z0-9_#$]+|dual)$/;

function assertSystemRelations(s: string): void {
  const lower = s.toLowerCase();
  const ctes = new Set([...lower.matchAll(/(?:\bwith|,)\s*([a-z_][\w$#]*)\s+as\s*\(/g)].map((m) => m[1]!));
  const NAME = /^\s*([a-z_][\w$#]*(?:\s*\.\s*[a-z_][\w$#]*)*)/;
  const STOP =
    /^(where|group|order|connect|start|union|minus|intersect|fetch|offset|having|cross|join|inner|left|right|full|outer|natural|on|using|pivot|unpivot|partition|model|window|for)$/;
  for (const m of lower.matchAll(/\b(from|join)\b/g)) {
    let rest = lower.slice(m.index + m[0].length);
    for (;;) {
      if (/^\s*\(/.test(rest)) break; // a subquery: its own FROM is checked where it stands
      const n = NAME.exec(rest);
      if (n === null) throw new ReadOnlyViolation('a FROM or JOIN without a relation name');
      const parts = n[1]!.split('.').map((x) => x.trim());
      const rel = parts.length === 2 && parts[0] === 'sys' ? parts[1]! : parts.length === 1 ? parts[0]! : undefined;
      if (rel === undefined || !(SYSTEM_VIEW.test(rel) || (parts.length === 1 && ctes.has(rel)))) {
        throw new ReadOnlyViolation(`relation ${parts.join('.').toUpperCase()} is not a data dictionary or performance view`);
      }
      rest = rest.slice(n[0].length);
      // An optional alias, then either a comma (another relation) or the end of this FROM item.
      const alias = /^\s+([a-z_][\w$#]*)/.exec(rest);
      if (alias !== null && !STOP.test(alias[1]!)) rest = rest.slice(alias[0].length);
      const comma = /^\s*,/.exec(rest);
      if (comma === null) break;
      rest = rest.slice(comma[0].length);
    }
  }
}

export interface GuardOptions {
  /** The operator confirmed the Diagnostics Pack licence for this target. */
  diagnosticsPack: boolean;
}

export function assertReadOnlySql(sql: string, opts: GuardOptions): void {
  // Alternative quoting (q'[...]') would hide text from the skeleton; the catalog never needs it.
  if (/(^|[^\w$#])n?q'/i.test(sql)) throw new ReadOnlyViolation("alternative quoting (q'…') is not allowed");
  const s = skeleton(sql).trim();
  // What the skeleton could not pair is an unterminated literal or comment: the server would read it differently.
  if (s.includes("'") && s.replace(/''/g, '').includes("'")) throw new ReadOnlyViolation('unterminated string literal');
  if (s.includes('/*') || s.includes('*/')) throw new ReadOnlyViolation('unterminated comment');
  if (!/^(select|with)\b/i.test(s)) throw new ReadOnlyViolation('only SELECT or WITH queries may run');
  if (s.includes(';')) throw new ReadOnlyViolation('one statement, without ";"');
  // A quoted identifier could hide a function or package name from the checks below.
  if (s.includes('"')) throw new ReadOnlyViolation('quoted identifiers are not allowed');
  if (s.includes('@')) throw new ReadOnlyViolation('database links are not allowed');
  const word = FORBIDDEN_WORDS.exec(s);
  if (word) throw new ReadOnlyViolation(`"${word[1]!.toUpperCase()}" is not allowed`);
  if (/\b(nextval|currval)\b/i.test(s)) throw new ReadOnlyViolation('sequence NEXTVAL/CURRVAL is not allowed');
  assertSystemRelations(s);
  // A dotted call is a package or a schema function (DBMS_LOCK.SLEEP, APP.F); "t.col (+)" is an outer join.
  const dotted = /\b([a-z_][\w$#]*)\s*\.\s*([a-z_][\w$#]*)\s*\((?!\s*\+\s*\))/i.exec(s);
  if (dotted) throw new ReadOnlyViolation(`${dotted[1]!.toUpperCase()}.${dotted[2]!.toUpperCase()}() is not allowed`);
  for (const m of s.matchAll(/\b([a-z_][\w$#]*)\s*\((?!\s*\+\s*\))/gi)) {
    const name = m[1]!.toLowerCase();
    if (!KEYWORDS_BEFORE_PAREN.has(name) && !ALLOWED_FUNCTIONS.has(name)) {
      throw new ReadOnlyViolation(`function ${name.toUpperCase()}() is not on the allowlist`);
    }
  }
  if (!opts.diagnosticsPack) {
    // The raw text, comments and literals included: naming a licensed view anywhere is refused.
    const licensed = LICENSED_OBJECTS.exec(sql);
    if (licensed) {
      throw new ReadOnlyViolation(`${licensed[0].toUpperCase()} needs the Diagnostics Pack licence, which the operator has not confirmed for this target`);
    }
  }
}
