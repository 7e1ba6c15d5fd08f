import { loadModule, parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ALLOWED_FIELDS,
  ALLOWED_FUNCTIONS,
  ALLOWED_OPERATORS,
  ALLOWED_RELATIONS,
  ALLOWED_TYPES,
  assertReadOnlySql,
  loadPgGuard,
  ReadOnlyViolation,
} from '../../collectors/postgres/guard.js';
import { PG_ATTACKS } from '../helpers/pg-attacks.js';
import { allPgCatalogStatements } from '../helpers/pg-statements.js';

function refusal(sql: string): string | undefined {
  try {
    assertReadOnlySql(sql);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ReadOnlyViolation);
    return (e as Error).message;
  }
}

/** The names a statement uses, in the guard's terms (pg_catalog. stripped). */
function namesUsed(sql: string): Record<'functions' | 'operators' | 'types' | 'relations' | 'fields', Set<string>> {
  const used = {
    functions: new Set<string>(),
    operators: new Set<string>(),
    types: new Set<string>(),
    relations: new Set<string>(),
    fields: new Set<string>(),
  };
  const name = (l: Array<{ String?: { sval: string } }>): string =>
    l
      .map((x) => x.String?.sval ?? '')
      .filter((x, i, a) => !(i === 0 && a.length > 1 && x === 'pg_catalog'))
      .join('.');
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    for (const [k, c] of Object.entries(v as Record<string, any>)) {
      if (k === 'FuncCall') used.functions.add(name(c.funcname));
      if (k === 'A_Expr' && c.name) used.operators.add(name(c.name));
      if (k === 'TypeName' || k === 'typeName') used.types.add(name(c.names));
      if (k === 'RangeVar') used.relations.add(c.relname);
      if (k === 'ColumnRef') for (const f of c.fields.slice(1)) if (f.String) used.fields.add(f.String.sval);
      walk(c);
    }
  };
  walk(parseSync(sql));
  return used;
}

describe('PostgreSQL read-only guard (parse tree)', () => {
  let catalog: string[];
  beforeAll(async () => {
    await loadPgGuard();
    await loadModule();
    catalog = await allPgCatalogStatements();
  });

  it('every statement the catalog can send passes (all versions, all policies)', () => {
    expect(catalog.length).toBeGreaterThan(40);
    for (const sql of catalog) expect(refusal(sql), sql).toBeUndefined();
  });

  it('the allowlists hold exactly what the catalog uses, nothing more', () => {
    const used = {
      functions: new Set<string>(),
      operators: new Set<string>(),
      types: new Set<string>(),
      relations: new Set<string>(),
      fields: new Set<string>(),
    };
    for (const sql of catalog) {
      const u = namesUsed(sql);
      for (const k of Object.keys(used) as Array<keyof typeof used>) for (const n of u[k]) used[k].add(n);
    }
    expect([...ALLOWED_FUNCTIONS].sort()).toEqual([...used.functions].sort());
    expect([...ALLOWED_OPERATORS].sort()).toEqual([...used.operators].sort());
    expect([...ALLOWED_TYPES].sort()).toEqual([...used.types].sort());
    expect([...ALLOWED_RELATIONS].sort()).toEqual([...used.relations].sort());
    expect([...ALLOWED_FIELDS].sort()).toEqual([...used.fields].sort());
  });

  it.each([
    'SELECT 1',
    '  select now()  ;',
    'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
    'SHOW default_transaction_read_only',
    "SELECT 'delete from t; drop table x' AS harmless_literal",
    'SELECT $$ DROP TABLE x $$ AS dollar_literal',
    'SELECT 1 -- ; DROP TABLE x',
    "SELECT E'\\'; DROP TABLE x' AS escaped_literal",
    'SELECT count(*) FROM pg_stat_activity a WHERE a.datname = $1',
  ])('allows a read: %s', (sql) => {
    expect(refusal(sql)).toBeUndefined();
  });

  it('refuses every attack of the corpus, each for the reason of its class', () => {
    expect(PG_ATTACKS.length).toBeGreaterThanOrEqual(200);
    const passed = PG_ATTACKS.filter((a) => refusal(a.sql) === undefined);
    expect(passed).toEqual([]);
  });

  it.each([
    ['SELECT "pg_terminate_backend"(42)', /function pg_terminate_backend\(\) is not on the allowlist/],
    ['SELECT "pg_catalog"."set_config"(\'a\', \'b\', false)', /function pg_catalog\.set_config\(\)/],
    ['SELECT U&"\\0070g_sleep"(1)', /function pg_sleep\(\)/],
    ["SELECT E'\\''; COMMIT; BEGIN READ WRITE; CREATE TABLE pwned(a int)", /one statement at a time/],
    ['SELECT 1 AS a INTO pwned', /SELECT … INTO/],
    ['SELECT * FROM pg_class FOR UPDATE', /row locks/],
    ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', /DeleteStmt is not allowed/],
    ['SELECT (pid).pg_terminate_backend FROM pg_stat_activity', /A_Indirection is not allowed/],
    ['SELECT a.pg_terminate_backend FROM pg_stat_activity a', /column pg_terminate_backend/],
    ['SELECT * FROM app.users', /relation app\.users/],
    ['SELECT rolpassword FROM pg_authid', /relation pg_authid/],
    ['SELECT 1 OPERATOR(public.+) 1', /operator public\.\+/],
    ["SELECT '1'::public.evil", /type public\.evil/],
    ['SET default_transaction_read_only = off', /only SELECT or SHOW/],
    ["SELECT 'unterminated", /does not parse/],
    // Quoted, the schema keeps its case: "PG_CATALOG" is not pg_catalog.
    ['SELECT "PG_CATALOG"."now"()', /function PG_CATALOG\.now is not on the allowlist/],
    ['SELECT "NOW"()', /function NOW\(\)/],
  ])('refuses %s', (sql, why) => {
    expect(refusal(sql)).toMatch(why);
  });

  it('refuses everything while the parser is not loaded (fails closed)', async () => {
    // A fresh module instance: its parser has not been loaded yet.
    vi.resetModules();
    const fresh = await import('../../collectors/postgres/guard.js');
    expect(() => fresh.assertReadOnlySql('SELECT 1')).toThrow(/parser is not loaded/);
  });
});
