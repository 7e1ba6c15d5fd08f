import type { AnySignalSpec, Unavailable } from './signal.js';
import type { Engine, Target } from './target.js';
import type { AuditSink } from './audit.js';

/** Why a target as a whole could not be reached. CLI exit code 3 for all of them. */
export type ConnectFailureKind = 'unreachable' | 'tls' | 'authentication' | 'timeout';

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
}

export interface ClosableSession {
  close(): Promise<void>;
}

export type ChecklistStatus = 'granted' | 'missing' | 'not_enabled' | 'not_licensed' | 'opt_in' | 'not_applicable';

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
}

export interface IdentityReport {
  user: string;
  isAdministrator: boolean;
  /** Why the identity is considered an administrator (empty when it is not). */
  reasons: string[];
  serverVersion: string;
}

export interface EngineCollector<S extends ClosableSession = ClosableSession> {
  engine: Engine;
  catalog: readonly AnySignalSpec<S>[];
  connect(target: Target, password: string | undefined, ctx: SessionContext): Promise<S>;
  /** Turns a driver error raised by one signal's read into an unavailable result. */
  mapSignalError(err: unknown): Unavailable;
  identity(session: S): Promise<IdentityReport>;
  checklist(session: S): Promise<ChecklistItem[]>;
  /** One reviewable script that gives a dedicated monitoring identity exactly what is missing. */
  grantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string;
  /** Whether the operator enabled an opt-in signal for this target; without it opt-in signals stay `disabled`. */
  isOptedIn?(target: Target, spec: AnySignalSpec<S>): boolean;
}
