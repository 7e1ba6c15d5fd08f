/**
 * The one run loop of the agent, shared by the CLI's `run` and the desktop
 * app's runtime: schedule → collect (each cycle bounded by its timeout) → hand
 * the payload to delivery (spooled, fsynced) → commit the collectors' cursors →
 * record the target's problem or clear it. The two front ends differ only in
 * where the targets come from (a run config, the app's state store) and in how
 * they show what happened (stderr lines, the tray and the window).
 */
import { EventEmitter } from 'node:events';
import { ConfigError, type TargetConnectError } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { setupGaps } from '../../collectors/core/signal.js';
import type { Policy } from '../../collectors/core/policy.js';
import type { Target } from '../../collectors/target.js';
import type { CycleResult } from '../../collectors/cycle.js';
import { CredentialsError } from '../secrets/resolve.js';
import { oneLine } from '../../collectors/core/text.js';
import type { TargetOperations } from '../target-operations.js';
import { asTarget } from './safety-net.js';
import { dueFamilies, periodsOf, type SignalStatus, tickSeconds } from '../../collectors/core/schedule.js';
import { FAMILIES, type Family } from '../../collectors/core/signal.js';

/** Every family shipped at `at`. */
const allAt = (at: number): Partial<Record<Family, number>> => Object.fromEntries(FAMILIES.map((f) => [f, at]));
import { type CycleKind, CycleTimeoutError, Scheduler, type ScheduledTarget, type SkipReason, type TargetScheduleStats } from './scheduler.js';
import { SessionPool, type SessionPoolOptions } from './session-pool.js';

/** Why a target is not being collected as it should. */
export type ProblemKind = 'credentials' | 'unreachable' | 'timeout' | 'config' | 'internal';

export interface TargetProblem {
  kind: ProblemKind;
  /** One line for the operator. */
  message: string;
  since: string;
}

/** A target as the loop schedules it: the interval may come from the run config rather than the target. */
export interface LoopTarget {
  target: Target;
  intervalSeconds: number;
}

/** What one scheduled cycle ended in (the CLI prints it; the app's status follows it). */
export type CycleReport =
  | {
      id: string;
      outcome: 'spooled';
      key: string | undefined;
      payload: PayloadV1;
      durationMs: number;
      connectError?: TargetConnectError;
      /** Signals whose absence is not a gap in the setup (CycleResult.optionalSignals). */
      optionalSignals?: readonly string[];
      /** Every signal's status as last read, families not due this cycle included (CycleResult.latest). */
      latest?: readonly SignalStatus[];
    }
  | { id: string; outcome: 'failed'; problem: TargetProblem }
  | { id: string; outcome: 'not_stored'; message: string };

export interface RunLoopOptions {
  ops: TargetOperations;
  /** Stores the payload for delivery; resolves once it is durable (spooled). */
  deliver(payload: PayloadV1): Promise<{ key?: string } | unknown>;
  /** The workspace default policy in force now (a target's own policy overrides it). */
  policy(): Policy | undefined;
  /** Cycles running at once at the start, and at least (default 4). */
  concurrency?: number;
  /**
   * The most cycles running at once: the limit grows from `concurrency` up to
   * this while cycles wait past their due time and CPU allows (default 64).
   */
  maxConcurrency?: number;
  /** Per-cycle timeout of a target (default: defaultCycleTimeoutMs). */
  cycleTimeoutMs?: (target: Target) => number;
  log?: (err: unknown) => void;
  /**
   * Sessions kept across cycles (see session-pool.ts): on by default with its
   * defaults; `false` opens and closes a session every cycle.
   */
  sessions?: SessionPoolOptions | false;
  /** The clock of the authentication back-off (tests). */
  now?: () => number;
}

/**
 * A cycle may take as long as its interval (then the next one is due anyway),
 * but at least 30 s (connect timeout plus slow catalog reads) and at most 10 min.
 */
