import { type GrantRef, SignalUnavailable } from '../core/signal.js';
import { GRANTS, grantStatement, LOG_SHIPPING_TABLES, logShippingGrant, PLATFORM_LABEL, type Platform, permissionFor, probeExpression } from './model.js';
import { nString } from './names.js';
import type { MssqlSession } from './session.js';

/** The probe expression of a grant reference on this server, or undefined when it does not apply. */
export function probeFor(s: MssqlSession, ref: GrantRef): string | undefined {
  if (ref === GRANTS.msdbLogShipping) {
    if (s.facts.platform === 'azure_sql_database') return undefined;
    return LOG_SHIPPING_TABLES.map((t) => `HAS_PERMS_BY_NAME(${nString(`msdb.dbo.${t}`)}, N'OBJECT', N'SELECT')`).join(' & ');
  }
  const p = permissionFor(ref, s.facts);
  return p === undefined ? undefined : probeExpression(p);
}

export function fixFor(s: MssqlSession, ref: GrantRef): string | undefined {
  if (ref === GRANTS.msdbLogShipping) return logShippingGrant(s.facts.login);
  const p = permissionFor(ref, s.facts);
  return p === undefined ? undefined : grantStatement(p, s.facts);
}

export function permissionName(s: MssqlSession, ref: GrantRef): string {
  if (ref === GRANTS.msdbLogShipping) return 'SELECT on msdb log shipping monitor tables';
  return permissionFor(ref, s.facts)?.name ?? ref;
}

/** Answers several probes in one statement and caches them for the session. */
export async function probe(s: MssqlSession, refs: readonly GrantRef[]): Promise<Map<GrantRef, boolean>> {
  const todo = refs.filter((r) => !s.probeCache.has(r) && probeFor(s, r) !== undefined);
  if (todo.length > 0) {
    const cols = todo.map((r, i) => `${probeFor(s, r)!} AS p${i}`).join(',\n       ');
    const [row] = await s.query<Record<string, number | null>>(`SELECT ${cols}`);
    // NULL means "not applicable or not visible": never counted as granted.
    todo.forEach((r, i) => s.probeCache.set(r, row?.[`p${i}`] === 1));
  }
  return new Map(refs.map((r) => [r, s.probeCache.get(r) ?? true]));
}

/**
 * SQL Server does not always refuse what it hides: without VIEW SERVER STATE the
 * session DMVs return only the agent's own session, and without VIEW ANY DEFINITION
 * catalog views return only what the login owns. So every signal that depends on a
 * permission checks it positively first and reports `permission` with the exact
 * GRANT instead of passing a partial answer off as the whole.
 */
export async function requireGrants(s: MssqlSession, refs: readonly GrantRef[], what: string): Promise<void> {
  const held = await probe(s, refs);
  const missing = refs.filter((r) => held.get(r) === false);
  if (missing.length === 0) return;
  const names = missing.map((r) => permissionName(s, r));
  throw new SignalUnavailable(
    'permission',
    `${what} need${names.length > 1 ? '' : 's'} ${names.join(' and ')}; without it SQL Server returns a partial answer or refuses`,
    missing.map((r) => fixFor(s, r)!).join('\n'),
  );
}

/** For signals that exist only on some platforms (e.g. server logins are not visible from an Azure SQL database). */
export function requirePlatform(s: MssqlSession, allowed: readonly Platform[], what: string): void {
  if (!allowed.includes(s.facts.platform)) {
    throw new SignalUnavailable('unsupported', `${what}: not available on ${PLATFORM_LABEL[s.facts.platform]}`);
  }
}
