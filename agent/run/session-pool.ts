/**
 * Sessions that live across cycles: one per target, kept between its cycles so a
 * short interval does not cost a login (and a server backend) every time.
 *
 * What a pooled session must survive before it is used again (SessionLease):
 * - it is re-verified at the start of every cycle (ReusableSession.beginCycle: a
 *   round trip plus the read-only check from the server's own answer); a session
 *   that fails it is closed and a new, verified one opened in the same cycle;
 * - it is closed, never kept, when its cycle saw a statement timeout or an error,
 *   when its cycle was abandoned (the scheduler's timeout, the target removed),
 *   when the target's configuration or password changed, when it stayed idle
 *   longer than `idleMs`, when the pool is over `maxOpen` (least recently used
 *   first), and on shutdown (closeAll);
 * - engines whose sessions are not reusable (no beginCycle/endCycle) keep the
 *   open-and-close behaviour: the pool closes them at the end of the cycle.
 */
import { createHash } from 'node:crypto';
import type { ClosableSession } from '../../collectors/core/engine.js';
import type { TargetMemory } from '../../collectors/core/memory.js';
import { isReusable, type ReusableSession, type SessionLease } from '../../collectors/core/session-lease.js';
import type { Target } from '../../collectors/target.js';

/** Open sessions (pooled and in use) one agent keeps at most, over all targets. */
export const DEFAULT_MAX_OPEN_SESSIONS = 1000;
/** A pooled session unused for longer than this is closed (and the next cycle logs in again). */
export const DEFAULT_SESSION_IDLE_MS = 5 * 60_000;

export type CloseReason =
  'idle' | 'evicted' | 'config_changed' | 'verify_failed' | 'unclean_cycle' | 'abandoned' | 'not_reusable' | 'end_failed' | 'dropped' | 'shutdown';

export type PoolEvent =
  { kind: 'opened'; targetId: string } | { kind: 'reused'; targetId: string } | { kind: 'closed'; targetId: string; reason: CloseReason; error?: string };

export interface SessionPoolOptions {
  maxOpen?: number;
  idleMs?: number;
  now?: () => number;
  onEvent?(e: PoolEvent): void;
}

export interface SessionPoolStats {
  open: number;
  idle: number;
  inUse: number;
  opened: number;
  reused: number;
  closed: Partial<Record<CloseReason, number>>;
}

interface IdleEntry {
  session: ReusableSession;
  fingerprint: string;
  lastUsed: number;
}

interface InUse {
  targetId: string;
  fingerprint: string;
}

/** What identifies a session's configuration: the whole target and (a digest of) its password. */
function fingerprintOf(target: Target, password: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify(target))
    .update('\0')
    .update(password === undefined ? '\u0001' : `\u0002${password}`)
    .digest('hex');
}

export class SessionPool {
  readonly maxOpen: number;
  readonly idleMs: number;
  private readonly now: () => number;
  /** Idle sessions by target id; Map order is least recently used first. */
  private readonly idle = new Map<string, IdleEntry>();
  private readonly inUse = new Map<ClosableSession, InUse>();
  private readonly counters = { opened: 0, reused: 0, closed: {} as Partial<Record<CloseReason, number>> };
  private readonly sweeper: NodeJS.Timeout;
  private shut = false;

