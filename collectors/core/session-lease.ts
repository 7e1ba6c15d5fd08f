import type { ClosableSession } from './engine.js';
import type { TargetMemory } from './memory.js';
import type { TargetBase as Target } from './target.js';

/**
 * A session that can serve more than one collection cycle. Between cycles it
 * holds no transaction and runs nothing; `beginCycle` is the gate every later
 * cycle passes before any signal runs:
 *
 * - one round trip to the server (a dead connection, a killed backend fails here);
 * - the read-only state verified again from the server's own answer (PostgreSQL:
 *   a new READ ONLY transaction whose first statement checks transaction_read_only
 *   and default_transaction_read_only, exactly as at connect).
 *
 * Any doubt makes beginCycle throw, and the session closes itself: a pool never
 * hands out a session whose verification did not pass. `endCycle` leaves the
 * session idle (PostgreSQL: ends the transaction, so the next cycle reads fresh
 * statistics rather than the cached snapshot of the last one).
 */
export interface ReusableSession extends ClosableSession {
  /** Verifies the session again and takes this cycle's per-target state; throws (closed) on any doubt. */
  beginCycle(memory: TargetMemory | undefined): Promise<void>;
  /** Ends the cycle; throws (closed) when the session cannot be left in a clean idle state. */
  endCycle(): Promise<void>;
  readonly isClosed: boolean;
}

export function isReusable(session: ClosableSession): session is ReusableSession {
  const s = session as Partial<ReusableSession>;
  return typeof s.beginCycle === 'function' && typeof s.endCycle === 'function' && typeof s.isClosed === 'boolean';
}

/**
 * Where a cycle gets its session from (CycleDeps.sessions). Without one, a cycle
 * opens a session and closes it at its end (preview, `collect --once`, checks).
 */
export interface SessionLease {
  /**
   * A session for one cycle of `target`: a pooled one that passed beginCycle, or
   * a new one from `open`. Throws what `open` throws.
   */
  acquire(target: Target, password: string | undefined, open: () => Promise<ClosableSession>, memory: TargetMemory | undefined): Promise<ClosableSession>;
  /**
   * Gives the session back at the end of the cycle. `clean` is false when the cycle
   * saw anything that casts doubt on the session (a statement timeout, an error):
   * the session is then closed, never kept for the next cycle.
   */
  release(target: Target, session: ClosableSession, clean: boolean): Promise<void>;
}
