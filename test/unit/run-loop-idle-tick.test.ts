// A target wakes at the common divisor of its interval and its families' periods
// (15 s interval beside 10 s activity: every 5 s). A tick on which nothing is due
// must end in the run loop, before the target's memory file is loaded (with
// query-statistics baselines it is hundreds of KB): the loop keeps each family's
// last-shipped time, a copy of what its cycles committed. Attacked: every family
// must still be read on its period, an unreachable target stays due every tick,
// and an edit or the operator's "collect now" reads every family again.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditSink } from '../../collectors/core/audit.js';
import { type ClosableSession, type EngineCollector, TargetConnectError } from '../../collectors/core/engine.js';
import { type JsonValue, StagedMemory, type TargetMemoryStore } from '../../collectors/core/memory.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import { type AnySignalSpec, defineSignal, type Family, unavailable } from '../../collectors/core/signal.js';
import { collectCycle, type CycleResult } from '../../collectors/cycle.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import { RunLoop } from '../../agent/run/run-loop.js';
import type { CollectOptions, TargetOperations } from '../../agent/target-operations.js';

afterEach(() => vi.useRealTimers());

type Session = ClosableSession & { down: boolean };
const spec = (id: string, family: Family) =>
  defineSignal<Session, { n: number }>({
    id,
    family,
    description: id,
    requires: [],
    shape: 'object',
    read: async () => [{ n: 1 }],
    fields: { n: null },
  });
const CATALOG = [spec('fake.activity', 'activity'), spec('fake.server', 'server_stats'), spec('fake.tables', 'schema')] as AnySignalSpec<Session>[];

function collector(server: { down: boolean }): EngineCollector<Session, Target> {
  return {
    engine: 'postgres',
    catalog: CATALOG,
    connect: async () => {
      if (server.down) throw new TargetConnectError('unreachable', 'connection refused');
      return { down: false, close: async () => {} };
    },
    mapSignalError: (e: unknown) => unavailable('error', String(e)),
    identity: async () => ({}) as never,
    checklist: async () => [],
    grantScript: () => '',
  } as unknown as EngineCollector<Session, Target>;
}

/** The memory "files", counting every load (what an idle tick must not do). */
class CountingStore implements TargetMemoryStore {
  readonly files = new Map<string, string>();
  loads = 0;
  async load(id: string): Promise<StagedMemory> {
    this.loads++;
    const f = this.files.get(id);
    return new StagedMemory(f === undefined ? {} : (JSON.parse(f) as Record<string, JsonValue>));
  }
  async commit(id: string, m: StagedMemory): Promise<void> {
    this.files.set(id, JSON.stringify(m.snapshot()));
  }
}

/** TargetOperations reduced to what the loop uses, around the real cycle (collectors/cycle.ts). */
function ops(store: CountingStore, server: { down: boolean }) {
  const cycles = new EventEmitter<{ cycle: [CycleResult] }>();
  const read: Array<{ at: number; families: readonly string[] }> = [];
  const audit: AuditSink = { record: () => {} };
  const o = {
    cycles,
    healthOf: () => ({ state: 'ok' as const }),
    async collect(t: Target, opts: CollectOptions): Promise<CycleResult> {
      const result = await collectCycle(t, {
        collector: collector(server),
        password: undefined,
        audit,
        agent: { id: 'a', version: '0.1.0', host: 'h' },
        policy: resolvePolicy(),
        nameKey: () => Promise.reject(new Error('no key')),
        memory: store,
        ...(opts.now === undefined ? {} : { now: opts.now }),
        ...(opts.slotAt === undefined ? {} : { slotAt: opts.slotAt }),
        ...(opts.intervalSeconds === undefined ? {} : { intervalSeconds: opts.intervalSeconds }),
        ...(opts.allDue === true ? { allDue: true } : {}),
      });
      if (!result.idle) {
        read.push({ at: opts.now!.getTime(), families: result.payload.families ?? [] });
        cycles.emit('cycle', result);
      }
      return result;
    },
  };
  return { ops: o as unknown as TargetOperations, read };
}

const T0 = Date.parse('2026-03-01T00:00:00Z');
const target = (extra: Record<string, unknown> = {}): Target =>
  TargetSchema.parse({ id: 'pg', engine: 'postgres', host: 'db', port: 5432, user: 'm', database: 'app', ...extra });

