import { AsyncLocalStorage } from 'node:async_hooks';
import type { Policy } from './policy.js';

/** One statement or command the agent sent to a target. */
export interface AuditEntry {
  time: string;
  targetId: string;
  engine: string;
  statement: string;
  durationMs: number;
  outcome: 'ok' | 'error' | 'refused';
  /** Engine error code or refusal reason; never the error message (it can echo data). */
  code?: string;
  rows?: number;
}

/** A change of a sensitive-metadata policy: who changed what, when. */
export interface PolicyChangeEntry {
  time: string;
  kind: 'policy_change';
  /** The workspace default, or one target's overrides. */
  scope: 'workspace' | 'target';
  targetId?: string;
  /** The OS user the agent runs as (the operator at this desktop or host). */
  actor: string;
  /** Which door the change came through. */
  via: 'api' | 'cli';
  before: Policy;
  after: Policy;
}

/** What a collector's session needs: somewhere to record each statement it sends. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}

/** The agent's ledger also records operator decisions such as policy changes. */
export interface AgentAuditSink extends AuditSink {
  recordPolicyChange(entry: PolicyChangeEntry): void;
}

/** For callers that deliberately do not audit (never used by the collectors themselves). */
export const discardAudit: AgentAuditSink = { record() {}, recordPolicyChange() {} };

/**
 * The collection cycle a statement belongs to. A cycle runs inside
 * `auditCycle(fn)`; every statement any session sends while `fn` runs (however
 * long the session itself lives) is recorded against that one cycle, so the
 * ledger can keep each cycle as one compact record. Statements sent outside a
 * cycle (check, test connection) are grouped by the ledger on its own.
 */
export interface AuditCycleScope {
  /** Cycle number per ledger and target, assigned by the ledger on the first statement. */
  readonly ids: Map<object, Map<string, number>>;
}

const cycleScope = new AsyncLocalStorage<AuditCycleScope>();

/** Runs one collection cycle: the statements it sends are recorded as one cycle. */
export function auditCycle<T>(fn: () => Promise<T>): Promise<T> {
  return cycleScope.run({ ids: new Map() }, fn);
}

/** The cycle the current statement belongs to, if it is sent inside `auditCycle`. */
export function currentAuditCycle(): AuditCycleScope | undefined {
  return cycleScope.getStore();
}
