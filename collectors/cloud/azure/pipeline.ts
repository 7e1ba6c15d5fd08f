import type { MetricsClientOptions } from '@azure/monitor-query-metrics';
import type { AuditSink } from '../../core/audit.js';
import { ORIGINAL_RETRY_AFTER } from './errors.js';

/** The pipeline policy shape shared by both Azure clients (core-rest-pipeline's PipelinePolicy). */
export type AzurePolicy = NonNullable<MetricsClientOptions['additionalPolicies']>[number]['policy'];
type PipelineRequest = Parameters<AzurePolicy['sendRequest']>[0];

/**
 * One retry at most: the collector runs every minute, and a retried 5xx or a
 * throttled answer is better left to the next cycle than to hold this one.
 */
export const RETRY_OPTIONS = { maxRetries: 1, retryDelayInMs: 500, maxRetryDelayInMs: 2_000 } as const;
/** The longest Retry-After the client honours within a cycle. */
export const RETRY_AFTER_CAP_MS = 2_000;

/** What an audit entry says a request was: never the body (the token request carries the secret), never the query beyond names. */
export function describeRequest(req: PipelineRequest): string {
  const url = new URL(req.url);
  if (url.pathname.endsWith('/metrics:getBatch')) {
    const q = url.searchParams;
    return `metrics:getBatch ${q.get('metricnamespace') ?? '?'} ${q.get('metricnames') ?? '?'} interval=${q.get('interval') ?? 'PT1M'} aggregation=${q.get('aggregation') ?? 'default'}`;
  }
  if (url.pathname.endsWith('/oauth2/v2.0/token')) return `Entra ID token request (client credentials) at ${url.host}`;
  if (url.pathname.includes('/.well-known/openid-configuration')) return `Entra ID authority metadata at ${url.host}`;
  return `${req.method} ${url.host}${url.pathname}`;
}

/** The provider's error code of a failed answer: x-ms-error-code, the ARM envelope's error.code, or Entra's error + AADSTS code. */
export function errorCodeOf(status: number, headers: { get(n: string): string | undefined }, body: string | undefined): string {
  const header = headers.get('x-ms-error-code');
  if (header) return header;
  try {
    const doc = JSON.parse(body ?? '') as { error?: { code?: string } | string; error_codes?: number[] };
    if (typeof doc.error === 'object' && doc.error?.code) return doc.error.code;
    if (typeof doc.error === 'string')
      return [doc.error, doc.error_codes?.[0] === undefined ? undefined : `AADSTS${doc.error_codes[0]}`].filter(Boolean).join(' ');
  } catch {
    // Not JSON: the status is the code.
  }
  return `HTTP ${status}`;
}

/**
 * Records every request that goes on the wire (each retry too), as a statement
 * a database would get; an egress-guard refusal is recorded as refused.
 */
export function auditPolicy(audit: AuditSink, targetId: string): AzurePolicy {
  return {
    name: 'logstagAudit',
    async sendRequest(req, next) {
      const started = performance.now();
      const statement = describeRequest(req);
      const entry = { time: new Date().toISOString(), targetId, engine: 'azure', statement };
      try {
        const res = await next(req);
        const durationMs = Math.round(performance.now() - started);
        if (res.status < 400) audit.record({ ...entry, durationMs, outcome: 'ok' });
        else audit.record({ ...entry, durationMs, outcome: 'error', code: errorCodeOf(res.status, res.headers, res.bodyAsText ?? undefined) });
        return res;
      } catch (err) {
        const code = (err as { code?: string }).code;
        const refused = code === 'LOGSTAG_EGRESS_REFUSED';
        audit.record({
          ...entry,
          durationMs: Math.round(performance.now() - started),
          outcome: refused ? 'refused' : 'error',
          code: refused ? 'egress' : (code ?? 'network'),
        });
        throw err;
      }
    },
  };
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after'];

/**
 * The SDK's throttling retry waits whatever Retry-After says. A wait longer than
 * the cap is not done inside the cycle: the header is moved aside (kept for the
 * error message), so the answer fails now and the next cycle, a minute later,
 * retries. A shorter wait is honoured as given.
 */
export function retryAfterCapPolicy(capMs = RETRY_AFTER_CAP_MS): AzurePolicy {
  return {
    name: 'logstagRetryAfterCap',
    async sendRequest(req, next) {
      const res = await next(req);
      if (res.status !== 429 && res.status !== 503) return res;
      for (const name of RETRY_AFTER_HEADERS) {
        const raw = res.headers.get(name);
        if (raw === undefined) continue;
        const ms = name === 'retry-after' ? retryAfterMs(raw) : Number(raw);
        if (ms !== undefined && Number.isFinite(ms) && ms > capMs) {
          res.headers.set(ORIGINAL_RETRY_AFTER, String(Math.ceil(ms / 1000)));
          for (const h of RETRY_AFTER_HEADERS) res.headers.delete(h);
        }
        break;
      }
      return res;
    },
  };
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(raw: string): number | undefined {
  if (/^\d+$/.test(raw.trim())) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
