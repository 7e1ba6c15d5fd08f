import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, rowKey, valueDigest } from '../../collectors/core/incremental.js';

/*
 * Digests are now fed to the hash in pieces (a 30,000-row value is never one canonical
 * string), with the sorted key order reused from row to row. A consumer and the target
 * memory hold digests made the old way: every digest must stay byte for byte what it was.
 * The reference below is the former implementation, kept verbatim.
 */
function referenceCanonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(referenceCanonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${referenceCanonical(o[k])}`)
    .join(',')}}`;
}
const sha = (t: string): string => `sha256:${createHash('sha256').update(t).digest('hex')}`;
function referenceDigest(value: unknown, key?: readonly string[]): string {
  if (key !== undefined && Array.isArray(value)) {
    const keyed = (value as Record<string, never>[]).map((r) => [rowKey(r, key) ?? '', referenceCanonical(r)] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return sha(`[${keyed.map(([, j]) => j).join(',')}]`);
  }
  return sha(referenceCanonical(value));
}

describe('digests fed in pieces are the digests of the canonical text', () => {
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const keys = ['b', 'a', 'é', 'z1', '10', '2', 'name', '"q"', '\u2028', '😀'];
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.45)
      return [null, 1.5, -0, 12345678901234, 1e21, 5e-7, Number.NaN, 'x', 'a "quoted" \\ line\n', '😀\ud83d', true, undefined][Math.floor(rnd() * 12)];
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(rnd() * 6); i++) o[keys[Math.floor(rnd() * keys.length)]!] = value(depth + 1);
    return o;
  };

  it('canonicalJson is the former text on 2,000 generated values', () => {
    for (let i = 0; i < 2000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(referenceCanonical(v));
    }
  });

  it('valueDigest is the former digest: plain values, rows whose keys come in changing orders, values far over one piece', () => {
    for (let i = 0; i < 300; i++) {
      const v = value(0);
      expect(valueDigest(v)).toBe(referenceDigest(v));
    }
    // Rows mostly in one key order, some in another, some with a field missing: the reused sort must not leak across.
    const rows = Array.from({ length: 30_000 }, (_, i) =>
      i % 97 === 0
        ? { name: `t${i}`, schema: 's', rows: i, extra: { b: 1, a: [i] } }
        : i % 89 === 0
          ? { schema: 's', rows: i }
          : { schema: 's', name: `t_${i}_${'x'.repeat(i % 40)}`, rows: i },
    );
    expect(valueDigest(rows)).toBe(referenceDigest(rows));
    expect(valueDigest(rows, { key: ['schema', 'name'] })).toBe(referenceDigest(rows, ['schema', 'name']));
    // Row order does not count for a delta signal (rows with their key; those without one have no order to rebuild).
    const keyed = rows.filter((r) => 'name' in r);
    const shuffled = [...keyed].reverse();
    expect(valueDigest(shuffled, { key: ['schema', 'name'] })).toBe(valueDigest(keyed, { key: ['schema', 'name'] }));
    expect(valueDigest(shuffled)).not.toBe(valueDigest(keyed));
  });

  it('a one-character change anywhere in a large value changes the digest', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ schema: 's', name: `t${i}`, rows: i }));
    const d = valueDigest(rows);
    rows[12_345] = { ...rows[12_345]!, name: 't12346' };
    expect(valueDigest(rows)).not.toBe(d);
    expect(valueDigest(rows)).toBe(referenceDigest(rows));
  });
});
