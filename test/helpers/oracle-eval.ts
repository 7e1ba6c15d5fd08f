/**
 * Evaluates a catalog SELECT over rows of the view's documented source columns
 * (test/fixtures/vendor-schemas/oracle.ts), so a wrong source column, a wrong
 * time-zone conversion or a wrong unit shows up as a wrong value, not as a fixture
 * that echoes the expected output alias.
 *
 * Only the expression forms the catalog uses are understood; anything else throws,
 * so a new form has to be taught here (with the semantics the Oracle SQL Language
 * Reference gives it) before a test can pass:
 * - SYS_EXTRACT_UTC(x): x WITH TIME ZONE → its own offset; a TIMESTAMP or DATE is
 *   first converted implicitly to TIMESTAMP WITH TIME ZONE in the SESSION time zone
 *   (the client's, i.e. the agent machine's), not the database host's.
 * - FROM_TZ(CAST(x AS TIMESTAMP), TO_CHAR(SYSTIMESTAMP, 'TZH:TZM')): x's wall clock
 *   labelled with the database host's offset (SYSTIMESTAMP carries the host's zone).
 */
import { ORACLE_VIEWS, LOCAL_TIME_TYPES, ZONED_TIME_TYPES } from '../fixtures/vendor-schemas/oracle.js';

export interface Zones {
  /** The database host's UTC offset, as SYSTIMESTAMP shows it (e.g. '+02:00'). */
  host: string;
  /** The session time zone (node-oracledb sets it from the client machine). */
  session: string;
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS"Z"'`;

/** Splits on commas outside parentheses and quotes. */
export function splitTopLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (const ch of list) {
    if (ch === "'") quote = !quote;
    if (!quote && ch === '(') depth++;
    if (!quote && ch === ')') depth--;
    if (!quote && depth === 0 && ch === ',') {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** '2025-05-01 08:12:40.123' (+ optional ' +02:00') → epoch ms, reading a zone-less value in `zone`. */
function instant(value: string, zone: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?: ([+-]\d\d:\d\d))?$/.exec(value);
  if (m === null) throw new Error(`fake: not a timestamp literal: ${value}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3] ?? zone}`);
}
const wallClock = (value: string): string => value.replace(/ [+-]\d\d:\d\d$/, '');
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function evaluateSelect(sql: string, view: string, rows: readonly Record<string, unknown>[], zones: Zones): Record<string, unknown>[] {
  const doc = ORACLE_VIEWS[view];
  if (doc === undefined) throw new Error(`fake: ${view} has no documented schema`);
  const m = /^\s*SELECT\s+([\s\S]+?)\s+FROM\s+/i.exec(sql);
  if (m === null) throw new Error('fake: not a SELECT … FROM');
  const items = splitTopLevel(m[1]!).map((item) => {
    const a = /^([\s\S]+?)\s+AS\s+(\w+)$/i.exec(item);
    return a === null ? { expr: item, alias: item.toUpperCase() } : { expr: a[1]!.trim(), alias: a[2]!.toUpperCase() };
  });
  const typeOf = (col: string): string => {
    const c = doc.columns[col.toUpperCase()];
    if (c === undefined) throw new Error(`fake: ${view} has no documented column ${col}`);
    return c.type;
  };
  const evaluate = (expr: string, row: Record<string, unknown>): unknown => {
    if (/^[\w#$]+$/.test(expr)) {
      typeOf(expr);
      return row[expr.toUpperCase()] ?? null;
    }
    let e = new RegExp(
      `^TO_CHAR\\(SYS_EXTRACT_UTC\\(FROM_TZ\\(CAST\\((\\w+) AS TIMESTAMP\\), TO_CHAR\\(SYSTIMESTAMP, 'TZH:TZM'\\)\\)\\), ${escape(ISO)}\\)$`,
    ).exec(expr);
    if (e !== null) {
      const t = typeOf(e[1]!);
      if (!LOCAL_TIME_TYPES.test(t) && !ZONED_TIME_TYPES.test(t)) throw new Error(`fake: FROM_TZ over ${t}`);
      const v = row[e[1]!.toUpperCase()];
      return v === null || v === undefined ? null : isoSeconds(instant(wallClock(String(v)), zones.host));
    }
    e = new RegExp(`^TO_CHAR\\(SYS_EXTRACT_UTC\\((\\w+)\\), ${escape(ISO)}\\)$`).exec(expr);
    if (e !== null) {
      const t = typeOf(e[1]!);
      const v = row[e[1]!.toUpperCase()];
      if (v === null || v === undefined) return null;
      // Implicit conversion of a zone-less value uses the session time zone.
      if (LOCAL_TIME_TYPES.test(t)) return isoSeconds(instant(wallClock(String(v)), zones.session));
      if (ZONED_TIME_TYPES.test(t)) return isoSeconds(instant(String(v), zones.session));
      throw new Error(`fake: SYS_EXTRACT_UTC over ${t}`);
    }
    // ROUND(col [/ n]… [/ NULLIF(col2, 0)], d): the unit conversions the catalog applies.
    e = /^ROUND\((\w+)((?:\s*\/\s*\d+)*)(?:\s*\/\s*NULLIF\((\w+), 0\))?, (\d+)\)$/.exec(expr);
    if (e !== null) {
      typeOf(e[1]!);
      const raw = row[e[1]!.toUpperCase()];
      if (typeof raw !== 'number') return null;
      let v = raw;
      for (const d of e[2]!.matchAll(/\d+/g)) v = v / Number(d[0]);
      if (e[3] !== undefined) {
        typeOf(e[3]);
        const by = row[e[3].toUpperCase()];
        if (typeof by !== 'number' || by === 0) return null;
        v = v / by;
      }
      const f = 10 ** Number(e[4]);
      return Math.round(v * f) / f;
    }
    throw new Error(`fake: cannot evaluate ${expr}`);
  };
  return rows.map((row) => Object.fromEntries(items.map(({ expr, alias }) => [alias, evaluate(expr, row)])));
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
