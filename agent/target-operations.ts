import { EventEmitter } from 'node:events';
import { collectorFor } from '../collectors/index.js';
import type { AgentAuditSink } from '../collectors/core/audit.js';
import {
  type ClosableSession,
  ConfigError,
  type EngineCollector,
  type IdentityReport,
  type ChecklistItem,
  markOptional,
  TargetConnectError,
} from '../collectors/core/engine.js';
import { setupGaps } from '../collectors/core/signal.js';
import { latestSignals, type SignalStatus } from '../collectors/core/schedule.js';
import { type Policy, resolvePolicy } from '../collectors/core/policy.js';
import type { Target } from '../collectors/target.js';
import type { SessionLease } from '../collectors/core/session-lease.js';
import { type AgentIdentity, collectCycle, type CycleResult, openSession } from '../collectors/cycle.js';
import type { TargetMemoryStore } from './state/target-memory-store.js';
import { resolveSecret } from './secrets/resolve.js';
import type { CloudCheck } from '../collectors/cloud/check.js';
import type { Vault } from './secrets/vault.js';

export class NotFoundError extends Error {}

export interface PermissionReport {
  identity: IdentityReport;
  /** The engine's checklist, followed by the cloud binding's (if any). */
  items: ChecklistItem[];
  /** The engine's grant script (the cloud access script is cloud.script: a different administrator runs it). */
  script: string;
  /** The cloud binding's identity and its checks. */
  cloud?: CloudCheck;
}

export type TargetState = 'never_collected' | 'ok' | 'limited' | 'unreachable';
export interface TargetHealth {
  state: TargetState;
  lastCollectedAt?: string;
  unavailableSignals?: number;
}

export async function requireCollector(engine: Target['engine']): Promise<EngineCollector<ClosableSession>> {
  return collectorFor(engine);
}

/**
 * What the agent does with one target, whichever way it is asked: the API
 * handler table, the CLI and the scheduler all call these, so a result means the
 * same thing everywhere.
 */
export interface CollectOptions {
  /** The workspace default policy; the target's own policy overrides it. */
  workspacePolicy?: Policy | undefined;
  onProgress?(done: number, total: number, id: string): void;
  /** Sessions kept across cycles (the run loop's pool); without it the cycle opens and closes its own. */
  sessions?: SessionLease;
  /** The run loop's time for the cycle (which families are due); now when not given. */
  now?: Date;
  /** The tick the cycle serves, when it started later (collectors/cycle.ts CycleDeps.slotAt). */
  slotAt?: Date;
  /** The interval the run loop collects the target at, when its run config sets one. */
  intervalSeconds?: number;
  /** Collect every family, due or not (the run loop's first cycle of a target). */
  allDue?: boolean;
}

const noNameKey = (): Promise<Uint8Array> =>
  Promise.reject(new ConfigError('this agent has no key to hash names with; a policy that redacts names cannot be applied here'));

export class TargetOperations {
  /** Every finished cycle: the live feed and the shipper take the same result object. */
  readonly cycles = new EventEmitter<{ cycle: [CycleResult] }>();
  private readonly health = new Map<string, TargetHealth>();
  /** Per target: every signal's status as last read (a family not due this cycle keeps its last status). */
  private readonly latest = new Map<string, SignalStatus[]>();

  constructor(
    readonly agent: AgentIdentity,
    readonly audit: AgentAuditSink,
    /** Lazy: only targets with a vault secret need the OS keychain. */
    readonly vault: () => Vault,
    readonly env: NodeJS.ProcessEnv = process.env,
    /** The per-agent key for hashing names (NameKeyStore.load); only asked for when a policy redacts names. */
    readonly nameKey: () => Promise<Uint8Array> = noNameKey,
    /** Per-target state between cycles (slow-log cursors); see CycleResult.commitMemory. */
    readonly memory?: TargetMemoryStore,
  ) {}

