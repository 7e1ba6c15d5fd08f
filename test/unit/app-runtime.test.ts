// The agent runtime the desktop app runs (agent/run/app-runtime.ts): the Scheduler
// over the store's targets, pause/resume through settings (tray or API alike),
// re-planning on target changes, and the status the tray shows. Plain Node: real
// StateStore, handler table and audit ledger in a temp dir; collection is scripted
// (ScriptedOps) except where the real PostgreSQL collector's failure paths are used.
import { resolvePolicy } from '../../collectors/core/policy.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TargetConnectError } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { StateStore } from '../../agent/config/state-store.js';
import { AgentRuntime, defaultCycleTimeoutMs, type RuntimeOptions } from '../../agent/run/app-runtime.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { type CollectOptions, TargetOperations, type TargetHealth } from '../../agent/target-operations.js';

const AGENT = { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'test' };
const homes: string[] = [];
const runtimes: AgentRuntime[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

const target = (id: string, extra: Record<string, unknown> = {}): Target =>
  TargetSchema.parse({ id, engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'monitor', database: 'app', intervalSeconds: 60, ...extra });

function payloadFor(t: Target, signals: PayloadV1['signals'] = []): PayloadV1 {
  return {
    schema: 'logstag.payload/v1',
    agent: AGENT,
    target: { id: t.id, engine: t.engine, name: t.name ?? t.id },
    collectedAt: new Date().toISOString(),
    signals,
  };
}

/** A scripted cycle: the payload and timing (and a connect error); the rest of the CycleResult is filled in. */
type Script = (t: Target) => Promise<Pick<CycleResult, 'payload' | 'durationMs'> & Partial<CycleResult>>;

/** TargetOperations whose collect is scripted per target, with the same health and payload event semantics. */
class ScriptedOps extends TargetOperations {
  readonly scripts = new Map<string, Script>();
  readonly calls: string[] = [];
  /** The time the run loop gave each cycle. */
  readonly nows: number[] = [];
  /** Whether the run loop asked for every family. */
  readonly allDue: boolean[] = [];
  private readonly h = new Map<string, TargetHealth>();
  override async collect(t: Target, opts: CollectOptions = {}): Promise<CycleResult> {
    this.calls.push(t.id);
    if (opts.now !== undefined) this.nows.push(opts.now.getTime());
    this.allDue.push(opts.allDue === true);
    const script: Script = this.scripts.get(t.id) ?? (async (x: Target) => ({ payload: payloadFor(x), durationMs: 1 }));
    const result: CycleResult = { annotations: [], policy: resolvePolicy(), commitMemory: async () => {}, ...(await script(t)) };
    const unavailableSignals = result.payload.signals.filter((s) => s.status === 'unavailable').length;
    this.h.set(t.id, {
      state: result.connectError ? 'unreachable' : unavailableSignals > 0 ? 'limited' : 'ok',
      lastCollectedAt: result.payload.collectedAt,
      unavailableSignals,
    });
    this.cycles.emit('cycle', result);
    return result;
  }
  override healthOf(id: string): TargetHealth {
    return this.h.get(id) ?? { state: 'never_collected' };
  }
}

function setup(opts: Partial<RuntimeOptions> & { real?: boolean } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'runtime-'));
  homes.push(home);
  const store = new StateStore(home);
  const audit = new AuditLedger(join(home, 'audit'));
  const noVault = () => {
    throw new VaultError('foreign', 'this secret was created on another host or by another user; re-enter it here');
  };
  const ops = opts.real ? new TargetOperations(AGENT, audit, noVault, {}) : new ScriptedOps(AGENT, audit, noVault, {});
  const delivered: PayloadV1[] = [];
  const runtime = new AgentRuntime({
    store,
    ops,
    deliver: async (p) => {
      delivered.push(p);
    },
    platform: 'linux',
    ...opts,
  });
  runtimes.push(runtime);
  const api = createHandlers({ store, ops });
  const call = (method: string, params?: unknown) => dispatch(api.handlers, { method, params }, { emit() {} });
  const changes = vi.fn();
  runtime.on('change', changes);
  return { home, store, ops, runtime, delivered, call, changes, scripted: ops as ScriptedOps };
}

