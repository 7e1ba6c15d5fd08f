import { type Unavailable, unavailable } from '../../core/signal.js';
import type { AwsBinding } from '../binding.js';
import { awsAccessScript, METRICS_ACTION } from './access.js';
import { oneLine } from '../../core/text.js';

/**
 * AWS SDK v3 errors are smithy ServiceExceptions: `name` is the error code
 * (with CloudWatch's query-compatible JSON protocol, the code from the
 * x-amzn-query-error header, e.g. "AccessDenied"), `$metadata.httpStatusCode`
 * the status. Network and TLS failures are plain Node errors with a `code`.
 * Codes from https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html
 * and https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html.
 */
const PERMISSION = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'LimitExceeded', 'RequestThrottled']);
const AUTHENTICATION = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const TLS = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;

interface ErrorFacts {
  name: string;
  status: number | undefined;
  code: string;
}

function facts(err: unknown): ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  let code = typeof e.code === 'string' ? e.code : '';
  // The Node error behind an SDK wrapper (a TLS or socket failure) carries the code.
  const cause = e.cause as { code?: unknown } | undefined;
  if (code === '' && typeof cause?.code === 'string') code = cause.code;
  return { name: typeof e.name === 'string' ? e.name : '', status, code };
}

/** The provider's code for the audit ledger: an error name or a Node code, never a message. */
export function awsErrorCode(err: unknown): string {
  const f = facts(err);
  if (f.status !== undefined) return f.name || `HTTP${f.status}`;
  return f.code || f.name || 'error';
}

/** Plain words from an SDK-side error message, never a service message (it can name principals, ARNs). */
const brief = (err: unknown): string => oneLine(err instanceof Error ? err.message : err, 160);

export function mapAwsError(err: unknown, binding: AwsBinding): Unavailable {
  const f = facts(err);
  if (PERMISSION.has(f.name)) {
    return unavailable(
      'permission',
      `the AWS identity is not allowed ${METRICS_ACTION} (${f.name}); the agent needs only that read-only action`,
      awsAccessScript(binding),
    );
  }
  if (THROTTLED.has(f.name) || f.status === 429) {
    return unavailable('error', `throttled by AWS (${f.name || 'HTTP 429'}: the account's CloudWatch request rate was exceeded); the next cycle retries`);
  }
  if (AUTHENTICATION.has(f.name)) {
    return unavailable('error', `authentication failed (${f.name}): the access key id and secret access key are wrong, disabled or expired`);
  }
  if (f.name === 'CredentialsProviderError') {
    // Raised by the SDK's profile loader: its message names the profile and what is missing, never a key.
    return unavailable('error', `AWS credentials: ${brief(err)}`);
  }
  if (TLS.test(f.code)) return unavailable('error', `TLS to the AWS endpoint failed (${f.code})`);
  if (NETWORK.has(f.code)) return unavailable('error', `the AWS endpoint could not be reached (${f.code})`);
  if (f.name === 'TimeoutError' || f.code === 'ETIMEDOUT') return unavailable('timeout', 'the AWS endpoint did not answer in time');
  if (f.status !== undefined) {
    return unavailable('error', `AWS answered ${f.name || 'an error'} (HTTP ${f.status})${f.status >= 500 ? '; the next cycle retries' : ''}`);
  }
  return unavailable('error', `AWS request failed: ${f.code || f.name || 'error'}`);
}
