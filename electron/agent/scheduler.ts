/**
 * Runs each target's cycle on its own interval with bounded concurrency. A slow
 * target never delays the others (each has its own timer, and a target whose
 * previous cycle is still running is skipped, not queued). Pausing stops new
 * cycles; cycles in flight finish.
 */
export interface ScheduledTarget {
  id: string;
  intervalMs: number;
}

export interface SchedulerOptions {
  concurrency: number;
  runCycle(targetId: string): Promise<void>;
  onSkip?(targetId: string, why: 'still_running' | 'paused'): void;
}

export class Scheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<void>>();
  private waiting: Array<() => void> = [];
  private active = 0;
  private paused = false;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  start(targets: readonly ScheduledTarget[]): void {
    for (const t of targets) {
      this.trigger(t.id);
      this.timers.set(t.id, setInterval(() => this.trigger(t.id), t.intervalMs));
    }
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

  /** Starts a cycle now unless one is running for that target; resolves when it ends. */
  trigger(id: string): Promise<void> {
    const inFlight = this.running.get(id);
    if (inFlight) {
      this.opts.onSkip?.(id, 'still_running');
      return inFlight;
    }
    if (this.paused || this.stopped) {
      this.opts.onSkip?.(id, 'paused');
      return Promise.resolve();
    }
    const run = this.withSlot(() => this.opts.runCycle(id))
      .catch(() => {
        // runCycle reports its own failures; the scheduler only keeps going.
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Stops the timers and waits for cycles in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
    await Promise.all(this.running.values());
  }
}
