/**
 * The agent as the desktop app runs it: the configured targets collected on
 * their intervals by the RunLoop (the same one the CLI's `run` uses), every
 * payload handed to delivery, and one status the tray shows. Pure Node: the
 * shell only wires it to Electron (electron/main.ts).
 *
 * The state store is the one source of truth: pausing is `settings.paused`
 * (from the tray or the API's settings.update, alike), and any change to the
 * targets, whoever made it, re-plans the schedule.
 */
import { EventEmitter } from 'node:events';
import type { Engine, Target } from '../../collectors/target.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { configTooOpen } from '../config/file-permissions.js';
import type { StateStore, StoreChange } from '../config/state-store.js';
import { defaultCycleTimeoutMs, RunLoop, type TargetProblem } from './run-loop.js';
import { type CredentialAge, credentialAge, targetCredentialAge } from '../secrets/rotation.js';
import type { TargetOperations, TargetState } from '../target-operations.js';

function rotationAttention(age: CredentialAge): { state: 'due' | 'overdue'; dueAt: string } | undefined {
  return (age.state === 'due' || age.state === 'overdue') && age.dueAt !== undefined ? { state: age.state, dueAt: age.dueAt } : undefined;
}

export type { ProblemKind, TargetProblem } from './run-loop.js';
export { defaultCycleTimeoutMs };

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

export class AgentRuntime extends EventEmitter<{ change: [] }> {
  private readonly loop: RunLoop;
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

  constructor(private readonly opts: RuntimeOptions) {
    super();
    this.loop = new RunLoop({
      ops: opts.ops,
      deliver: opts.deliver,
      policy: () => opts.store.settings.policy,
      concurrency: opts.concurrency ?? 4,
      cycleTimeoutMs: opts.cycleTimeoutMs ?? defaultCycleTimeoutMs,
      log: (err) => this.opts.log?.(err),
    });
    this.loop.on('change', () => this.changed());
    // A cycle may have rewritten the state file (a sealed secret, a policy): its mode is checked again.
    this.loop.on('cycle', () => this.checkConfigFile());
  }

  /** Starts collecting (unless paused) and follows every later change of the store. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.store.changes.on('change', this.onStoreChange);
    if (this.opts.store.settings.paused) this.loop.pause();
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
    await this.loop.collectNow();
  }

  status(): RuntimeStatus {
    const delivery = this.opts.delivery?.();
    const threshold = this.opts.backlogThreshold ?? 100;
    const deliveryError = this.loop.deliveryError;
    return {
      paused: this.paused,
      targets: this.opts.store.targets.map((t) => {
        const health = this.opts.ops.healthOf(t.id);
        const problem = this.loop.problemOf(t.id);
        const gaps = this.loop.permissionGapsOf(t.id);
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
      ...(deliveryError === undefined ? {} : { deliveryError }),
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
    await this.loop.stop();
  }

  private changed(): void {
    this.emit('change');
  }

  private checkConfigFile(): void {
    this.tooOpen = configTooOpen(this.opts.store.file, this.opts.platform);
  }

  private applyPaused(): void {
    const paused = this.opts.store.settings.paused;
    if (paused === this.loop.isPaused) return;
    if (paused) this.loop.pause();
    else this.loop.resume();
  }

  private replan(): void {
    if (this.stopped) return;
    this.loop.plan(this.opts.store.targets.map((target) => ({ target, intervalSeconds: target.intervalSeconds })));
  }
}
