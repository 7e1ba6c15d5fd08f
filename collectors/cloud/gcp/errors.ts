import { type Unavailable, unavailable } from '../../core/signal.js';
import type { GcpBinding } from '../binding.js';
import { gcpAccessScript, METRICS_PERMISSION } from './access.js';

/**
 * google-gax reports a failed REST call as a GoogleError: `code` is the gRPC
 * status (https://cloud.google.com/apis/design/errors#handling_errors) and
 * `httpStatusCode` the HTTP status it came from. The token exchange fails as a
 * gaxios error whose response body is an OAuth error (RFC 6749 §5.2), reached
 * through `cause`.
 */
export const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;
const GRPC_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

interface ErrorFacts {
  /** gRPC status number, when the error carries one. */
  grpc?: number;
  http?: number;
  /** OAuth error code of a failed token exchange (invalid_grant, …). */
  oauth?: string;
  /** A system error code (ECONNREFUSED, CERT_HAS_EXPIRED, …) of a request that got no answer. */
  system?: string;
  /** The Google error's `reason` (ErrorInfo), e.g. IAM_PERMISSION_DENIED, RATE_LIMIT_EXCEEDED. */
  reason?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** What an SDK error says, from the whole cause chain; never its message (it can echo a request). */
export function errorFacts(err: unknown): ErrorFacts {
  const f: ErrorFacts = {};
  for (let e: unknown = err, depth = 0; isObj(e) && depth < 8; e = e.cause, depth++) {
    if (f.grpc === undefined && typeof e.code === 'number' && e.code > 0 && e.code <= 16) f.grpc = e.code;
    const status =
      typeof e.httpStatusCode === 'number'
        ? e.httpStatusCode
        : typeof e.status === 'number'
          ? e.status
          : isObj(e.response) && typeof e.response.status === 'number'
            ? e.response.status
            : undefined;
    f.http ??= status;
    const data = isObj(e.response) ? e.response.data : undefined;
    if (f.oauth === undefined && isObj(data) && typeof data.error === 'string') f.oauth = data.error;
    if (f.system === undefined && typeof e.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(e.code)) f.system = e.code;
    if (f.reason === undefined && typeof e.reason === 'string') f.reason = e.reason;
  }
  return f;
}

/** The audit code of a failed call: the gRPC status name, OAuth error, or system error. */
export function errorCode(err: unknown): string {
  const f = errorFacts(err);
  if (f.oauth !== undefined) return `oauth:${f.oauth}`;
  if (f.http !== undefined && f.grpc !== undefined) return GRPC_NAMES[f.grpc] ?? `HTTP_${f.http}`;
  if (f.system !== undefined) return f.system;
  if (f.grpc !== undefined) return GRPC_NAMES[f.grpc] ?? String(f.grpc);
  return f.http === undefined ? 'error' : `HTTP_${f.http}`;
}

export function mapGcpError(err: unknown, binding: GcpBinding): Unavailable {
  const f = errorFacts(err);
  // A failed token exchange first: gax reports it under the HTTP status of the token endpoint.
  if (f.oauth !== undefined) {
    if (f.http === 429) return unavailable('error', 'throttled by Google Cloud (the OAuth token endpoint answered 429); the next cycle retries');
    return unavailable(
      'error',
      `authentication failed: Google's token endpoint refused the service-account key (${f.oauth}); check the key is current and the account is not disabled or deleted`,
    );
  }
  if (f.http === 403 || f.grpc === GRPC.PERMISSION_DENIED) {
    return unavailable(
      'permission',
      `the service account may not read Cloud Monitoring metrics in project ${binding.projectId} (PERMISSION_DENIED: it needs ${METRICS_PERMISSION}, in roles/monitoring.viewer)`,
      gcpAccessScript(binding),
    );
  }
  if (f.http === 429 || f.grpc === GRPC.RESOURCE_EXHAUSTED) {
    return unavailable(
      'error',
      `throttled by Google Cloud Monitoring (RESOURCE_EXHAUSTED${f.reason === undefined ? '' : `, ${f.reason}`}: the project's read-request quota is used up for now); the next cycle retries`,
    );
  }
  if (f.http === 401 || f.grpc === GRPC.UNAUTHENTICATED) {
    return unavailable('error', 'authentication failed: Google did not accept the access token of the service-account key (UNAUTHENTICATED)');
  }
  if (f.http === undefined && f.system !== undefined) return unavailable('error', `cannot reach Google Cloud: ${f.system}`);
  if (f.grpc === GRPC.NOT_FOUND) return unavailable('error', `Cloud Monitoring does not know project ${binding.projectId} or this metric (NOT_FOUND)`);
  if (f.grpc === GRPC.INVALID_ARGUMENT) return unavailable('error', 'Cloud Monitoring rejected the request (INVALID_ARGUMENT)');
  if (f.grpc === GRPC.UNAVAILABLE) return unavailable('error', 'Google Cloud Monitoring is unavailable (UNAVAILABLE); the next cycle retries');
  return unavailable('error', `Google Cloud Monitoring call failed (${errorCode(err)})`);
}
