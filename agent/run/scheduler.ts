/**
 * Runs each target's cycle on its own interval with bounded concurrency.
 *
 * Fairness rules:
 * - Each target keeps its own due times (one interval apart, whatever time a
 *   cycle really started); a target whose previous cycle is still running (or
 *   still waiting for a slot) is skipped, not queued, so one target never piles
 *   up cycles, and the skipped due time is counted as a missed interval.
 * - Cycles waiting for a slot start earliest-due first: a target that is late
 *   goes before one that just fell due, so a slow target cannot starve others.
 * - Concurrency is sized to the work (maxConcurrency): it grows while cycles
 *   wait past their due time, the process has CPU to spare and cycles stay
 *   within budget (no more than twice their uncongested duration); it comes
 *   down when they do not, and when slots sit idle.
 * - Targets planned together start at once up to the free slots; the rest are
 *   spread over a window (at most their interval), so many targets do not fall
 *   due at the same instant at every interval.
 * - A cycle that runs past its timeout is abandoned: its concurrency slot goes to
 *   the next target at once and its AbortSignal fires. The target itself stays
 *   "still running" (and is skipped) until the abandoned work really settles, so
 *   a hanging target holds at most one abandoned cycle and never a slot.
 * - Pausing stops new cycles, including those queued for a slot; cycles in
 *   flight finish. `plan` re-plans the schedule when targets come, go or change
 *   interval, without touching the timers of the others.
 */
export interface ScheduledTarget {
  id: string;
  intervalMs: number;
  /** Overrides SchedulerOptions.cycleTimeoutMs for this target. */
  timeoutMs?: number;
}

export type SkipReason = 'still_running' | 'paused';

