// A rejected password is not retried every interval: the target backs off
// exponentially (interval → 1 h), so a server that locks accounts after a few
// failed logins (Oracle's DEFAULT profile: 10) never locks the monitoring account.
// The RunLoop is driven for 30 s of fake time at a 1 s interval with a counting
// fake of the collection; success, a config change and the operator's retry reset it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TargetConnectError } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { AUTH_BACKOFF_MAX_MS, authBackoffMs, RunLoop } from '../../agent/run/run-loop.js';
import { EventEmitter } from 'node:events';
import type { TargetOperations } from '../../agent/target-operations.js';

afterEach(() => vi.useRealTimers());

const AGENT = { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'test' };
const target = (id: string, extra: Record<string, unknown> = {}): Target =>
  TargetSchema.parse({ id, engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'monitor', database: 'app', ...extra });

/** Counts login attempts per target; `rejects` says whose password the fake server refuses. */
function countingOps(rejects: Set<string>) {
  const attempts = new Map<string, number>();
  const cycles = new EventEmitter<{ cycle: [CycleResult] }>();
  const ops = {
    cycles,
    healthOf: () => ({ state: 'ok' as const }),
    async collect(t: Target): Promise<CycleResult> {
      attempts.set(t.id, (attempts.get(t.id) ?? 0) + 1);
      const payload: PayloadV1 = {
        schema: 'logstag.payload/v1',
        agent: AGENT,
        target: { id: t.id, engine: t.engine, name: t.id },
        collectedAt: new Date().toISOString(),
        signals: [],
      };
      const result: CycleResult = {
        payload,
        annotations: [],
        policy: resolvePolicy(),
        durationMs: 1,
        commitMemory: async () => {},
        ...(rejects.has(t.id)
          ? {
              connectError: new TargetConnectError(
                'authentication',
                `127.0.0.1:5432: authentication failed (password authentication failed for user "monitor")`,
              ),
            }
          : {}),
      };
      cycles.emit('cycle', result);
      return result;
    },
  };
  return { ops: ops as unknown as TargetOperations, attempts };
}

describe('authentication back-off', () => {
  it('doubles from the interval up to an hour', () => {
    expect([1, 2, 3, 4, 5].map((n) => authBackoffMs(1000, n))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(authBackoffMs(60_000, 7)).toBe(AUTH_BACKOFF_MAX_MS);
    expect(authBackoffMs(60_000, 10_000)).toBe(AUTH_BACKOFF_MAX_MS);
  });

  it('30 s at a 1 s interval with a wrong password: a handful of login attempts, reported as credentials rejected; the good target keeps every tick', async () => {
    vi.useFakeTimers();
    const rejects = new Set(['wrong-pw']);
    const { ops, attempts } = countingOps(rejects);
    const loop = new RunLoop({ ops, deliver: async () => ({}), policy: () => undefined, now: () => Date.now() });
    loop.plan([
      { target: target('wrong-pw'), intervalSeconds: 1 },
      { target: target('good'), intervalSeconds: 1 },
    ]);
    await vi.advanceTimersByTimeAsync(30_000);
    // Attempts at 0, 1, 3, 7, 15 s (and 31 s, past the window): without the back-off, 31.
    expect(attempts.get('wrong-pw')).toBeLessThanOrEqual(6);
    expect(attempts.get('wrong-pw')).toBeGreaterThanOrEqual(3);
    expect(attempts.get('good')).toBeGreaterThanOrEqual(29);
    const problem = loop.problemOf('wrong-pw');
    expect(problem?.kind).toBe('credentials');
    expect(problem?.message).toMatch(/^credentials rejected \(\d+ time\(s\) in a row; next login attempt in \d+ s\): .*authentication failed/);
    expect(loop.problemOf('good')).toBeUndefined();

    // The operator fixes the password: a changed target is tried at once and collected on its interval again.
    rejects.delete('wrong-pw');
    const before = attempts.get('wrong-pw')!;
    loop.plan([
      { target: target('wrong-pw', { password: { env: 'FIXED' } }), intervalSeconds: 1 },
      { target: target('good'), intervalSeconds: 1 },
    ]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(attempts.get('wrong-pw')! - before).toBeGreaterThanOrEqual(5);
    expect(loop.problemOf('wrong-pw')).toBeUndefined();
    await loop.stop();
  });

  it('resetAuthBackoff lets the next tick try again', async () => {
    vi.useFakeTimers();
    const { ops, attempts } = countingOps(new Set(['t']));
    const loop = new RunLoop({ ops, deliver: async () => ({}), policy: () => undefined, now: () => Date.now() });
    loop.plan([{ target: target('t'), intervalSeconds: 1 }]);
    await vi.advanceTimersByTimeAsync(20_000);
    const held = attempts.get('t')!;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts.get('t')).toBe(held);
    loop.resetAuthBackoff('t');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts.get('t')).toBe(held + 1);
    await loop.stop();
  });
});