  constructor(private readonly opts: SessionPoolOptions = {}) {
    this.maxOpen = opts.maxOpen ?? DEFAULT_MAX_OPEN_SESSIONS;
    this.idleMs = opts.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    if (!(Number.isInteger(this.maxOpen) && this.maxOpen >= 0)) throw new RangeError('maxOpen must be a non-negative integer');
    if (!(this.idleMs > 0)) throw new RangeError('idleMs must be positive');
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(50, Math.min(this.idleMs / 2, 10_000)));
    this.sweeper.unref();
  }

  /**
   * A lease for one cycle. When `signal` aborts (the cycle timed out or its target
   * was removed), the session it holds is closed at once: an abandoned cycle never
   * leaves its session to the next one.
   */
  lease(signal?: AbortSignal): SessionLease {
    const held = new Set<ClosableSession>();
    const onAbort = (): void => {
      for (const s of held) {
        const info = this.inUse.get(s);
        this.inUse.delete(s);
        void this.closeSession(info?.targetId ?? '?', s, 'abandoned');
      }
      held.clear();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      acquire: async (target, password, open, memory) => {
        const session = await this.acquire(target, password, open, memory);
        if (signal?.aborted) {
          this.inUse.delete(session);
          await this.closeSession(target.id, session, 'abandoned');
          throw new Error(`${target.id}: the cycle was abandoned`);
        }
        held.add(session);
        return session;
      },
      release: async (target, session, clean) => {
        held.delete(session);
        if (held.size === 0) signal?.removeEventListener('abort', onAbort);
        await this.release(target, session, clean && signal?.aborted !== true);
      },
    };
  }

  /** Sessions open now, pooled or in use. */
  get size(): number {
    return this.idle.size + this.inUse.size;
  }

  stats(): SessionPoolStats {
    return { open: this.size, idle: this.idle.size, inUse: this.inUse.size, ...this.counters, closed: { ...this.counters.closed } };
  }

  private async acquire(target: Target, password: string | undefined, open: () => Promise<ClosableSession>, memory: TargetMemory | undefined) {
    const fingerprint = fingerprintOf(target, password);
    const pooled = this.idle.get(target.id);
    if (pooled !== undefined) {
      this.idle.delete(target.id);
      const { session } = pooled;
      if (pooled.fingerprint !== fingerprint) await this.closeSession(target.id, session, 'config_changed');
      else if (this.now() - pooled.lastUsed > this.idleMs) await this.closeSession(target.id, session, 'idle');
      else if (session.isClosed) await this.closeSession(target.id, session, 'dropped');
      else {
        this.inUse.set(session, { targetId: target.id, fingerprint });
        try {
          // The gate of every reuse: alive, and still read-only by the server's own answer.
          await session.beginCycle(memory);
          this.counters.reused++;
          this.opts.onEvent?.({ kind: 'reused', targetId: target.id });
          return session;
        } catch (err) {
          this.inUse.delete(session);
          await this.closeSession(target.id, session, 'verify_failed', err);
        }
      }
    }
    // Room for one more: the least recently used idle sessions go first.
    while (this.size >= this.maxOpen && this.idle.size > 0) this.evictOldest();
    const session = await open();
    this.counters.opened++;
    this.opts.onEvent?.({ kind: 'opened', targetId: target.id });
    this.inUse.set(session, { targetId: target.id, fingerprint });
    return session;
  }

  private async release(target: Target, session: ClosableSession, clean: boolean): Promise<void> {
    const info = this.inUse.get(session);
    // Closed already (abandoned, shutdown): nothing to give back.
    if (info === undefined) return session.close().catch(() => {});
    this.inUse.delete(session);
    if (this.shut) return this.closeSession(target.id, session, 'shutdown');
    if (!isReusable(session)) return this.closeSession(target.id, session, 'not_reusable');
    if (!clean) return this.closeSession(target.id, session, 'unclean_cycle');
    if (session.isClosed) return this.closeSession(target.id, session, 'dropped');
    try {
      await session.endCycle();
    } catch (err) {
      return this.closeSession(target.id, session, 'end_failed', err);
    }
    // The pool may have been shut while the cycle ended.
    if (this.shut) return this.closeSession(target.id, session, 'shutdown');
    const previous = this.idle.get(target.id);
    if (previous !== undefined) {
      this.idle.delete(target.id);
      await this.closeSession(target.id, previous.session, 'evicted');
    }
    this.idle.set(target.id, { session, fingerprint: info.fingerprint, lastUsed: this.now() });
    while (this.size > this.maxOpen && this.idle.size > 0) this.evictOldest();
  }

  private evictOldest(): void {
    const first = this.idle.entries().next();
    if (first.done === true) return;
    const [id, entry] = first.value;
    this.idle.delete(id);
    void this.closeSession(id, entry.session, 'evicted');
  }

  /** Closes the pooled session of a target (removed, or its configuration changed). */
  forget(targetId: string): void {
    const entry = this.idle.get(targetId);
    if (entry === undefined) return;
    this.idle.delete(targetId);
    void this.closeSession(targetId, entry.session, 'config_changed');
  }

  /** Closes the sessions idle for longer than idleMs (runs on a timer; callable by tests). */
  closeIdle(): void {
    const now = this.now();
    for (const [id, entry] of this.idle) {
      if (now - entry.lastUsed <= this.idleMs && !entry.session.isClosed) continue;
      this.idle.delete(id);
      void this.closeSession(id, entry.session, entry.session.isClosed ? 'dropped' : 'idle');
    }
  }

  /** Closes every session, pooled or in use; later releases close theirs. Used on shutdown. */
  async closeAll(): Promise<void> {
    this.shut = true;
    clearInterval(this.sweeper);
    const closing: Promise<void>[] = [];
    for (const [id, entry] of this.idle) closing.push(this.closeSession(id, entry.session, 'shutdown'));
    this.idle.clear();
    for (const [session, info] of this.inUse) closing.push(this.closeSession(info.targetId, session, 'shutdown'));
    this.inUse.clear();
    await Promise.all(closing);
  }

  private async closeSession(targetId: string, session: ClosableSession, reason: CloseReason, err?: unknown): Promise<void> {
    this.counters.closed[reason] = (this.counters.closed[reason] ?? 0) + 1;
    this.opts.onEvent?.({ kind: 'closed', targetId, reason, ...(err === undefined ? {} : { error: err instanceof Error ? err.message : String(err) }) });
    await session.close().catch(() => {});
  }
}