  password(target: Target): Promise<string | undefined> {
    return resolveSecret(target.password, this.vault, this.env, `target ${target.id}: password`);
  }

  cloudSecret(target: Target): Promise<string | undefined> {
    return resolveSecret(target.cloud?.secret, this.vault, this.env, `target ${target.id}: cloud.secret`);
  }

  /** The cloud binding's identity and permission checks (undefined without a binding). */
  async checkCloud(target: Target): Promise<CloudCheck | undefined> {
    if (target.cloud === undefined) return undefined;
    const { checkCloud } = await import('../collectors/cloud/check.js');
    return checkCloud(target.cloud, { targetId: target.id, audit: this.audit, secret: () => this.cloudSecret(target) });
  }

  /** Connects and disconnects; throws TargetConnectError with the verdict. */
  async testConnection(target: Target): Promise<IdentityReport> {
    const collector = await requireCollector(target.engine);
    const session = await openSession(target, { collector, password: await this.password(target), audit: this.audit, agent: this.agent });
    try {
      return await collector.identity(session);
    } finally {
      await session.close();
    }
  }

  async checkPermissions(target: Target): Promise<PermissionReport> {
    const collector = await requireCollector(target.engine);
    const session = await openSession(target, { collector, password: await this.password(target), audit: this.audit, agent: this.agent });
    let engine: { identity: IdentityReport; items: ChecklistItem[]; script: string };
    try {
      const identity = await collector.identity(session);
      // Optional items (the engine's optional grants, opt-ins, not applicable) never count as missing.
      const items = markOptional(await collector.checklist(session), collector.optionalGrants);
      engine = { identity, items, script: collector.grantScript(target, identity.isAdministrator ? 'all' : items) };
    } finally {
      // Closed before the cloud calls: the database connection is not held while a provider answers.
      await session.close();
    }
    const cloud = await this.checkCloud(target);
    if (cloud === undefined) return engine;
    // The engine script is for the DBA, the cloud script (cloud.script) for the cloud administrator: kept apart.
    return { ...engine, items: [...engine.items, ...cloud.items], cloud };
  }

  /** One cycle under the policy in force now (the target's over the workspace's over the defaults). */
  async collect(target: Target, opts: CollectOptions = {}): Promise<CycleResult> {
    const collector = await requireCollector(target.engine);
    const result = await collectCycle(target, {
      collector,
      password: await this.password(target),
      audit: this.audit,
      agent: this.agent,
      policy: resolvePolicy(opts.workspacePolicy, target.policy),
      nameKey: this.nameKey,
      cloudSecret: () => this.cloudSecret(target),
      ...(this.memory === undefined ? {} : { memory: this.memory }),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.sessions ? { sessions: opts.sessions } : {}),
      ...(opts.now === undefined ? {} : { now: opts.now }),
      ...(opts.slotAt === undefined ? {} : { slotAt: opts.slotAt }),
      ...(opts.intervalSeconds === undefined ? {} : { intervalSeconds: opts.intervalSeconds }),
      ...(opts.allDue === true ? { allDue: true } : {}),
    });
    // A tick with nothing due: no news about the target, nothing for the window.
    if (result.idle) return result;
    const latest = latestSignals(this.latest.get(target.id), result.payload);
    this.latest.set(target.id, latest);
    result.latest = latest;
    const unavailableSignals = latest.filter((s) => s.status === 'unavailable').length;
    // "limited" only for gaps in the setup: an optional grant or an opt-in left off is a correct setup.
    const gaps = setupGaps(latest, result.optionalSignals).length;
    this.health.set(target.id, {
      state: result.connectError ? 'unreachable' : gaps > 0 ? 'limited' : 'ok',
      lastCollectedAt: result.payload.collectedAt,
      unavailableSignals,
    });
    this.cycles.emit('cycle', result);
    return result;
  }

  healthOf(id: string): TargetHealth {
    return this.health.get(id) ?? { state: 'never_collected' };
  }
}

export { TargetConnectError };
