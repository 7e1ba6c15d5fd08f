// Every statement the PostgreSQL collector can send: each signal of the catalog, the
// identity report and the checklist, run against a recording stand-in for PgSession
// across the server versions and the policies that change the SQL text.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATEGORIES, type Category } from '../../collectors/core/category.js';
import type { ReadContext } from '../../collectors/core/policy.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { pgChecklist, pgIdentity } from '../../collectors/postgres/grants.js';
import type { PgSession } from '../../collectors/postgres/session.js';
import { PG_OPEN_SQL } from '../../collectors/postgres/session.js';

/** Server versions whose SQL differs in the catalog (12 is the oldest supported). */
export const PG_VERSIONS = [120000, 130000, 140000, 150000, 160000, 170000, 180000] as const;

/** A row that answers every column: strings where the catalog expects a name, true elsewhere. */
function anyRow(): Record<string, unknown> {
  return new Proxy(
    {},
    {
      get: (_t, key) => (key === 'schema' || key === 'user' || key === 'rolname' || key === 'name' ? 'public' : key === 'then' ? undefined : true),
    },
  );
}

/**
 * Every word of the PostgreSQL collector's sources, as column names: a server that has
 * every column the catalog might ask pg_attribute about, so the SQL with every optional
 * (version-dependent) column present is recorded too.
 */
const EVERY_COLUMN: string[] = (() => {
  const dir = fileURLToPath(new URL('../../collectors/postgres/', import.meta.url));
  const words = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')))
    for (const w of readFileSync(join(dir, f), 'utf8').match(/[a-z_][a-z0-9_]*/g) ?? []) words.add(w);
  return [...words];
})();

function recorder(versionNum: number, rows: 'empty' | 'one' | 'every_column', sent: Set<string>): PgSession {
  const fake = {
    versionNum,
    isClosed: false,
    async query(sql: string): Promise<unknown[]> {
      sent.add(sql);
      if (rows === 'every_column' && /pg_attribute/.test(sql)) return EVERY_COLUMN.map((attname) => ({ attname }));
      return rows === 'empty' ? [] : [anyRow()];
    },
    // Asks every time: the recorder wants every statement a signal can send, not a transaction's memory.
    factOfTransaction: <T>(_key: string, ask: () => Promise<T>): Promise<T> => ask(),
    async close() {},
  };
  return fake as unknown as PgSession;
}

function contexts(): ReadContext[] {
  const all: ReadContext[] = [{ policy: {} as ReadContext['policy'], excluded: () => false }];
  for (const c of CATEGORIES) all.push({ policy: {} as ReadContext['policy'], excluded: (x: Category) => x === c });
  all.push({ policy: {} as ReadContext['policy'], excluded: () => true });
  return all;
}

/** The distinct statement texts, sorted. */
export async function allPgCatalogStatements(): Promise<string[]> {
  const sent = new Set<string>([PG_OPEN_SQL]);
  for (const v of PG_VERSIONS) {
    for (const rows of ['empty', 'one', 'every_column'] as const) {
      const s = recorder(v, rows, sent);
      for (const ctx of contexts()) {
        for (const signal of postgresCatalog) await signal.read(s, ctx).catch(() => undefined);
      }
      await pgIdentity(s).catch(() => undefined);
      await pgChecklist(s).catch(() => undefined);
    }
  }
  return [...sent].sort();
}
