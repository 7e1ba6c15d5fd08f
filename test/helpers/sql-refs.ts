/**
 * A small reference extractor for the contract tests: which views a catalog
 * statement reads, which of their columns it names, and what each unit-carrying
 * output alias is computed from.
 *
 * Hand-written on purpose: node-sql-parser (the maintained SQL parser on npm with a
 * transactsql dialect) rejects the catalog's FOR XML PATH(N'') aggregation and has no
 * Oracle dialect ("plsql is not supported currently"); no other maintained T-SQL or
 * Oracle SQL parser exists on npm. The catalog's statements are plain SELECTs over
 * system views, so scopes, aliases and select items are enough. Anything the
 * extractor cannot attribute is reported in `unresolved`, so the test can require it
 * to be empty rather than silently skip it.
 */

export interface Extracted {
  /** Objects read (normalised: sys.x, msdb.dbo.x, V$X, DBA_X). */
  objects: string[];
  /** Column references attributed to an object. */
  columns: Array<{ object: string; column: string }>;
  /** Identifiers that look like columns but belong to no known object (a wrong name, or a source the extractor cannot see). */
  unresolved: string[];
  /** Output items: alias → the expression text. */
  items: Array<{ alias: string; expr: string }>;
  /** Aliases of derived tables / CTEs: their columns are the statement's own. */
  derived: string[];
}

export interface Dialect {
  /** Matches an object name after FROM/JOIN/APPLY (captures the name). */
  object: RegExp;
  normalise(name: string): string;
  isKnown(object: string): boolean;
  columnsOf(object: string): readonly string[];
}

const KEYWORDS = new Set(
  `SELECT FROM WHERE AND OR NOT IN IS NULL AS ON JOIN LEFT RIGHT INNER OUTER CROSS FULL APPLY ORDER BY GROUP HAVING TOP CASE WHEN THEN ELSE END DESC ASC
   UNION ALL WITH LIKE DISTINCT FOR XML PATH OVER PARTITION BETWEEN EXISTS ROWNUM FETCH FIRST NEXT ROWS ONLY OFFSET
   FLOAT INT BIT NVARCHAR VARCHAR VARCHAR2 SYSNAME DATETIME BIGINT NUMBER TIMESTAMP DATE CHAR NCHAR
   MINUTE SECOND HOUR DAY INTERVAL SYSDATE SYSTIMESTAMP CURRENT_TIMESTAMP TRUE FALSE ESCAPE`
    .split(/\s+/)
    .filter(Boolean),
);

/** Replaces string literals with '' (keeping positions meaningless but structure intact). */
export const stripStrings = (sql: string): string => sql.replace(/N?'(?:[^']|'')*'/g, "''");

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

/** The innermost parenthesised SELECT first, each replaced by a placeholder in its parent: one text per scope. */
function scopes(sql: string): string[] {
  const out: string[] = [];
  let text = sql;
  for (;;) {
    // Find an innermost "(SELECT …)" with no nested SELECT inside.
    let found: { start: number; end: number; body: string } | undefined;
    for (let i = 0; i < text.length; i++) {
      if (text[i] !== '(') continue;
      if (!/^\(\s*SELECT\b/i.test(text.slice(i, i + 20))) continue;
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '(') depth++;
        if (text[j] === ')') depth--;
        if (depth === 0) break;
      }
      const body = text.slice(i + 1, j);
      if (/\(\s*SELECT\b/i.test(body)) continue;
      found = { start: i, end: j, body };
      break;
    }
    if (found === undefined) break;
    out.push(found.body);
    text = `${text.slice(0, found.start)}(__scope${out.length})${text.slice(found.end + 1)}`;
  }
  out.push(text);
  // Each branch of a UNION is a scope of its own.
  return out.flatMap((scope) => scope.split(/\bUNION(?:\s+ALL)?\b/i));
}