export function defaultCycleTimeoutMs(target: Target): number {
  return Math.min(Math.max(target.intervalSeconds * 1000, 30_000), 600_000);
}

/** The longest wait between login attempts of a target whose credentials were rejected. */
export const AUTH_BACKOFF_MAX_MS = 3_600_000;

/**
 * The wait after the n-th authentication failure in a row: the interval, then
 * doubling (2×, 4×, …) up to an hour. Servers lock accounts after a few failed
 * logins (docs/faults.md): retrying a rejected password every interval would
 * lock the monitoring account within minutes.
 */
export function authBackoffMs(intervalMs: number, failures: number): number {
  return Math.min(intervalMs * 2 ** Math.min(Math.max(failures - 1, 0), 30), AUTH_BACKOFF_MAX_MS);
}

export class RunLoop extends EventEmitter<{ change: []; cycle: [CycleReport]; skip: [string, SkipReason] }> {
  private readonly scheduler: Scheduler;
  /** The sessions kept between cycles; undefined when pooling is off. */
  readonly sessions: SessionPool | undefined;
  private readonly targets = new Map<string, LoopTarget>();
  private readonly configs = new Map<string, string>();
  private readonly problems = new Map<string, TargetProblem>();
  private readonly gaps = new Map<string, number>();
  /** Targets whose credentials were rejected: no login attempt before `until` (epoch ms). */
  private readonly authHold = new Map<string, { failures: number; until: number }>();
  /** Targets with a cycle spooled since the agent started or the target was last edited; the others collect every family. */
  private readonly shippedOnce = new Set<string>();
  /** Targets the operator asked to collect now (collectNow): their next cycle reads every family. */
  private readonly readAll = new Set<string>();
  /**
   * Per target: when each family was last shipped, as committed to the target's
   * memory by this loop's own cycles (the memory file holds the same times). A
   * tick on which none is due ends here, before the cycle loads the memory file
   * (hundreds of KB with query-statistics baselines) only to find nothing due.
   * Only ever a copy of what was committed: a family it does not know (first
   * cycle, an unreachable target, a failed commit) counts as due, and the cycle
   * decides from the memory itself.
   */
  private readonly shippedAt = new Map<string, Partial<Record<Family, number>>>();
  /** Per target: the cycle running now, when it started and the families it reads (what will be shipped if it succeeds). */
  private readonly inflight = new Map<string, { at: number; families: readonly Family[] | 'all' }>();
  /** Ticks that ended in the loop because nothing was due (no memory read, no session). */
  private idleTicks = 0;
  private readonly now: () => number;
  private storeError: string | undefined;
  private listening = false;
  private stopped = false;
  private readonly onCollected = ({ payload, connectError, optionalSignals, latest }: CycleResult): void => {
    // Every collection counts, whoever asked for it (schedule, tray, API).
    const id = payload.target.id;
    // A connection that got in (a preview, the operator's collect now) ends an authentication back-off.
    if (connectError === undefined) this.authHold.delete(id);
    // Optional grants (superuser-only views) and opt-ins are not gaps: a correct setup is not "limited".
    this.gaps.set(id, setupGaps(latest ?? payload.signals, optionalSignals).filter((s) => s.reason === 'permission').length);
    if (this.opts.ops.healthOf(id).state !== 'unreachable') this.problems.delete(id);
    this.emit('change');
  };

  constructor(private readonly opts: RunLoopOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.sessions = opts.sessions === false ? undefined : new SessionPool(opts.sessions ?? {});
    const concurrency = opts.concurrency ?? 4;
    this.scheduler = new Scheduler({
      concurrency,
      maxConcurrency: Math.max(concurrency, opts.maxConcurrency ?? 64),
      // Each cycle runs in its target's async context: a driver fault that escapes it later is logged under its id.
      runCycle: (id, signal, dueAt) => asTarget(id, () => this.runCycle(id, signal, dueAt)),
      onTimeout: (id, ms) => {
        const problem = this.setProblem(id, 'timeout', `the collection cycle took longer than ${Math.round(ms / 1000)} s and was abandoned`);
        this.emit('cycle', { id, outcome: 'failed', problem });
        this.emit('change');
      },
      onSkip: (id, why) => this.emit('skip', id, why),
      isDue: (id, at) => this.anythingDue(id, at),
    });
  }

