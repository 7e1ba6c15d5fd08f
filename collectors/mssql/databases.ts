import { SqlServerError } from './errors.js';
import { GRANTS } from './model.js';
import { nString, quoteName } from './names.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';

/** Cap on databases read per cycle, so one instance with hundreds of databases cannot stretch a cycle. */
export const MAX_DATABASES = 50;

/**
 * The databases whose metadata the agent reads: the monitored database, plus every
 * online user database the login can enter (CONNECT ANY DATABASE or a user there).
 * Azure SQL Database has no cross-database queries: only the connected one.
 */
export async function monitoredDatabases(s: MssqlSession): Promise<string[]> {
  if (s.facts.platform === 'azure_sql_database') return [s.facts.database];
  // Without VIEW ANY DATABASE sys.databases lists only master, tempdb and the databases the login
  // owns ("sys.databases", Permissions), so the list would silently shrink: refuse instead.
  await requireGrants(s, [GRANTS.viewAnyDatabase], 'the list of databases to read');
  const rows = await s.query<{ name: string }>(
    `SELECT TOP (${MAX_DATABASES}) name
       FROM sys.databases
      WHERE state = 0 AND (database_id > 4 OR name = DB_NAME()) AND HAS_DBACCESS(name) = 1
      ORDER BY CASE WHEN name = DB_NAME() THEN 0 ELSE 1 END, name`,
  );
  return rows.map((r) => r.name);
}

/** Server messages that mean "this database cannot be read right now" (offline, restoring, unreadable AG secondary). */
const UNREADABLE_DATABASE = new Set([942, 943, 945, 952, 976, 978, 983, 40613]);

/**
 * Runs one per-database statement against each monitored database (three-part
 * names, no USE: the session never changes context). A database that cannot be
 * read right now is skipped (sys.databases reports its state); any other error,
 * permissions first of all, fails the whole signal.
 */
export async function perDatabase<R extends object>(s: MssqlSession, sql: (db: { ident: string; literal: string; name: string }) => string): Promise<R[]> {
  const out: R[] = [];
  for (const name of await monitoredDatabases(s)) {
    try {
      out.push(...(await s.query<R>(sql({ ident: quoteName(name), literal: nString(name), name }))));
    } catch (err) {
      if (err instanceof SqlServerError && err.messages.some((m) => UNREADABLE_DATABASE.has(m.number))) continue;
      throw err;
    }
  }
  return out;
}