export function extract(sql: string, d: Dialect): Extracted {
  const clean = stripStrings(sql)
    .replace(/@@\w+/g, '0')
    .replace(/--[^\n]*/g, '');
  const aliases = new Map<string, Set<string>>();
  const objects = new Set<string>();
  const derived = new Set<string>();
  const columns: Extracted['columns'] = [];
  const unresolved: string[] = [];
  const items: Extracted['items'] = [];
  const outputAliases = new Set([...clean.matchAll(/\bAS\s+(\w+)/gi)].map((m) => m[1]!.toLowerCase()));
  for (const m of clean.matchAll(/\bWITH\s+(\w+)\s+AS\s*\(|,\s*(\w+)\s+AS\s*\(\s*SELECT/gi)) derived.add((m[1] ?? m[2])!.toLowerCase());

  const all = scopes(clean);
  const scopeObjects = all.map((scope) => {
    const found: string[] = [];
    for (const m of scope.matchAll(
      new RegExp(`\\b(?:FROM|JOIN|APPLY)\\s+${d.object.source}(?:\\s*\\((?:[^()]|\\([^()]*\\))*\\))?(?:\\s+(?:AS\\s+)?(\\w+))?`, 'gi'),
    )) {
      const name = d.normalise(m[1]!);
      const alias = m[2]?.toLowerCase();
      if (!d.isKnown(name)) {
        if (!derived.has(name.toLowerCase()) && !/^__scope/.test(m[1]!)) unresolved.push(`object ${m[1]}`);
        if (alias !== undefined && !KEYWORDS.has(alias.toUpperCase())) derived.add(alias);
        continue;
      }
      objects.add(name);
      found.push(name);
      if (alias !== undefined && !KEYWORDS.has(alias.toUpperCase())) aliases.set(alias, new Set([...(aliases.get(alias) ?? []), name]));
    }
    // A derived table: "(SELECT …) alias" / "(__scopeN) alias".
    for (const m of scope.matchAll(/\(__scope\d+\)\s+(?:AS\s+)?(\w+)/gi)) if (!KEYWORDS.has(m[1]!.toUpperCase())) derived.add(m[1]!.toLowerCase());
    return found;
  });

  all.forEach((scope, i) => {
    const own = scopeObjects[i]!;
    // Qualified references alias.column.
    for (const m of scope.matchAll(/\b(\w+)\.(\w+)\b(?!\s*\()/g)) {
      const [q, col] = [m[1]!.toLowerCase(), m[2]!.toLowerCase()];
      if (['sys', 'dbo', 'msdb', 'tempdb'].includes(q) || /^\d+$/.test(q)) continue;
      const objs = aliases.get(q);
      if (objs === undefined) {
        if (!derived.has(q)) unresolved.push(`${m[1]}.${m[2]}`);
        continue;
      }
      const owner = [...objs].find((o) => d.columnsOf(o).includes(col));
      if (owner === undefined) unresolved.push(`${m[1]}.${m[2]} (${[...objs].join('/')})`);
      else columns.push({ object: owner, column: col });
    }
    // Bare identifiers: attributable only in a scope that reads exactly one object.
    const bare = scope
      .replace(/\b\w+\.\w+\b/g, ' ')
      .replace(/\b(?:FROM|JOIN|APPLY)\s+\S+/gi, ' ')
      .replace(/\bAS\s+\w+/gi, ' ')
      .replace(/\b\w+\s*\(/g, '(')
      .replace(/\b0x[0-9a-f]+\b/gi, ' ');
    for (const m of bare.matchAll(/(?<![\w$#])([A-Za-z_][\w$#]*)(?![\w$#])/g)) {
      const id = m[1]!;
      const low = id.toLowerCase();
      if (KEYWORDS.has(id.toUpperCase()) || outputAliases.has(low) || aliases.has(low) || derived.has(low) || /^__scope\d+$/.test(id)) continue;
      if (own.length === 1 && d.columnsOf(own[0]!).includes(low)) columns.push({ object: own[0]!, column: low });
      else if (own.length === 1) unresolved.push(`${id} (${own[0]})`);
      else if (own.length > 1) {
        const owners = own.filter((o) => d.columnsOf(o).includes(low));
        if (owners.length === 1) columns.push({ object: owners[0]!, column: low });
        else unresolved.push(id);
      }
    }
  });

  // Output items of every SELECT list (outermost and nested), from the original text so literals survive.
  for (const sel of sql.matchAll(/\bSELECT\s+(?:TOP\s*\(\d+\)\s+)?([\s\S]+?)\s+FROM\s/gi)) {
    for (const item of splitTopLevel(sel[1]!)) {
      const a = /^([\s\S]+?)\s+AS\s+(\w+)$/i.exec(item.trim());
      if (a !== null) items.push({ alias: a[2]!.toLowerCase(), expr: a[1]! });
    }
  }
  return { objects: [...objects], columns, unresolved, items, derived: [...derived] };
}

/** Units an output alias declares by its suffix. */
export const ALIAS_UNITS: Array<[RegExp, string]> = [
  [/_kb_s$/, 'kb_s'],
  [/_us$/, 'us'],
  [/_ms$/, 'ms'],
  [/_(s|seconds)$/, 's'],
  [/_minutes$/, 'minutes'],
  [/_bytes$/, 'bytes'],
  [/_kb$/, 'kb'],
  [/_mb$/, 'mb'],
];
export const aliasUnit = (alias: string): string | undefined => ALIAS_UNITS.find(([re]) => re.test(alias))?.[1];

/** Each unit in a base (seconds, bytes, KB/s). */
export const UNIT_SCALE: Record<string, { dim: string; scale: number }> = {
  us: { dim: 'time', scale: 1e-6 },
  ms: { dim: 'time', scale: 1e-3 },
  cs: { dim: 'time', scale: 1e-2 },
  s: { dim: 'time', scale: 1 },
  minutes: { dim: 'time', scale: 60 },
  bytes: { dim: 'size', scale: 1 },
  kb: { dim: 'size', scale: 1024 },
  mb: { dim: 'size', scale: 1024 * 1024 },
  pages: { dim: 'size', scale: 8192 },
  kb_s: { dim: 'rate', scale: 1 },
};

/** The constant factor an expression applies: product of "* n" over "/ n". */
export function literalFactor(expr: string): number {
  let f = 1;
  for (const m of expr.matchAll(/([*/])\s*(\d+(?:\.\d+)?)(?![\w.])/g)) f = m[1] === '*' ? f * Number(m[2]) : f / Number(m[2]);
  return f;
}