  /**
   * Makes `targets` the schedule (the first call starts the loop): new targets
   * are collected now, removed ones stop, and an edited target (a fixed
   * password, another host) is collected again now rather than at its next tick.
   */
  plan(targets: readonly LoopTarget[]): void {
    if (this.stopped) return;
    if (!this.listening) {
      this.listening = true;
      this.opts.ops.cycles.on('cycle', this.onCollected);
    }
    const timeout = this.opts.cycleTimeoutMs ?? defaultCycleTimeoutMs;
    const before = new Map(this.configs);
    this.targets.clear();
    this.configs.clear();
    for (const t of targets) {
      this.targets.set(t.target.id, t);
      this.configs.set(t.target.id, JSON.stringify(t));
    }
    for (const [id, json] of before) {
      // A changed target (a fixed password, another user) is tried again at once, on a new session, every family of it.
      if (this.configs.get(id) !== json) {
        this.authHold.delete(id);
        this.sessions?.forget(id);
        this.shippedOnce.delete(id);
        this.shippedAt.delete(id);
      }
      if (this.configs.has(id)) continue;
      this.problems.delete(id);
      this.gaps.delete(id);
      this.shippedAt.delete(id);
    }
    // A target wakes at its shortest family period (e.g. activity every 10 s); each cycle reads only the families due then.
    const plan: ScheduledTarget[] = targets.map((t) => ({
      id: t.target.id,
      intervalMs: tickSeconds(t.intervalSeconds, t.target.schedule) * 1000,
      timeoutMs: timeout(t.target),
    }));
    this.scheduler.plan(plan);
    for (const [id, json] of this.configs) {
      const old = before.get(id);
      if (old !== undefined && old !== json) void this.scheduler.trigger(id);
    }
  }

  get isPaused(): boolean {
    return this.scheduler.isPaused;
  }

  pause(): void {
    this.scheduler.pause();
  }

  /** Resuming collects at once rather than at each target's next tick. */
  resume(): void {
    if (!this.scheduler.isPaused) return;
    this.scheduler.resume();
    for (const id of this.targets.keys()) void this.scheduler.trigger(id);
  }

  /** One cycle of every target now (a target already collecting is not doubled). Nothing while paused. */
  async collectNow(): Promise<void> {
    if (this.scheduler.isPaused || this.stopped) return;
    // The operator asked to see the targets now: every family, due or not (the schedule is not moved back).
    for (const id of this.targets.keys()) this.readAll.add(id);
    await Promise.all([...this.targets.keys()].map((id) => this.scheduler.trigger(id)));
  }

  /** Forgets a target's authentication back-off (a successful check, the operator's "retry now"). */
  resetAuthBackoff(id: string): void {
    this.authHold.delete(id);
  }

  /** How a target keeps its schedule (missed intervals, start lag); undefined when not planned. */
  scheduleOf(id: string): TargetScheduleStats | undefined {
    return this.scheduler.statsOf(id);
  }

  /** Cycles allowed to run at once now (sized to the work). */
  get concurrencyLimit(): number {
    return this.scheduler.concurrencyLimit;
  }

  problemOf(id: string): TargetProblem | undefined {
    return this.problems.get(id);
  }

  /** Signals unavailable for lack of a grant in the target's last cycle. */
  permissionGapsOf(id: string): number | undefined {
    return this.gaps.get(id);
  }

  /** Set while collected payloads cannot be stored for delivery (e.g. disk full). */
  get deliveryError(): string | undefined {
    return this.storeError;
  }

