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

export interface AuditSink {
  record(entry: AuditEntry): void;
}

/** For callers that deliberately do not audit (never used by the collectors themselves). */
export const discardAudit: AuditSink = { record() {} };