/** Lets pending promise callbacks run (real timers). */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('agent runtime', () => {
  it('collects every configured target at start and hands each payload to delivery', async () => {
    const { store, runtime, delivered, changes } = setup();
    await store.putTarget(target('pg-1'));
    await store.putTarget(target('pg-2'));
    runtime.start();
    await settle();
    expect(delivered.map((p) => p.target.id).sort()).toEqual(['pg-1', 'pg-2']);
    expect(runtime.status()).toMatchObject({
      paused: false,
      targets: [
        { id: 'pg-1', state: 'ok', permissionGaps: 0 },
        { id: 'pg-2', state: 'ok' },
      ],
    });
    expect(changes).toHaveBeenCalled();
  });

  it('pausing (from the tray or through the API) stops new cycles, is saved, and resuming collects at once', async () => {
    vi.useFakeTimers();
    const { store, runtime, scripted, call } = setup();
    await store.putTarget(target('pg-1', { intervalSeconds: 10 }));
    runtime.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.calls).toEqual(['pg-1']);

    await runtime.pause();
    expect(store.settings.paused).toBe(true);
    expect(runtime.status().paused).toBe(true);
    await vi.advanceTimersByTimeAsync(35_000);
    await runtime.collectNow();
    expect(scripted.calls).toEqual(['pg-1']);

    // The API's settings.update is the same switch.
    expect(await call('settings.update', { paused: false })).toMatchObject({ ok: true, result: { paused: false } });
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.calls).toEqual(['pg-1', 'pg-1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(scripted.calls).toEqual(['pg-1', 'pg-1', 'pg-1']);
    expect(await call('settings.update', { paused: true })).toMatchObject({ ok: true });
    expect(runtime.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(scripted.calls).toHaveLength(3);
  });

  it('starts paused when the saved settings say so', async () => {
    const { store, runtime, scripted } = setup();
    await store.putTarget(target('pg-1'));
    await store.updateSettings({ paused: true });
    runtime.start();
    await settle();
    expect(scripted.calls).toEqual([]);
    expect(runtime.status().paused).toBe(true);
  });

  it('re-plans when targets are added, edited or removed through the API', async () => {
    vi.useFakeTimers();
    const { runtime, scripted, call } = setup();
    runtime.start();
    expect(runtime.status().targets).toEqual([]);
    expect(
      // Every family on the interval: the target then wakes once per interval (the default wakes every 10 s for activity: see below).
      await call('targets.create', {
        target: {
          id: 'pg-1',
          engine: 'postgres',
          host: 'db1',
          port: 5432,
          user: 'm',
          database: 'app',
          intervalSeconds: 30,
          schedule: { activity: 'interval', waits_locks: 'interval' },
        },
      }),
    ).toMatchObject({ ok: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.calls).toEqual(['pg-1']); // collected at once, not after 30 s
    // An edit (another interval, another host) collects again now and then on the new interval.
    expect(await call('targets.update', { id: 'pg-1', patch: { intervalSeconds: 120, host: 'db2' } })).toMatchObject({ ok: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.calls).toEqual(['pg-1', 'pg-1']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scripted.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scripted.calls).toHaveLength(3);
    expect(await call('targets.delete', { id: 'pg-1' })).toMatchObject({ ok: true });
    await vi.advanceTimersByTimeAsync(600_000);
    expect(scripted.calls).toHaveLength(3);
    expect(runtime.status().targets).toEqual([]);
  });

  it('a target wakes at its shortest family period and tells the cycle the time (activity every 10 s at a 60 s interval)', async () => {
    vi.useFakeTimers();
    const { store, runtime, scripted } = setup();
    await store.putTarget(target('pg-1', { intervalSeconds: 60 }));
    runtime.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(scripted.calls).toEqual(['pg-1']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scripted.calls).toHaveLength(7);
    expect(scripted.nows.at(-1)! - scripted.nows[0]!).toBe(60_000);
    // The first cycle after the start collects every family; the next ones only what is due.
    expect(scripted.allDue).toEqual([true, false, false, false, false, false, false]);
  });

  it('at a 15 s interval a target wakes every 5 s (beside 10 s activity); a tick with nothing due is not shipped', async () => {
    vi.useFakeTimers();
    const { store, runtime, scripted, delivered } = setup();
    await store.putTarget(target('pg-1', { intervalSeconds: 15 }));
    let n = 0;
    // Every other tick has nothing due, as collectCycle reports it.
    scripted.scripts.set('pg-1', (t) => Promise.resolve({ payload: payloadFor(t), durationMs: 1, ...(n++ % 2 === 1 ? { idle: true as const } : {}) }));
    runtime.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(scripted.nows.map((x) => x - scripted.nows[0]!)).toEqual([0, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000]);
    expect(delivered).toHaveLength(4);
  });

  it('collect now reads every family of each target, due or not; the next scheduled tick reads only what is due', async () => {
    vi.useFakeTimers();
    const { store, runtime, scripted } = setup();
    await store.putTarget(target('pg-1', { intervalSeconds: 60 }));
    runtime.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10_000);
    await runtime.collectNow();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(scripted.allDue).toEqual([true, false, true, false]);
  });

  it('collect now runs every target once, without doubling one already running', async () => {
    const { store, runtime, scripted } = setup();
    let release: () => void = () => {};
    await store.putTarget(target('slow'));
    await store.putTarget(target('fast'));
    scripted.scripts.set('slow', async (t) => {
      await new Promise<void>((r) => (release = r));
      return { payload: payloadFor(t), durationMs: 1 };
    });
    runtime.start();
    await settle();
    const now = runtime.collectNow();
    await settle();
    expect(scripted.calls.filter((c) => c === 'slow')).toHaveLength(1);
    expect(scripted.calls.filter((c) => c === 'fast')).toHaveLength(2);
    release();
    await now;
  });

  it('a hanging target is reported as timed out, and the other targets keep being collected', async () => {
    vi.useFakeTimers();
    const { store, runtime, scripted } = setup({ concurrency: 1, cycleTimeoutMs: () => 5_000 });
    await store.putTarget(target('hang'));
    await store.putTarget(target('ok', { intervalSeconds: 10 }));
    scripted.scripts.set('hang', () => new Promise<CycleResult>(() => {}));
    runtime.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(scripted.calls).toEqual(['hang', 'ok']);
    expect(runtime.status().targets.find((t) => t.id === 'hang')?.problem).toMatchObject({
      kind: 'timeout',
      message: expect.stringContaining('took longer than 5 s'),
    });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(scripted.calls.filter((c) => c === 'ok').length).toBeGreaterThanOrEqual(3);
    expect(scripted.calls.filter((c) => c === 'hang')).toHaveLength(1);
  });

  it('tells credentials due from an unreachable target, a configuration problem and an internal failure', async () => {
    const { store, runtime, scripted } = setup();
    await store.putTarget(target('auth'));
    await store.putTarget(target('down'));
    await store.putTarget(target('boom'));
    scripted.scripts.set('auth', async (t) => ({
      payload: payloadFor(t),
      connectError: new TargetConnectError('authentication', 'password authentication failed for user "monitor"'),
      durationMs: 1,
    }));
    scripted.scripts.set('down', async (t) => ({
      payload: payloadFor(t),
      connectError: new TargetConnectError('unreachable', 'connection refused (127.0.0.1:5432)'),
      durationMs: 1,
    }));
    scripted.scripts.set('boom', async () => {
      throw new Error('bug');
    });
    const logged: unknown[] = [];
    (runtime as unknown as { opts: RuntimeOptions }).opts.log = (e) => logged.push(e);
    runtime.start();
    await settle();
    const byId = new Map(runtime.status().targets.map((t) => [t.id, t]));
    expect(byId.get('auth')?.problem).toMatchObject({
      kind: 'credentials',
      message: expect.stringMatching(
        /^credentials rejected \(1 time\(s\) in a row; next login attempt in 60 s\): password authentication failed for user "monitor"$/,
      ),
    });
    expect(byId.get('down')?.problem).toMatchObject({ kind: 'unreachable' });
    expect(byId.get('boom')?.problem).toMatchObject({ kind: 'internal', message: 'collection failed: bug' });
    expect(logged).toHaveLength(1);

    // Fixed: the next successful collection clears the problem.
    scripted.scripts.delete('down');
    await runtime.collectNow();
    expect(runtime.status().targets.find((t) => t.id === 'down')?.problem).toBeUndefined();
  });

  it('with the real PostgreSQL collector: a missing password is "credentials", a closed port "unreachable", a bad TLS setting "config"', async () => {
    const { store, runtime } = setup({ real: true });
    await store.putTarget(target('no-env', { password: { env: 'LOGSTAG_TEST_UNSET_PASSWORD' } }));
    await store.putTarget(target('foreign', { password: { secret: 'logstag-secret:v1:x' } }));
    await store.putTarget(target('closed', { port: 1, connectTimeoutMs: 2000 }));
    await store.putTarget(target('bad-tls', { tls: { mode: 'verify-full' } }));
    runtime.start();
    await vi.waitFor(() => expect(runtime.status().targets.every((t) => t.problem !== undefined)).toBe(true), { timeout: 15_000 });
    const byId = new Map(runtime.status().targets.map((t) => [t.id, t.problem]));
    expect(byId.get('no-env')).toMatchObject({ kind: 'credentials', message: expect.stringContaining('LOGSTAG_TEST_UNSET_PASSWORD') });
    expect(byId.get('foreign')).toMatchObject({ kind: 'credentials', message: expect.stringContaining('re-enter') });
    expect(byId.get('closed')).toMatchObject({ kind: 'unreachable' });
    expect(byId.get('bad-tls')).toMatchObject({ kind: 'config', message: expect.stringContaining('tls.caFile is required') });
  });

  it('reports payloads that cannot be stored, and clears that once they can', async () => {
    let fail = true;
    const { store, runtime } = setup({
      deliver: async () => {
        if (fail) throw new Error('ENOSPC: no space left on device');
      },
    });
    await store.putTarget(target('pg-1'));
    runtime.start();
    await settle();
    expect(runtime.status().deliveryError).toBe('payloads cannot be stored for delivery: ENOSPC: no space left on device');
    fail = false;
    await runtime.collectNow();
    expect(runtime.status().deliveryError).toBeUndefined();
  });

  it('counts signals unavailable for lack of a grant (only those)', async () => {
    const { store, runtime, scripted } = setup();
    await store.putTarget(target('pg-1'));
    scripted.scripts.set('pg-1', async (t) => ({
      payload: payloadFor(t, [
        { id: 'postgres.query_stats', family: 'query_stats', status: 'unavailable', reason: 'permission', detail: 'needs pg_read_all_stats' },
        { id: 'postgres.hba_rules', family: 'security_posture', status: 'unavailable', reason: 'permission', detail: 'needs a grant' },
        { id: 'postgres.x', family: 'config', status: 'unavailable', reason: 'not_enabled', detail: 'extension missing' },
      ] as PayloadV1['signals']),
      durationMs: 1,
    }));
    runtime.start();
    await settle();
    expect(runtime.status().targets[0]).toMatchObject({ state: 'limited', unavailableSignals: 3, permissionGaps: 2 });
  });

  it('flags a state file other users can read, and a delivery backlog the delivery side reports', async () => {
    const { store, runtime, home } = setup({ delivery: () => ({ pending: 150 }), backlogThreshold: 100 });
    await store.putTarget(target('pg-1'));
    chmodSync(store.file, 0o644);
    runtime.start();
    expect(runtime.status().configTooOpen).toBe(`${store.file} can be read by other users (mode 0644); run: chmod 600 "${store.file}"`);
    expect(runtime.status().delivery).toEqual({ pending: 150, backlog: true });
    chmodSync(store.file, 0o600);
    chmodSync(home, 0o777);
    await runtime.collectNow();
    expect(runtime.status().configTooOpen).toContain('can be changed by other users (mode 0777)');
    chmodSync(home, 0o700);
    await runtime.collectNow();
    expect(runtime.status().configTooOpen).toBeUndefined();
  });

  it('stop waits for the cycles in flight and then starts none', async () => {
    const { store, runtime, scripted, delivered } = setup();
    let release: () => void = () => {};
    await store.putTarget(target('pg-1'));
    scripted.scripts.set('pg-1', async (t) => {
      await new Promise<void>((r) => (release = r));
      return { payload: payloadFor(t), durationMs: 1 };
    });
    runtime.start();
    await settle();
    let stopped = false;
    const stopping = runtime.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(delivered).toHaveLength(1);
    await store.putTarget(target('pg-2'));
    await runtime.collectNow();
    expect(scripted.calls).toEqual(['pg-1']);
  });

  it('default cycle timeout: the interval, at least 30 s, at most 10 min', () => {
    expect(defaultCycleTimeoutMs(target('a', { intervalSeconds: 10 }))).toBe(30_000);
    expect(defaultCycleTimeoutMs(target('a', { intervalSeconds: 120 }))).toBe(120_000);
    expect(defaultCycleTimeoutMs(target('a', { intervalSeconds: 86_400 }))).toBe(600_000);
  });
});