describe('run loop: a tick with nothing due', () => {
  it('does not load the memory file, and every family is still read on its period', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new CountingStore();
    const { ops: o, read } = ops(store, { down: false });
    const loop = new RunLoop({ ops: o, deliver: async () => ({}), policy: () => undefined, sessions: false, now: () => Date.now() });
    loop.plan([{ target: target(), intervalSeconds: 15 }]);
    await vi.advanceTimersByTimeAsync(60_000 + 100);
    await loop.stop();
    // Ticks every 5 s at 0..60 s: 13. Cycles with something due: 0 (all), 10, 15, 20, 30, 40, 45, 50, 60.
    const at = read.map((r) => Math.round((r.at - T0) / 1000));
    expect(at).toEqual([0, 10, 15, 20, 30, 40, 45, 50, 60]);
    expect(read.find((r) => r.at === T0 + 15_000)!.families).toContain('server_stats');
    expect(read.find((r) => r.at === T0 + 15_000)!.families).not.toContain('activity');
    expect(read.find((r) => r.at === T0 + 30_000)!.families).toEqual(expect.arrayContaining(['activity', 'server_stats']));
    // One load per cycle that read something, none for the four ticks with nothing due (5, 25, 35, 55 s).
    expect(store.loads).toBe(read.length);
    expect(loop.idleTickCount).toBe(4);
  });

  it('an unreachable target stays due: every tick tries again (nothing was shipped)', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new CountingStore();
    const server = { down: false };
    const { ops: o, read } = ops(store, server);
    const loop = new RunLoop({ ops: o, deliver: async () => ({}), policy: () => undefined, sessions: false, now: () => Date.now() });
    loop.plan([{ target: target(), intervalSeconds: 15 }]);
    await vi.advanceTimersByTimeAsync(1_000);
    server.down = true;
    await vi.advanceTimersByTimeAsync(30_000);
    await loop.stop();
    // Down from 1 s: at 5 s nothing is due yet (activity shipped at 0), then 10, 15, 20, 25, 30 all try again.
    const at = read.map((r) => Math.round((r.at - T0) / 1000));
    expect(at).toEqual([0, 10, 15, 20, 25, 30]);
  });

  it("an edited target and the operator's collect now read every family at once", async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new CountingStore();
    const { ops: o, read } = ops(store, { down: false });
    const loop = new RunLoop({ ops: o, deliver: async () => ({}), policy: () => undefined, sessions: false, now: () => Date.now() });
    loop.plan([{ target: target(), intervalSeconds: 15 }]);
    await vi.advanceTimersByTimeAsync(6_000);
    await loop.collectNow();
    expect(read.at(-1)!.families).toEqual(expect.arrayContaining(['activity', 'server_stats', 'schema']));
    const n = read.length;
    loop.plan([{ target: target({ name: 'renamed' }), intervalSeconds: 15 }]);
    await vi.advanceTimersByTimeAsync(10);
    expect(read.length).toBe(n + 1);
    expect(read.at(-1)!.families).toEqual(expect.arrayContaining(['activity', 'server_stats', 'schema']));
    await loop.stop();
  });
});

describe('run loop: missed intervals', () => {
  it('a tick that finds the previous cycle still running is missed only when something was due then', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new CountingStore();
    const { ops: o, read } = ops(store, { down: false });
    // The first cycle (every family) takes 7 s; the 10 s activity sample takes 6 s; the others are quick.
    const slow = new Map([
      [0, 7_000],
      [10, 6_000],
    ]);
    const base = o.collect.bind(o);
    (o as { collect: typeof base }).collect = async (t, opts) => {
      const at = Math.round((opts!.now!.getTime() - T0) / 1000);
      await new Promise((r) => setTimeout(r, slow.get(at) ?? 10));
      return base(t, opts);
    };
    const loop = new RunLoop({ ops: o, deliver: async () => ({}), policy: () => undefined, sessions: false, now: () => Date.now() });
    loop.plan([{ target: target(), intervalSeconds: 15 }]);
    await vi.advanceTimersByTimeAsync(31_000);
    const missed = loop.scheduleOf('pg')!.missedIntervals;
    await loop.stop();
    // Tick 5 s: the first cycle still runs, but it reads every family: nothing else was due then (not missed).
    // Tick 15 s: the 10 s sample still runs and the interval families were due: missed (read at 20 s instead).
    expect(read.map((r) => Math.round((r.at - T0) / 1000))).toEqual([0, 10, 20, 30]);
    expect(missed).toBe(1);
  });
});

describe('run loop: a cycle that starts late keeps its slot', () => {
  it('a target whose first cycle waited for a slot still reads each family once per period afterwards', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new CountingStore();
    const { ops: o } = ops(store, { down: false });
    // One cycle at a time; the first target's first cycle (every family) takes 4 s, every other cycle 100 ms.
    // So the second target's first cycle starts 4 s after its tick, and its later ones on time: a loop that
    // reckoned from the late start would find the 15 s families not yet due at 15 s and read them at 20 s.
    let firstCycles = 0;
    const base = o.collect.bind(o);
    (o as { collect: typeof base }).collect = async (t, opts) => {
      const slow = t.id === 'first' && firstCycles++ === 0;
      await new Promise((r) => setTimeout(r, slow ? 4_000 : 100));
      return base(t, opts);
    };
    const loop = new RunLoop({
      ops: o,
      deliver: async () => ({}),
      policy: () => undefined,
      sessions: false,
      now: () => Date.now(),
      concurrency: 1,
      maxConcurrency: 1,
    });
    const seen: Array<{ id: string; at: number; families: readonly string[] }> = [];
    o.cycles.on('cycle', (r) => seen.push({ id: r.payload.target.id, at: Date.now() - T0, families: r.payload.families ?? [] }));
    loop.plan([
      { target: target({ id: 'first' }), intervalSeconds: 15 },
      { target: target({ id: 'second' }), intervalSeconds: 15 },
    ]);
    await vi.advanceTimersByTimeAsync(60_000 + 1_000);
    const stopped = loop.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    await stopped;
    // Interval families at 0, 15, 30, 45 and 60 s for both targets, each read within a second of its tick
    // (the second target's first one 4 s late, waiting for its slot).
    for (const id of ['first', 'second']) {
      const reads = seen.filter((x) => x.id === id && x.families.includes('server_stats')).map((x) => x.at);
      expect(reads, id).toHaveLength(5);
      reads.slice(1).forEach((at, k) => expect(at - 15_000 * (k + 1), `${id} at ${at} ms`).toBeLessThan(1_000));
    }
  });
});
