import type { AnySignalSpec, Unavailable } from './signal.js';
import type { Engine, TargetBase } from './target.js';
import type { AuditSink } from './audit.js';
import type { TargetMemory } from './memory.js';

/** Why a target as a whole could not be reached. CLI exit code 3 for all of them. */
export const CONNECT_FAILURE_KINDS = ['unreachable', 'tls', 'authentication', 'timeout'] as const;
export type ConnectFailureKind = (typeof CONNECT_FAILURE_KINDS)[number];

/** The target could not be connected to: no signal was collected. */
export class TargetConnectError extends Error {
  constructor(
    readonly kind: ConnectFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'TargetConnectError';
  }
}

/** Bad configuration the operator must fix (CLI exit code 2). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface SessionContext {
  audit: AuditSink;
  /** Identifies the agent to the server (application_name, appName, CLIENT SETNAME). */
  applicationName: string;
  /**
   * State kept for this target between cycles (e.g. the last slow-log entry id
   * shipped). Absent for one-off sessions (check, grants): collectors then work
   * as if this were the first cycle.
   */
  memory?: TargetMemory;
}

export interface ClosableSession {
  close(): Promise<void>;
  /**
   * The session sends statements without waiting for the previous answer (PostgreSQL's
   * pipeline): the cycle starts every signal's read at once, and the statements of one
   * turn of the event loop leave in one write (collectors/core/runner.ts).
   */
  readonly pipelined?: boolean;
}

export const CHECKLIST_STATUSES = ['granted', 'missing', 'not_enabled', 'not_licensed', 'opt_in', 'not_applicable'] as const;
export type ChecklistStatus = (typeof CHECKLIST_STATUSES)[number];

export interface ChecklistItem {
  /** The grant or prerequisite probed, e.g. 'pg_read_all_stats'. */
  grant: string;
  status: ChecklistStatus;
  /** Signals that need it. */
  signals: string[];
  /** Plain-words reason. */
  detail: string;
  /** The exact statement(s) that fix it, for the DBA to review. */
  fix?: string;
  /**
   * Not expected of a least-privilege setup (a superuser-only view, an opt-in, not
   * applicable here): whatever its status, it never makes a correct setup incomplete.
   */
  optional?: true;
}

/** Marks the items a correct setup need not have: the engine's optional grants, opt-ins, not applicable. */
export function markOptional(items: readonly ChecklistItem[], optionalGrants: readonly string[] = []): ChecklistItem[] {
  return items.map((i) => (optionalGrants.includes(i.grant) || i.status === 'opt_in' || i.status === 'not_applicable' ? { ...i, optional: true as const } : i));
}

export interface IdentityReport {
  user: string;
  isAdministrator: boolean;
  /** Why the identity is considered an administrator (empty when it is not). */
  reasons: string[];
  serverVersion: string;
}

/** T: the target type the engine reads (the composed Target, with the engine's own options). */
export interface EngineCollector<S extends ClosableSession = ClosableSession, T extends TargetBase = TargetBase> {
  engine: Engine;
  catalog: readonly AnySignalSpec<S>[];
  /**
   * Grants a least-privilege monitoring identity is not expected to hold (superuser-only
   * views): their checklist items are optional and their signals never make the target
   * "limited". Absent: none.
   */
  optionalGrants?: readonly string[];
  connect(target: T, password: string | undefined, ctx: SessionContext): Promise<S>;
  /**
   * Whether the operator opted this target into an `optIn` signal (a licence they
   * hold, an intrusive probe they accept). Absent: every opt-in signal stays off.
   */
  optedIn?(target: T, spec: AnySignalSpec<S>): boolean;
  /** Turns a driver error raised by one signal's read into an unavailable result. */
  mapSignalError(err: unknown): Unavailable;
  identity(session: S): Promise<IdentityReport>;
  checklist(session: S): Promise<ChecklistItem[]>;
  /** One reviewable script that gives a dedicated monitoring identity exactly what is missing. */
  grantScript(target: T, items: readonly ChecklistItem[] | 'all'): string;
}
