/**
 * The agent as the desktop app runs it: the configured targets collected on
 * their intervals by the Scheduler (the same one the CLI's `run` uses), every
 * payload handed to delivery, and one status the tray shows. Pure Node: the
 * shell only wires it to Electron (electron/main.ts).
 *
 * The state store is the one source of truth: pausing is `settings.paused`
 * (from the tray or the API's settings.update, alike), and any change to the
 * targets, whoever made it, re-plans the schedule.
 */
import { EventEmitter } from 'node:events';
import { ConfigError } from '../../collectors/core/engine.js';
import type { Engine, Target } from '../../collectors/core/target.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { configTooOpen } from '../config/file-permissions.js';
import type { CycleResult } from '../../collectors/cycle.js';
import type { StateStore, StoreChange } from '../config/state-store.js';
import { CycleTimeoutError, Scheduler, type ScheduledTarget } from './scheduler.js';
import { CredentialsError } from '../secrets/resolve.js';
import { type CredentialAge, credentialAge, targetCredentialAge } from '../secrets/rotation.js';
import type { TargetOperations, TargetState } from '../target-operations.js';

function rotationAttention(age: CredentialAge): { state: 'due' | 'overdue'; dueAt: string } | undefined {
  return (age.state === 'due' || age.state === 'overdue') && age.dueAt !== undefined ? { state: age.state, dueAt: age.dueAt } : undefined;
}

/** Why a target is not being collected as it should. */
export type ProblemKind = 'credentials' | 'unreachable' | 'timeout' | 'config' | 'internal';

export interface TargetProblem {
  kind: ProblemKind;
  /** One line for the operator. */
  message: string;
  since: string;
}

export interface RuntimeTargetStatus {
  id: string;
  name: string;
  engine: Engine;
  state: TargetState;
  lastCollectedAt?: string;
  unavailableSignals?: number;
  /** Signals unavailable because the monitoring identity lacks a grant (last cycle). */
  permissionGaps?: number;
  problem?: TargetProblem;
  /** Set while the password is due (within 14 days) or overdue for rotation. */
  rotation?: { state: 'due' | 'overdue'; dueAt: string };
}

/** What the delivery side reports (the outbox/spool owner supplies it). */
export interface DeliveryHealth {
  /** Payloads stored and not yet sent. */
  pending: number;
  /** Set while sending fails (destination refuses or cannot be reached). */
  failing?: string;
}

export interface RuntimeStatus {
  paused: boolean;
  targets: RuntimeTargetStatus[];
  /** Set when the state file or its folder is open to other users. */
  configTooOpen?: string;
  /** Set while the destination API key is due or overdue for rotation. */
  apiKeyRotation?: { state: 'due' | 'overdue'; dueAt: string };
  delivery?: DeliveryHealth & { backlog: boolean };
  /** Set when a collected payload could not be handed to delivery (e.g. disk full). */
  deliveryError?: string;
}

export interface RuntimeOptions {
  store: StateStore;
  ops: TargetOperations;
  /** Where every scheduled payload goes (the local outbox, or the delivery spool). */
  deliver(payload: PayloadV1): Promise<unknown>;
  /** Cycles running at once (default 4). */
  concurrency?: number;
  /** Per-cycle timeout of a target (default: see defaultCycleTimeoutMs). */
  cycleTimeoutMs?: (target: Target) => number;
  delivery?: () => DeliveryHealth | undefined;
  /** Pending payloads from which delivery counts as backlogged (default 100). */
  backlogThreshold?: number;
  platform?: NodeJS.Platform;
  log?: (err: unknown) => void;
}

/**
 * A cycle may take as long as its interval (then the next one is due anyway),
 * but at least 30 s (connect timeout plus slow catalog reads) and at most 10 min.
 */
export function defaultCycleTimeoutMs(target: Target): number {
  return Math.min(Math.max(target.intervalSeconds * 1000, 30_000), 600_000);
}

const oneLine = (m: string): string => m.replace(/\s+/g, ' ').trim().slice(0, 300);

export class AgentRuntime extends EventEmitter<{ change: [] }> {
  private readonly scheduler: Scheduler;
  private readonly problems = new Map<string, TargetProblem>();
  private readonly gaps = new Map<string, number>();
  private readonly configs = new Map<string, string>();
  private deliveryError: string | undefined;
  private tooOpen: string | undefined;
  private started = false;
  private stopped = false;
  private readonly onStoreChange = (what: StoreChange): void => {
    try {
      if (what === 'settings') this.applyPaused();
      else this.replan();
    } catch (err) {
      this.opts.log?.(err);
    }
    this.changed();
  };
  private readonly onCycle = ({ payload }: CycleResult): void => {
    // Every collection counts, whoever asked for it (schedule, tray, API).
    const id = payload.target.id;
    this.gaps.set(id, payload.signals.filter((s) => s.status === 'unavailable' && s.reason === 'permission').length);
    if (this.opts.ops.healthOf(id).state !== 'unreachable') this.problems.delete(id);
    this.changed();
  };

  constructor(private readonly opts: RuntimeOptions) {
    super();
    this.scheduler = new Scheduler({
      concurrency: opts.concurrency ?? 4,
      runCycle: (id, signal) => this.runCycle(id, signal),
      onTimeout: (id, ms) => {
        this.setProblem(id, 'timeout', new CycleTimeoutError(id, ms).message);
        this.changed();
      },
    });
  }

