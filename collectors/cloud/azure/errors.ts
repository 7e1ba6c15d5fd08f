import { type Unavailable, unavailable } from '../../core/signal.js';
import type { AzureBinding } from '../binding.js';
import { azureAccessScript } from './access.js';
import { resourceIdOf } from './resource.js';
import { oneLine } from '../../core/text.js';

/**
 * Azure SDK errors → the cloud signals' reason. Error messages from Azure are
 * never copied whole: only status, code and our own words (an ARM message
 * names object ids and scopes; an Entra description can name the app).
 */

/** Fields of @azure/core-rest-pipeline's RestError and @azure/identity's AuthenticationError the mapping reads. */
interface AzureErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { headers?: { get(name: string): string | undefined } };
  errorResponse?: { error?: string; errorDescription?: string; error_codes?: number[] };
}

/** ARM error codes of a valid token that may not read the scope. */
const PERMISSION_CODES = /^(AuthorizationFailed|Forbidden|LinkedAuthorizationFailed|InsufficientPermissions?|Unauthorized)$/i;
/** 401 codes about the token itself (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors). */
const TOKEN_CODES =
  /^(InvalidAuthenticationToken|ExpiredAuthenticationToken|InvalidAuthenticationTokenTenant|InvalidAudience|AuthenticationFailed|InvalidAuthenticationTokenAudience)$/i;
const THROTTLE_CODES = /^(TooManyRequests|Throttled|SubscriptionRequestsThrottled|TenantRequestsThrottled|ResourceRequestsThrottled)$/i;

/** Entra error codes an operator can act on, in plain words (https://learn.microsoft.com/entra/identity-platform/reference-error-codes). */
const AADSTS: Record<string, string> = {
  '7000215': 'the client secret is not valid for this application',
  '7000222': 'the client secret has expired',
  '700016': 'the application (client) id is not registered in this tenant',
  '90002': 'the tenant id was not found',
  '900023': 'the tenant id is not valid',
  '700027': 'the client assertion is not valid',
};

/** The header the client keeps Azure's Retry-After in when it was longer than the client waits (session.ts). */
export const ORIGINAL_RETRY_AFTER = 'x-logstag-retry-after';

const brief = (s: string | undefined): string => oneLine(s, 160);

export function isThrottle(status: number | undefined, code: string | undefined): boolean {
  // 429 is ARM's throttling status; the metrics data plane documents 529 for its own throttling.
  return status === 429 || status === 529 || (code !== undefined && THROTTLE_CODES.test(code));
}

export function isPermission(status: number | undefined, code: string | undefined): boolean {
  if (status === 403) return true;
  // The batch API answers 401 (not 403) to a valid token without Monitoring Reader on the subscription.
  if (status === 401) return !(code !== undefined && TOKEN_CODES.test(code));
  return code !== undefined && PERMISSION_CODES.test(code);
}

export function permissionReason(b: AzureBinding, what: string): Unavailable {
  return unavailable(
    'permission',
    `the service principal ${b.clientId} may not read Azure Monitor metrics of ${resourceIdOf(b)} (${what}); it needs the Monitoring Reader role on subscription ${b.subscriptionId}`,
    azureAccessScript(b),
  );
}

function authFailure(e: AzureErrorShape, b: AzureBinding): Unavailable {
  const described = e.errorResponse?.errorDescription ?? e.message ?? '';
  const aadsts = /AADSTS(\d+)/.exec(described)?.[1] ?? e.errorResponse?.error_codes?.[0]?.toString();
  const words = aadsts === undefined ? undefined : AADSTS[aadsts];
  const code = [e.errorResponse?.error, aadsts === undefined ? undefined : `AADSTS${aadsts}`].filter(Boolean).join(' ');
  const fixSecret = aadsts === '7000215' || aadsts === '7000222';
  return unavailable(
    'error',
    `authentication failed: Microsoft Entra ID refused the service principal ${b.clientId}${words === undefined ? '' : ` (${words})`}${code === '' ? '' : ` [${code}]`}`,
    fixSecret ? `Create a new client secret (az ad app credential reset --id ${b.clientId} --append) and store it as this binding's secret` : undefined,
  );
}

function retryAfterWords(e: AzureErrorShape): string {
  const h = e.response?.headers;
  const seconds = h?.get(ORIGINAL_RETRY_AFTER) ?? h?.get('retry-after');
  return seconds === undefined ? '' : `; Azure asked to wait ${seconds} s`;
}

export function mapAzureError(err: unknown, b: AzureBinding): Unavailable {
  const e = (err ?? {}) as AzureErrorShape;
  if (e.name === 'AuthenticationError' || e.name === 'AuthenticationRequiredError') return authFailure(e, b);
  if (e.name === 'CredentialUnavailableError') return unavailable('error', `authentication failed: ${brief(e.message)}`);
  const status = e.statusCode;
  const code = e.code;
  const what = [status === undefined ? undefined : `HTTP ${status}`, code].filter(Boolean).join(' ');
  if (isThrottle(status, code)) return unavailable('error', `throttled by Azure Monitor (${what}${retryAfterWords(e)}); the next cycle retries`);
  if (code === 'MissingSubscriptionRegistration') {
    return unavailable(
      'not_enabled',
      `the Microsoft.Insights resource provider is not registered for subscription ${b.subscriptionId}`,
      `az provider register --namespace Microsoft.Insights --subscription ${b.subscriptionId}`,
    );
  }
  if (isPermission(status, code)) return permissionReason(b, what);
  if (status === 401) return unavailable('error', `authentication failed: Azure Monitor rejected the access token (${what})`);
  if (status !== undefined) return unavailable('error', `Azure Monitor answered ${what}`);
  // No HTTP answer: DNS, TCP, TLS. Node's messages name the host and the cause, never a credential.
  return unavailable('error', `cannot reach Azure${code === undefined ? '' : ` (${code})`}: ${brief(e.message)}`);
}