  /**
   * Stops the schedule and waits for the cycles in flight (each bounded by its
   * timeout), or at most `graceMs`: a stop must not wait out a ten-minute cycle
   * timeout. Resolves with whether every cycle ended (false: some were abandoned;
   * their cursors were not committed, so the next start reads the same entries).
   */
  async stop(graceMs?: number): Promise<boolean> {
    if (this.stopped) return true;
    this.stopped = true;
    this.opts.ops.cycles.off('cycle', this.onCollected);
    const stopped = this.scheduler.stop().then(() => true);
    if (graceMs === undefined) {
      await stopped;
      await this.sessions?.closeAll();
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), graceMs);
    });
    try {
      return await Promise.race([stopped, late]);
    } finally {
      clearTimeout(timer);
      // Every session is closed on the way out, pooled or still in an abandoned cycle.
      await this.sessions?.closeAll();
    }
  }

  /** Ticks that found nothing due and ended without a cycle, since the loop started. */
  get idleTickCount(): number {
    return this.idleTicks;
  }

  /**
   * Mirrors what the cycle just committed (collectors/cycle.ts: the families of a
   * cycle on a live session are recorded at the cycle's time). Conservative where
   * the cycle's record may differ: a cloud binding's family (its read may fail
   * apart from the database) is left to the cycle to decide.
   */
  private noteShipped(id: string, target: Target, payload: PayloadV1, at: number): void {
    const families = payload.families;
    if (families === undefined) {
      this.shippedAt.delete(id);
      return;
    }
    const known = { ...this.shippedAt.get(id) };
    for (const f of families) if (!(f === 'cloud' && target.cloud !== undefined)) known[f] = at;
    this.shippedAt.set(id, known);
  }

  private setProblem(id: string, kind: ProblemKind, message: string): TargetProblem {
    const current = this.problems.get(id);
    const problem = { kind, message: oneLine(message), since: current?.kind === kind ? current.since : new Date().toISOString() };
    this.problems.set(id, problem);
    return problem;
  }

  /** One cycle; resolves with its kind (the families it read) for the scheduler's sizing, false when it did nothing. */
  private async runCycle(id: string, signal: AbortSignal, dueAt?: number): Promise<CycleKind> {
    const entry = this.targets.get(id);
    if (entry === undefined) return false;
    // Credentials rejected: no login attempt until the back-off ends (the problem already says when).
    const hold = this.authHold.get(id);
    if (hold !== undefined && this.now() < hold.until) return false;
    const readAll = this.readAll.delete(id);
    const now = this.now();
    // The tick this cycle serves: a cycle that waited for a slot decides and records what is due at its
    // tick, not at its late start, or every wait longer than a tick's slack would push a family to the next tick.
    const slot = Math.min(now, dueAt ?? now);
    const allDue = !this.shippedOnce.has(id) || readAll;
    const known = this.shippedAt.get(id);
    if (!allDue && known !== undefined && dueFamilies(periodsOf(entry.intervalSeconds, entry.target.schedule), known, slot).length === 0) {
      // Nothing due on this tick (the target wakes at its periods' common divisor): nothing to load, read or ship.
      this.idleTicks++;
      return false;
    }
    const periods = periodsOf(entry.intervalSeconds, entry.target.schedule);
    this.inflight.set(id, { at: slot, families: allDue ? 'all' : known === undefined ? [] : dueFamilies(periods, known, slot) });
    try {
      return await this.collectAndShip(id, entry, signal, { hold, now, slot, allDue });
    } finally {
      this.inflight.delete(id);
    }
  }

  /**
   * Whether a tick of `id` at `at` would find anything due, counting the cycle
   * still running as shipping what it reads (used to tell a missed interval from
   * a tick that had nothing to do anyway). Unknown: due.
   */
  private anythingDue(id: string, at: number): boolean {
    const entry = this.targets.get(id);
    if (entry === undefined) return true;
    const running = this.inflight.get(id);
    if (running?.families === 'all') return dueFamilies(periodsOf(entry.intervalSeconds, entry.target.schedule), allAt(running.at), at).length > 0;
    const known = this.shippedAt.get(id);
    if (known === undefined || !this.shippedOnce.has(id)) return true;
    const last = { ...known };
    for (const f of running?.families ?? []) last[f] = running!.at;
    return dueFamilies(periodsOf(entry.intervalSeconds, entry.target.schedule), last, at).length > 0;
  }

  private async collectAndShip(
    id: string,
    entry: LoopTarget,
    signal: AbortSignal,
    { hold, now, slot, allDue }: { hold: { failures: number; until: number } | undefined; now: number; slot: number; allDue: boolean },
  ): Promise<CycleKind> {
    let result: CycleResult;
    try {
      result = await this.opts.ops.collect(entry.target, {
        workspacePolicy: this.opts.policy(),
        ...(this.sessions === undefined ? {} : { sessions: this.sessions.lease(signal) }),
        now: new Date(now),
        slotAt: new Date(slot),
        intervalSeconds: entry.intervalSeconds,
        // After a start or an edit the operator sees the whole target at once; then each family on its period.
        ...(allDue ? { allDue: true } : {}),
      });
      if (result.connectError?.kind === 'authentication') {
        const failures = (hold?.failures ?? 0) + 1;
        const waitMs = authBackoffMs(entry.intervalSeconds * 1000, failures);
        this.authHold.set(id, { failures, until: this.now() + waitMs });
        this.setProblem(
          id,
          'credentials',
          `credentials rejected (${failures} time(s) in a row; next login attempt in ${Math.round(waitMs / 1000)} s): ${result.connectError.message}`,
        );
      } else {
        this.authHold.delete(id);
        if (result.connectError !== undefined) this.setProblem(id, 'unreachable', result.connectError.message);
      }
    } catch (err) {
      let problem: TargetProblem;
      if (err instanceof CredentialsError) problem = this.setProblem(id, 'credentials', err.message);
      else if (err instanceof ConfigError) problem = this.setProblem(id, 'config', err.message);
      else {
        this.opts.log?.(err);
        problem = this.setProblem(id, 'internal', `collection failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.emit('cycle', { id, outcome: 'failed', problem });
      this.emit('change');
      return 'failed';
    }
    // Nothing was due on this tick (the target wakes at its periods' common divisor): nothing to ship.
    if (result.idle) return false;
    const kind = result.connectError === undefined ? (result.payload.families ?? []).join(',') : 'unreachable';
    // A target removed while its cycle ran: its payload is not shipped.
    if (signal.aborted && !(signal.reason instanceof CycleTimeoutError)) return kind;
    try {
      const stored = await this.opts.deliver(result.payload);
      // Only once the payload is stored for delivery do the collectors' cursors move past it.
      await result.commitMemory();
      if (result.connectError === undefined) {
        this.shippedOnce.add(id);
        this.noteShipped(id, entry.target, result.payload, slot);
      }
      this.storeError = undefined;
      const key = typeof stored === 'object' && stored !== null && 'key' in stored && typeof stored.key === 'string' ? stored.key : undefined;
      this.emit('cycle', {
        id,
        outcome: 'spooled',
        key,
        payload: result.payload,
        durationMs: result.durationMs,
        ...(result.connectError ? { connectError: result.connectError } : {}),
        ...(result.optionalSignals ? { optionalSignals: result.optionalSignals } : {}),
        ...(result.latest ? { latest: result.latest } : {}),
      });
    } catch (err) {
      this.opts.log?.(err);
      this.storeError = `payloads cannot be stored for delivery: ${oneLine(err instanceof Error ? err.message : String(err))}`;
      this.emit('cycle', { id, outcome: 'not_stored', message: this.storeError });
    }
    this.emit('change');
    return kind;
  }
}