export interface SchedulerOptions {
  /** Cycles running at once; with maxConcurrency above it, the starting (and lowest) limit. */
  concurrency: number;
  /**
   * The limit may grow up to this while cycles wait for a slot past their due
   * time and the process has CPU to spare, and shrinks back when slots sit idle.
   * Default: concurrency (a fixed limit).
   */
  maxConcurrency?: number;
  /** The process CPU share (of one core) above which the limit does not grow (default 0.8). */
  cpuCeiling?: number;
  /** How often the limit is reconsidered (default 1000 ms). */
  tuneIntervalMs?: number;
  /**
   * One cycle of one target. `signal` aborts when the cycle times out or its
   * target is removed from the plan; honouring it is optional (the scheduler
   * frees the slot either way). `dueAt` is the time the cycle was due (its tick,
   * or when it was asked for): a cycle that waited for a slot still serves that tick.
   */
  runCycle(targetId: string, signal: AbortSignal, dueAt: number): Promise<CycleKind>;
  /** Default per-cycle timeout; none when unset (a hanging cycle then holds its slot). */
  cycleTimeoutMs?: number;
  onSkip?(targetId: string, why: SkipReason): void;
  /** A cycle ran past its timeout and was abandoned. */
  onTimeout?(targetId: string, timeoutMs: number): void;
  /**
   * Whether anything of the target is due at `at` (a target may wake more often
   * than any one of its families is due). A tick that finds the previous cycle
   * still running is a missed interval only when something was due; default: always.
   */
  isDue?(targetId: string, at: number): boolean;
  /** Time between the first cycles of targets planned together beyond the free slots (default 10 ms per target). */
  spreadMsPerTarget?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * What a cycle was, for sizing concurrency: cycles of one kind (e.g. the same
 * families read) are compared with each other, never a ten-signal cycle with a
 * one-signal sample. `false`: no work was done (a tick with nothing due), not
 * compared at all; nothing: one kind for every cycle of the target.
 */
export type CycleKind = string | false | void;

/** How a target keeps its schedule: what `status` reports. */
export interface TargetScheduleStats {
  /** Cycles started on schedule (an operator's "collect now" included). */
  started: number;
  /**
   * Intervals in which the target was due and not collected: a tick skipped
   * because its previous cycle still ran, or a cycle that waited for a slot past
   * its next due time.
   */
  missedIntervals: number;
  /** How late the last cycle started after it was due, in ms. */
  lastStartLagMs: number;
  maxStartLagMs: number;
  /** Epoch ms of the next due time. */
  nextDueAt: number;
}

/** The reason an abandoned cycle's signal carries. */
export class CycleTimeoutError extends Error {
  constructor(
    readonly targetId: string,
    readonly timeoutMs: number,
  ) {
    super(`${targetId}: the collection cycle took longer than ${Math.round(timeoutMs / 1000)} s and was abandoned`);
    this.name = 'CycleTimeoutError';
  }
}

interface Planned {
  target: ScheduledTarget;
  timer: NodeJS.Timeout | undefined;
  /** The next due time (epoch ms): kept from due time to due time, so a late start does not shift the phase. */
  nextDue: number;
  stats: TargetScheduleStats;
  /** What a cycle of this target takes when nothing is congested, per kind of cycle (see tune). */
  baseMs: Map<string, number>;
}

interface Waiter {
  id: string;
  dueAt: number;
  /** Called with the slot already counted as taken. */
  go(): void;
}

export class Scheduler {
  private readonly planned = new Map<string, Planned>();
  /** Per target: resolves when its current cycle ends or is abandoned (what trigger returns). */
  private readonly running = new Map<string, Promise<void>>();
  /** Targets whose cycle work has not settled yet (abandoned cycles included). */
  private readonly busy = new Set<string>();
  private readonly controllers = new Map<string, AbortController>();
  /** Cycles waiting for a slot: the one due earliest goes first, so late targets are served first. */
  private waiting: Waiter[] = [];
  private active = 0;
  private limit: number;
  private readonly maxLimit: number;
  private readonly now: () => number;
  private readonly tuner: NodeJS.Timeout | undefined;
  private lastCpu = process.cpuUsage();
  /** Tune periods in a row with idle slots and nothing waiting. */
  private calm = 0;
  /** Per cycle ended in the current tune period: its duration over its target's uncongested duration. */
  private periodRatios: number[] = [];
  private lastWall = performance.now();
  private paused = false;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    if (opts.cycleTimeoutMs !== undefined && !(opts.cycleTimeoutMs > 0)) throw new RangeError('cycleTimeoutMs must be positive');
    const max = opts.maxConcurrency ?? opts.concurrency;
    if (!Number.isInteger(max) || max < opts.concurrency) throw new RangeError('maxConcurrency must be an integer no less than concurrency');
    this.limit = opts.concurrency;
    this.maxLimit = max;
    this.now = opts.now ?? Date.now;
    if (max > opts.concurrency) {
      this.tuner = setInterval(() => this.tune(), opts.tuneIntervalMs ?? 1000);
      this.tuner.unref();
    }
  }

  /** The number of cycles allowed to run at once now. */
  get concurrencyLimit(): number {
    return this.limit;
  }

  /** A target's schedule keeping (undefined when it is not planned). */
  statsOf(id: string): TargetScheduleStats | undefined {
    const p = this.planned.get(id);
    return p === undefined ? undefined : { ...p.stats, nextDueAt: p.nextDue };
  }

  /**
   * Sizes the limit to the work: grows while cycles wait past their due time and
   * the process uses less CPU than the ceiling (more overlap of server round
   * trips helps; more CPU contention would not), shrinks when slots sit idle.
   */
  private tune(): void {
    const cpu = process.cpuUsage(this.lastCpu);
    const wall = performance.now() - this.lastWall;
    this.lastCpu = process.cpuUsage();
    this.lastWall = performance.now();
    const share = wall > 0 ? (cpu.user + cpu.system) / 1000 / wall : 0;
    const now = this.now();
    // Within budget: cycles take no more than twice what they take uncongested. When they do, more
    // cycles at once only queue at the servers (or here): the limit does not grow, and comes down.
    const ratios = this.periodRatios.sort((a, b) => a - b);
    this.periodRatios = [];
    const congested = ratios.length >= 3 && ratios[Math.floor(ratios.length / 2)]! > 2;
    // Late: a cycle waiting for a slot for more than a quarter of its interval (or a second).
    const late = this.waiting.some((w) => now - w.dueAt > Math.min(1000, (this.planned.get(w.id)?.target.intervalMs ?? 4000) / 4));
    if (late && !congested && share < (this.opts.cpuCeiling ?? 0.8) && this.limit < this.maxLimit) {
      this.calm = 0;
      this.limit = Math.min(this.maxLimit, this.limit + Math.max(1, Math.ceil(this.limit / 4)));
      this.drain();
    } else if (congested && this.limit > this.opts.concurrency) {
      this.calm = 0;
      this.limit = Math.max(this.opts.concurrency, Math.floor(this.limit * 0.75));
    } else if (this.waiting.length === 0 && this.active < this.limit / 2 && this.limit > this.opts.concurrency) {
      // Shrinks only after ten calm periods in a row: a burst between two ticks is not a trend.
      if (++this.calm >= 10) {
        this.calm = 0;
        this.limit--;
      }
    } else this.calm = 0;
  }

