import { SignalUnavailable } from '../core/signal.js';
import type { PgSession } from './session.js';

/**
 * What the server's statistics views look like, asked of the server itself (pg_attribute,
 * readable by every role) rather than guessed from its version number: a view added in a
 * later release, a column dropped or renamed by one, or an extension whose installed SQL
 * version is older than its library all show up here as they really are.
 */
export type RelationColumns = ReadonlySet<string>;

/** Asked once per session and relation: several signals read the same view in one cycle. */
const asked = new WeakMap<PgSession, Map<string, Promise<RelationColumns | undefined>>>();

/** The columns of `schema.relation`, or undefined when this server has no such relation. */
export function relationColumns(s: PgSession, schema: string, relation: string): Promise<RelationColumns | undefined> {
  let bySession = asked.get(s);
  if (bySession === undefined) asked.set(s, (bySession = new Map()));
  const key = `${schema}\u0000${relation}`;
  let answer = bySession.get(key);
  if (answer === undefined) {
    answer = readColumns(s, schema, relation);
    // A failed lookup (timeout, lost connection) is not remembered as an answer.
    answer.catch(() => bySession.delete(key));
    bySession.set(key, answer);
  }
  return answer;
}

async function readColumns(s: PgSession, schema: string, relation: string): Promise<RelationColumns | undefined> {
  const rows = await s.query<{ attname: string }>(
    `SELECT a.attname
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, relation],
  );
  return rows.length === 0 ? undefined : new Set(rows.map((r) => r.attname));
}

/** "18.1" from server_version_num 180001, "9.6.24" style numbers from before 10 as "9.6". */
export function pgVersionName(versionNum: number): string {
  const major = Math.floor(versionNum / 10000);
  return major >= 10 ? `${major}.${versionNum % 10000}` : `${major}.${Math.floor(versionNum / 100) % 100}`;
}

/**
 * The columns of a view the signal needs, or `unsupported` naming the server's version and
 * the release that added the view. Never an empty result that could pass for "nothing happened".
 */
export async function requireRelation(s: PgSession, schema: string, relation: string, addedIn: string): Promise<RelationColumns> {
  const cols = await relationColumns(s, schema, relation);
  if (cols === undefined) {
    throw new SignalUnavailable('unsupported', `${relation} does not exist on PostgreSQL ${pgVersionName(s.versionNum)}: it was added in ${addedIn}`);
  }
  return cols;
}

/**
 * The SQL that reads `column` cast to `type` where this server has it, and NULL of that type
 * where it does not: a counter a version lacks is null in the payload, never 0.
 */
export function ifPresent(cols: RelationColumns, column: string, type: string, expr = column): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`bad column name ${column}`);
  return cols.has(column) ? `(${expr})::${type}` : `NULL::${type}`;
}
