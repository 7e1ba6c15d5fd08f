import type { AuditSink } from '../core/audit.js';
import type { ChecklistItem, ClosableSession } from '../core/engine.js';
import type { EgressEndpoint } from '../core/egress-guard.js';
import type { Unavailable } from '../core/signal.js';
import type { CloudBinding, CloudProviderId } from './binding.js';
import type { CloudEgress } from './egress.js';
import type { MetricQuery, QueryResult, TimeWindow } from './metrics.js';

export interface CloudContext {
  /** Every provider API call is recorded, like every statement sent to a database. */
  audit: AuditSink;
  targetId: string;
  /** The guarded transport every SDK request must go through. */
  egress: CloudEgress;
}

/** One cycle's connection to a provider's metrics API. */
export interface CloudSession extends ClosableSession {
  /**
   * Reads every query for the window in as few provider calls as the API allows.
   * Throws the SDK's error when the whole call fails (credentials, permission,
   * throttling): the provider's mapError turns it into the signals' reason.
   */
  fetch(queries: readonly MetricQuery[], window: TimeWindow): Promise<Map<string, QueryResult>>;
}

/** Who the cloud identity is and whether it can change anything, where the provider lets the agent tell. */
export interface CloudIdentity {
  principal: string;
  /** 'unknown' where the provider offers no way for the identity to see its own rights. */
  readOnly: 'yes' | 'no' | 'unknown';
  /** Plain-words reasons (what grants write access; or why it cannot be told). */
  reasons: string[];
}

export interface CloudProvider<B extends CloudBinding = CloudBinding> {
  provider: CloudProviderId;
  /** The metrics read for this binding's service (the cloud.* signals draw from these). */
  queries(binding: B): MetricQuery[];
  /** Every host the SDK needs for this binding's region (token, metrics); the egress guard admits only these. */
  endpoints(binding: B): EgressEndpoint[];
  /** Builds the SDK clients; performs no network call. `secret` is the resolved binding secret. */
  open(binding: B, secret: string | undefined, ctx: CloudContext): Promise<CloudSession>;
  /** AccessDenied / AuthorizationFailed / PERMISSION_DENIED → permission (with the access script); throttling → error "throttled". */
  mapError(err: unknown, binding: B): Unavailable;
  /** Probes the identity's read-only metrics permission live (one small read). */
  checklist(session: CloudSession, binding: B): Promise<ChecklistItem[]>;
  /** The exact IAM policy / role assignment / IAM binding a read-only metrics identity needs, for review. */
  accessScript(binding: B): string;
  identity(session: CloudSession, binding: B): Promise<CloudIdentity>;
}
