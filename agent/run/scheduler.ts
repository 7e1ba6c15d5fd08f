/**
 * Runs each target's cycle on its own interval with bounded concurrency.
 *
 * Fairness rules:
 * - Each target has its own timer; a target whose previous cycle is still
 *   running is skipped, not queued, so one target never piles up cycles.
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
  concurrency: number;
  /**
   * One cycle of one target. `signal` aborts when the cycle times out or its
   * target is removed from the plan; honouring it is optional (the scheduler
   * frees the slot either way).
   */
  runCycle(targetId: string, signal: AbortSignal): Promise<void>;
  /** Default per-cycle timeout; none when unset (a hanging cycle then holds its slot). */
  cycleTimeoutMs?: number;
  onSkip?(targetId: string, why: SkipReason): void;
  /** A cycle ran past its timeout and was abandoned. */
  onTimeout?(targetId: string, timeoutMs: number): void;
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
  timer: NodeJS.Timeout;
}

export class Scheduler {
  private readonly planned = new Map<string, Planned>();
  /** Per target: resolves when its current cycle ends or is abandoned (what trigger returns). */
  private readonly running = new Map<string, Promise<void>>();
  /** Targets whose cycle work has not settled yet (abandoned cycles included). */
  private readonly busy = new Set<string>();
  private readonly controllers = new Map<string, AbortController>();
  private waiting: Array<() => void> = [];
  private active = 0;
  private paused = false;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    if (opts.cycleTimeoutMs !== undefined && !(opts.cycleTimeoutMs > 0)) throw new RangeError('cycleTimeoutMs must be positive');
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
      clearInterval(p.timer);
      this.planned.delete(id);
      this.controllers.get(id)?.abort(new Error(`${id}: target removed`));
    }
    for (const t of next.values()) {
      const current = this.planned.get(t.id);
      if (current !== undefined && current.target.intervalMs === t.intervalMs && current.target.timeoutMs === t.timeoutMs) continue;
      if (current !== undefined) clearInterval(current.timer);
      const timer = setInterval(() => void this.trigger(t.id), t.intervalMs);
      this.planned.set(t.id, { target: t, timer });
      if (current === undefined) void this.trigger(t.id);
    }
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
  trigger(id: string): Promise<void> {
    if (this.busy.has(id)) {
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
    const run = this.runInSlot(id, controller).finally(() => {
      this.running.delete(id);
    });
    this.running.set(id, run);
    return run;
  }

  private async runInSlot(id: string, controller: AbortController): Promise<void> {
    let holdsSlot = false;
    const finishWork = (): void => {
      this.busy.delete(id);
      if (this.controllers.get(id) === controller) this.controllers.delete(id);
    };
    try {
      if (this.active >= this.opts.concurrency) await new Promise<void>((r) => this.waiting.push(r));
      this.active++;
      holdsSlot = true;
      // Paused, stopped or removed while waiting for a slot: this cycle never starts.
      if (this.paused || this.stopped || controller.signal.aborted) {
        if (!controller.signal.aborted) this.opts.onSkip?.(id, 'paused');
        finishWork();
        return;
      }
      const timeoutMs = this.planned.get(id)?.target.timeoutMs ?? this.opts.cycleTimeoutMs;
      const work = Promise.resolve()
        .then(() => this.opts.runCycle(id, controller.signal))
        .catch(() => {
          // runCycle reports its own failures; the scheduler only keeps going.
        })
        .finally(finishWork);
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
        this.waiting.shift()?.();
      }
    }
  }

  /** Stops the timers and waits for cycles in flight (an abandoned cycle is not waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.planned.values()) clearInterval(p.timer);
    this.planned.clear();
    await Promise.all(this.running.values());
  }
}
