/**
 * Retry timing for the shipper: exponential backoff with jitter, and the
 * service's own `Retry-After` answer, which always wins when it is present.
 */

export interface BackoffOptions {
  /** First delay (attempt 1). */
  baseMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 300_000 };

/**
 * Delay before retry number `attempt` (1 = first retry): "equal jitter", i.e. a
 * uniformly random value in [d/2, d] with d = min(max, base * 2^(attempt-1)).
 * The lower half-bound keeps a retry storm from collapsing onto zero; the random
 * upper half spreads many agents that lost the service at the same moment.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt must be a positive integer');
  // Cap the exponent first so 2^attempt never overflows to Infinity.
  const d = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(d / 2 + random() * (d / 2));
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delta-seconds or an
 * HTTP-date. Returns milliseconds from `now`, clamped to [0, maxMs], or
 * undefined when absent or unreadable (the caller then uses its own backoff).
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now(), maxMs = 3_600_000): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const at = Date.parse(text);
    // Date.parse accepts many shapes; HTTP-dates always name the weekday and GMT.
    if (Number.isNaN(at) || !/GMT$/i.test(text)) return undefined;
    ms = at - now;
  }
  if (!Number.isFinite(ms)) return maxMs;
  return Math.min(maxMs, Math.max(0, ms));
}
