// The pool's own rules, with scripted sessions: the cap (least recently used
// first), what is never kept (an unclean cycle, a session that cannot be reused,
// one whose re-verification fails), and a changed password.
import { describe, expect, it } from 'vitest';
import type { TargetMemory } from '../../collectors/core/memory.js';
import type { ReusableSession } from '../../collectors/core/session-lease.js';
import { TargetSchema, type Target } from '../../collectors/target.js';
import { type PoolEvent, SessionPool } from '../../agent/run/session-pool.js';

class FakeSession implements ReusableSession {
  static opened = 0;
  readonly n = ++FakeSession.opened;
  isClosed = false;
  verifies = true;
  begun = 0;
  async beginCycle(_memory: TargetMemory | undefined): Promise<void> {
    this.begun++;
    if (!this.verifies) {
      await this.close();
      throw new Error('read-only state changed');
    }
  }
  async endCycle(): Promise<void> {}
  async close(): Promise<void> {
    this.isClosed = true;
  }
}

const target = (id: string): Target => TargetSchema.parse({ id, engine: 'postgres', host: 'db', port: 5432, user: 'monitor', database: 'app' });

async function cycle(pool: SessionPool, t: Target, opts: { password?: string; clean?: boolean; make?: () => FakeSession } = {}) {
  const lease = pool.lease();
  const s = (await lease.acquire(t, opts.password, async () => (opts.make ?? (() => new FakeSession()))(), undefined)) as FakeSession;
  await lease.release(t, s, opts.clean ?? true);
  return s;
}

describe('session pool rules', () => {
  it('holds at most maxOpen sessions: the least recently used goes first', async () => {
    const events: PoolEvent[] = [];
    const pool = new SessionPool({ maxOpen: 2, onEvent: (e) => events.push(e) });
    const [a, b, c] = [target('a'), target('b'), target('c')];
    const sa = await cycle(pool, a);
    const sb = await cycle(pool, b);
    expect(await cycle(pool, a)).toBe(sa); // a is now the most recently used
    const sc = await cycle(pool, c);
    expect(pool.size).toBe(2);
    expect(sb.isClosed).toBe(true);
    expect(sa.isClosed).toBe(false);
    expect(sc.isClosed).toBe(false);
    expect(events.filter((e) => e.kind === 'closed')).toEqual([{ kind: 'closed', targetId: 'b', reason: 'evicted' }]);
    await pool.closeAll();
    expect([sa, sc].every((s) => s.isClosed)).toBe(true);
  });

  it('never keeps a session from an unclean cycle, one that cannot be reused, or one whose verification fails', async () => {
    const pool = new SessionPool();
    const t = target('t');
    const unclean = await cycle(pool, t, { clean: false });
    expect(unclean.isClosed).toBe(true);
    const oneShot = { isClosed: false, close: async () => void (oneShot.isClosed = true) };
    const lease = pool.lease();
    await lease.acquire(t, undefined, async () => oneShot, undefined);
    await lease.release(t, oneShot, true);
    expect(oneShot.isClosed).toBe(true);
    const s1 = await cycle(pool, t);
    s1.verifies = false;
    const s2 = await cycle(pool, t);
    expect(s2).not.toBe(s1);
    expect(s1.isClosed).toBe(true);
    expect(s1.begun).toBe(1);
    expect(pool.stats().closed).toEqual({ unclean_cycle: 1, not_reusable: 1, verify_failed: 1 });
    await pool.closeAll();
  });

  it('a new password means a new session; the one logged in with the old password is closed', async () => {
    const pool = new SessionPool();
    const t = target('t');
    const old = await cycle(pool, t, { password: 'old' });
    expect(await cycle(pool, t, { password: 'old' })).toBe(old);
    const fresh = await cycle(pool, t, { password: 'new' });
    expect(fresh).not.toBe(old);
    expect(old.isClosed).toBe(true);
    expect(pool.stats().closed).toEqual({ config_changed: 1 });
    await pool.closeAll();
  });

  it('after shutdown nothing is pooled: a cycle still running closes its session when it ends', async () => {
    const pool = new SessionPool();
    const t = target('t');
    const lease = pool.lease();
    const s = (await lease.acquire(t, undefined, async () => new FakeSession(), undefined)) as FakeSession;
    await pool.closeAll();
    expect(s.isClosed).toBe(true);
    await lease.release(t, s, true);
    expect(pool.size).toBe(0);
  });
});
