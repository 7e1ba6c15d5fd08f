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
