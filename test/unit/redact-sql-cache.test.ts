import { describe, expect, it } from 'vitest';
import { applyPolicy, normalizedTextCache } from '../../collectors/core/redact/apply.js';
import { normalizeSql } from '../../collectors/core/redact/sql.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import { defineSignal, type AnySignalSpec } from '../../collectors/core/signal.js';

/*
 * Query texts are normalised once per distinct text, not once per cycle: a cache from a
 * digest of (dialect, text) to the normalised text. The attack: a cached answer that is not
 * what normalizeSql says for this text in this dialect, a raw text kept in the cache, or a
 * cache that grows without bound.
 */
const spec = defineSignal<unknown, Record<string, unknown>>({
  id: 'fake.statements',
  family: 'query_stats',
  description: '',
  requires: [],
  shape: 'rows',
  read: async () => [],
  fields: { queryid: null, query: 'query_text' },
}) as AnySignalSpec<unknown>;
const policy = resolvePolicy({ query_text: 'redact' });

describe('normalised query texts are cached by digest', () => {
  const texts = [
    "SELECT * FROM users WHERE email = 'alice@example.com'",
    "SELECT * FROM users WHERE email = 'bob@example.com'",
    "SELECT 'a\\' OR 1=1 --' FROM t",
    'SELECT 1',
    "UPDATE accounts SET balance = 100 WHERE id = 7 AND note = E'x\\'y'",
    "SELECT $tag$secret$tag$, N'x' FROM t",
  ];

  it('gives what normalizeSql gives, cycle after cycle, per dialect', () => {
    for (let round = 0; round < 3; round++)
      for (const engine of ['postgres', 'mssql', 'oracle'] as const) {
        const dialect = engine === 'mssql' ? 'tsql' : engine;
        const out = applyPolicy(
          spec,
          texts.map((query, i) => ({ queryid: i, query })),
          { policy, engine },
        ).value as { query: string | null }[];
        expect(out.map((r) => r.query)).toEqual(texts.map((t) => normalizeSql(t, dialect)));
      }
  });

  it('keeps no raw text and stays bounded', () => {
    for (let i = 0; i < normalizedTextCache.max + 500; i++)
      applyPolicy(spec, [{ queryid: i, query: `SELECT * FROM t WHERE secret_${i} = 'pw${i}'` }], { policy, engine: 'postgres' });
    expect(normalizedTextCache.size()).toBeLessThanOrEqual(normalizedTextCache.max);
    for (const key of normalizedTextCache.keys()) {
      expect(key).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
      expect(key).not.toContain('secret');
    }
    for (const value of normalizedTextCache.values()) expect(value ?? '').not.toMatch(/pw\d/);
  });
});
