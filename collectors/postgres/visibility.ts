import { SignalUnavailable } from '../core/signal.js';
import { quoteIdent } from './quote.js';
import type { PgSession } from './session.js';

/**
 * PostgreSQL does not refuse statistics it hides: other users' rows come back with
 * NULL columns or '<insufficient privilege>'. So signals that show other users'
 * activity check positively that the role sees everything (pg_read_all_stats,
 * directly, through pg_monitor, or as superuser) and otherwise report permission.
 */
export async function needsAllStats(s: PgSession, what: string): Promise<void> {
  // The session's transaction answered it with its first statement (session.ts PG_OPEN_SQL); else it is asked here.
  const row =
    s.readAllStats ??
    (await s.query<{ full: boolean; user: string }>("SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS full, current_user AS user"))[0];
  if (row?.full !== true) {
    throw new SignalUnavailable(
      'permission',
      `${what} of other users are hidden from this role (PostgreSQL masks them without pg_read_all_stats)`,
      `GRANT pg_read_all_stats TO ${quoteIdent(row?.user ?? 'monitor')};`,
    );
  }
}