  /** Starts waiting cycles while slots are free, earliest due first. */
  private drain(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i]!.dueAt < this.waiting[best]!.dueAt) best = i;
      const [w] = this.waiting.splice(best, 1);
      this.active++;
      w!.go();
    }
  }

  /** Plans the targets and starts the first cycle of each (same as plan). */
  start(targets: readonly ScheduledTarget[]): void {
    this.plan(targets);
  }

  /**
   * Makes `targets` the schedule: new targets start a cycle now and then run on
   * their interval; removed targets stop (a cycle in flight is signalled); a
   * changed interval or timeout restarts that target's timer only.
   */
  plan(targets: readonly ScheduledTarget[]): void {
    if (this.stopped) return;
    for (const t of targets) if (!(t.intervalMs > 0)) throw new RangeError(`${t.id}: intervalMs must be positive`);
    const next = new Map(targets.map((t) => [t.id, t]));
    for (const [id, p] of this.planned) {
      if (next.has(id)) continue;
      clearTimeout(p.timer);
      this.planned.delete(id);
      this.controllers.get(id)?.abort(new Error(`${id}: target removed`));
    }
    const added = [...next.values()].filter((t) => !this.planned.has(t.id));
    const now = this.now();
    for (const t of next.values()) {
      const current = this.planned.get(t.id);
      if (current === undefined) continue;
      if (current.target.intervalMs === t.intervalMs && current.target.timeoutMs === t.timeoutMs) continue;
      clearTimeout(current.timer);
      current.target = t;
      current.nextDue = now + t.intervalMs;
      this.arm(current);
    }
    // New targets start now, as many as there are slots; the others are spread over a window (at most
    // their interval), so a thousand targets planned at once do not all fall due at the same instant
    // again at every interval.
    const spread = this.opts.spreadMsPerTarget ?? 10;
    added.forEach((t, i) => {
      const window = Math.min(t.intervalMs, added.length * spread);
      const offset = i < this.limit ? 0 : Math.floor((i * window) / added.length);
      const p: Planned = {
        target: t,
        timer: undefined,
        nextDue: now + offset,
        baseMs: new Map(),
        stats: { started: 0, missedIntervals: 0, lastStartLagMs: 0, maxStartLagMs: 0, nextDueAt: now + offset },
      };
      this.planned.set(t.id, p);
      if (offset === 0) {
        p.nextDue = now + t.intervalMs;
        this.arm(p);
        void this.trigger(t.id, now, true);
      } else this.arm(p);
    });
  }

  /** Sets the timer of a target's next due time; each tick plans the one after, one interval later. */
  private arm(p: Planned): void {
    const delay = Math.max(0, p.nextDue - this.now());
    p.timer = setTimeout(() => {
      if (this.planned.get(p.target.id) !== p) return;
      const dueAt = p.nextDue;
      const now = this.now();
      p.nextDue = dueAt + p.target.intervalMs;
      // Timers held up (a blocked event loop, a suspended laptop): the due times that passed are missed, not replayed.
      if (p.nextDue <= now) {
        const behind = Math.floor((now - p.nextDue) / p.target.intervalMs) + 1;
        if (!this.paused) p.stats.missedIntervals += behind;
        p.nextDue += behind * p.target.intervalMs;
      }
      this.arm(p);
      void this.trigger(p.target.id, dueAt, true);
    }, delay);
  }

  /** The ids currently planned. */
  get targetIds(): string[] {
    return [...this.planned.keys()];
  }

  get isPaused(): boolean {
    return this.paused;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }

  /** Whether a cycle of `id` is running (an abandoned one included). */
  isRunning(id: string): boolean {
    return this.busy.has(id);
  }

  /** Starts a cycle now unless one is running for that target; resolves when it ends or is abandoned. */
  trigger(id: string, dueAt: number = this.now(), scheduled = false): Promise<void> {
    if (this.busy.has(id)) {
      // A due time that passes while the previous cycle still runs is an interval this target missed.
      const p = this.planned.get(id);
      if (scheduled && p !== undefined && !this.paused && this.opts.isDue?.(id, dueAt) !== false) p.stats.missedIntervals++;
      this.opts.onSkip?.(id, 'still_running');
      return this.running.get(id) ?? Promise.resolve();
    }
    if (this.paused || this.stopped) {
      this.opts.onSkip?.(id, 'paused');
      return Promise.resolve();
    }
    const controller = new AbortController();
    this.controllers.set(id, controller);
    this.busy.add(id);
    const run = this.runInSlot(id, controller, dueAt).finally(() => {
      this.running.delete(id);
    });
    this.running.set(id, run);
    return run;
  }

  private async runInSlot(id: string, controller: AbortController, dueAt: number): Promise<void> {
    let holdsSlot = false;
    const finishWork = (): void => {
      this.busy.delete(id);
      if (this.controllers.get(id) === controller) this.controllers.delete(id);
    };
    try {
      if (this.active >= this.limit) await new Promise<void>((go) => this.waiting.push({ id, dueAt, go }));
      else this.active++;
      holdsSlot = true;
      // Paused, stopped or removed while waiting for a slot: this cycle never starts.
      if (this.paused || this.stopped || controller.signal.aborted) {
        if (!controller.signal.aborted) this.opts.onSkip?.(id, 'paused');
        finishWork();
        return;
      }
      const planned = this.planned.get(id);
      if (planned !== undefined) {
        const lag = Math.max(0, this.now() - dueAt);
        planned.stats.started++;
        planned.stats.lastStartLagMs = lag;
        planned.stats.maxStartLagMs = Math.max(planned.stats.maxStartLagMs, lag);
        // (A cycle that waits past its next due time is counted missed by that tick, which finds it busy.)
      }
      const timeoutMs = planned?.target.timeoutMs ?? this.opts.cycleTimeoutMs;
      const began = performance.now();
      let kind: CycleKind;
      const work = Promise.resolve()
        .then(() => this.opts.runCycle(id, controller.signal, dueAt))
        .then(
          (k) => {
            kind = k;
          },
          () => {
            // runCycle reports its own failures; the scheduler only keeps going.
          },
        )
        .finally(() => {
          const ms = performance.now() - began;
          if (planned !== undefined && kind !== false) {
            // Each target and kind of cycle against itself (targets differ, and a sample of one family is
            // not a cycle of ten): its shortest recent cycle, drifting up 1 % a cycle, and never under
            // 20 ms (a few ms of event-loop jitter is not congestion).
            const key = kind ?? '';
            const base = Math.min((planned.baseMs.get(key) ?? Infinity) * 1.01, Math.max(ms, 20));
            planned.baseMs.set(key, base);
            this.periodRatios.push(ms / base);
          }
          finishWork();
        });
      if (timeoutMs === undefined) {
        await work;
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([work.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        controller.abort(new CycleTimeoutError(id, timeoutMs));
        this.opts.onTimeout?.(id, timeoutMs);
      }
    } finally {
      if (holdsSlot) {
        this.active--;
        this.drain();
      }
    }
  }

  /** Stops the timers and waits for cycles in flight (an abandoned cycle is not waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.tuner);
    for (const p of this.planned.values()) clearTimeout(p.timer);
    this.planned.clear();
    await Promise.all(this.running.values());
  }
}