  /** Starts collecting (unless paused) and follows every later change of the store. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.store.changes.on('change', this.onStoreChange);
    this.opts.ops.cycles.on('cycle', this.onCycle);
    if (this.opts.store.settings.paused) this.scheduler.pause();
    this.checkConfigFile();
    this.replan();
    this.changed();
  }

  get paused(): boolean {
    return this.opts.store.settings.paused;
  }

  /** Stops new cycles (saved: the app starts paused next time too). */
  async pause(): Promise<void> {
    await this.opts.store.updateSettings({ paused: true });
  }

  async resume(): Promise<void> {
    await this.opts.store.updateSettings({ paused: false });
  }

  /** One cycle of every target now (a target already collecting is not doubled). Nothing while paused. */
  async collectNow(): Promise<void> {
    if (this.paused || this.stopped) return;
    await Promise.all(this.opts.store.targets.map((t) => this.scheduler.trigger(t.id)));
  }

  status(): RuntimeStatus {
    const delivery = this.opts.delivery?.();
    const threshold = this.opts.backlogThreshold ?? 100;
    return {
      paused: this.paused,
      targets: this.opts.store.targets.map((t) => {
        const health = this.opts.ops.healthOf(t.id);
        const problem = this.problems.get(t.id);
        const gaps = this.gaps.get(t.id);
        const rotation = rotationAttention(targetCredentialAge(t));
        return {
          id: t.id,
          name: t.name ?? t.id,
          engine: t.engine,
          ...health,
          ...(gaps === undefined ? {} : { permissionGaps: gaps }),
          ...(problem === undefined ? {} : { problem }),
          ...(rotation === undefined ? {} : { rotation }),
        };
      }),
      ...this.apiKeyRotation(),
      ...(this.tooOpen === undefined ? {} : { configTooOpen: this.tooOpen }),
      ...(delivery === undefined ? {} : { delivery: { ...delivery, backlog: delivery.failing !== undefined || delivery.pending >= threshold } }),
      ...(this.deliveryError === undefined ? {} : { deliveryError: this.deliveryError }),
    };
  }

  private apiKeyRotation(): { apiKeyRotation?: { state: 'due' | 'overdue'; dueAt: string } } {
    const d = this.opts.store.settings.destination;
    const r = d === null ? undefined : rotationAttention(credentialAge(d.apiKeySetAt));
    return r === undefined ? {} : { apiKeyRotation: r };
  }

  /** Stops the schedule and waits for the cycles in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.store.changes.off('change', this.onStoreChange);
    this.opts.ops.cycles.off('cycle', this.onCycle);
    await this.scheduler.stop();
  }

  private changed(): void {
    this.emit('change');
  }

  private setProblem(id: string, kind: ProblemKind, message: string): void {
    const current = this.problems.get(id);
    this.problems.set(id, { kind, message: oneLine(message), since: current?.kind === kind ? current.since : new Date().toISOString() });
  }

  private checkConfigFile(): void {
    this.tooOpen = configTooOpen(this.opts.store.file, this.opts.platform);
  }

  private applyPaused(): void {
    const paused = this.opts.store.settings.paused;
    if (paused === this.scheduler.isPaused) return;
    if (paused) {
      this.scheduler.pause();
      return;
    }
    this.scheduler.resume();
    // Resuming collects at once rather than at each target's next tick.
    for (const t of this.opts.store.targets) void this.scheduler.trigger(t.id);
  }

  private replan(): void {
    if (this.stopped) return;
    const targets = this.opts.store.targets;
    const timeout = this.opts.cycleTimeoutMs ?? defaultCycleTimeoutMs;
    const plan: ScheduledTarget[] = targets.map((t) => ({ id: t.id, intervalMs: t.intervalSeconds * 1000, timeoutMs: timeout(t) }));
    const before = new Map(this.configs);
    this.configs.clear();
    for (const t of targets) this.configs.set(t.id, JSON.stringify(t));
    for (const id of before.keys()) {
      if (this.configs.has(id)) continue;
      this.problems.delete(id);
      this.gaps.delete(id);
    }
    this.scheduler.plan(plan);
    // An edited target (a fixed password, another host) is collected again now, not at its next tick.
    for (const [id, json] of this.configs) {
      const old = before.get(id);
      if (old !== undefined && old !== json) void this.scheduler.trigger(id);
    }
  }

  private async runCycle(id: string, signal: AbortSignal): Promise<void> {
    const target = this.opts.store.target(id);
    if (target === undefined) return;
    let payload: PayloadV1;
    let commitMemory: () => Promise<void>;
    try {
      const result = await this.opts.ops.collect(target, { workspacePolicy: this.opts.store.settings.policy });
      payload = result.payload;
      commitMemory = result.commitMemory;
      if (result.connectError !== undefined) {
        this.setProblem(id, result.connectError.kind === 'authentication' ? 'credentials' : 'unreachable', result.connectError.message);
      }
    } catch (err) {
      if (err instanceof CredentialsError) this.setProblem(id, 'credentials', err.message);
      else if (err instanceof ConfigError) this.setProblem(id, 'config', err.message);
      else {
        this.opts.log?.(err);
        this.setProblem(id, 'internal', `collection failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.changed();
      return;
    } finally {
      this.checkConfigFile();
    }
    // A target removed while its cycle ran: its payload is not shipped.
    if (signal.aborted && !(signal.reason instanceof CycleTimeoutError)) return;
    try {
      await this.opts.deliver(payload);
      // Only once the payload is stored for delivery do the slow-log cursors move past it.
      await commitMemory();
      this.deliveryError = undefined;
    } catch (err) {
      this.opts.log?.(err);
      this.deliveryError = `payloads cannot be stored for delivery: ${oneLine(err instanceof Error ? err.message : String(err))}`;
    }
    this.changed();
  }
}
