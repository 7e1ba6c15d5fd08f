import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../agent/delivery/backoff.js';

describe('backoff with jitter', () => {
  it('stays within [d/2, d] for d = min(max, base * 2^(n-1)), for any attempt and any random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const opts = { baseMs: 1000, maxMs: 300_000 };
        const d = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt - 1, 40));
        const delay = backoffDelay(attempt, opts, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(d / 2));
        expect(delay).toBeLessThanOrEqual(d);
        expect(Number.isFinite(delay)).toBe(true);
      }),
    );
  });

  it('doubles until the cap', () => {
    const top = (n: number) => backoffDelay(n, { baseMs: 1000, maxMs: 10_000 }, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffDelay(3, { baseMs: 1000, maxMs: 10_000 }, () => 0)).toBe(2000);
  });

  it('is spread by the random draw (jitter), not a fixed value', () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
    expect(seen.size).toBeGreaterThan(10);
  });

  it('refuses a non-positive attempt', () => {
    expect(() => backoffDelay(0)).toThrow(RangeError);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['  7 ', 7_000],
    [['3', '9'], 3_000],
    ['Thu, 26 Nov 2026 10:00:30 GMT', 30_000],
    ['Thu, 26 Nov 2026 09:00:00 GMT', 0], // in the past: now
    ['999999', 3_600_000], // clamped to the maximum
  ] as const)('%j -> %d ms', (value, ms) => {
    expect(parseRetryAfter(value as string | string[], now)).toBe(ms);
  });

  it.each([undefined, '', 'soon', '-5', '1.5', '2026-11-26T10:00:30Z'])('%j is not understood (the caller backs off itself)', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
