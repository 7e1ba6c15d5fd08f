import { beforeAll, describe, expect, it } from 'vitest';
import { assertReadOnlySql, loadPgGuard } from '../../collectors/postgres/guard.js';
import { ifPresent, pgVersionName } from '../../collectors/postgres/relation.js';

describe('PostgreSQL version-dependent columns', () => {
  // The guard decides on PostgreSQL's own parse tree: its parser loads once per process.
  beforeAll(() => loadPgGuard());
  const cols = new Set(['reads', 'stats_reset']);

  it('a column the server has is read and cast; one it lacks is a typed NULL, never 0', () => {
    expect(ifPresent(cols, 'reads', 'float8')).toBe('(reads)::float8');
    expect(ifPresent(cols, 'read_bytes', 'float8')).toBe('NULL::float8');
    expect(ifPresent(cols, 'read_bytes', 'float8')).not.toMatch(/\b0\b|coalesce/i);
    expect(ifPresent(cols, 'stats_reset', 'text', "to_char(stats_reset, 'YYYY')")).toBe("(to_char(stats_reset, 'YYYY'))::text");
  });

  it('only identifier-shaped column names are accepted, so nothing but a column reaches the SQL', () => {
    for (const bad of ['reads); DROP TABLE x; --', 'Reads', 'a b', '"reads"', '']) {
      expect(() => ifPresent(new Set([bad]), bad, 'float8'), bad).toThrow(/bad column name/);
    }
  });

  it('the statements built from it pass the read-only guard', () => {
    expect(() =>
      assertReadOnlySql(
        `SELECT ${ifPresent(cols, 'reads', 'float8')} AS reads, ${ifPresent(cols, 'op_bytes', 'float8')} AS op_bytes FROM pg_catalog.pg_stat_io`,
      ),
    ).not.toThrow();
  });

  it('names the version as the server reports it', () => {
    expect(pgVersionName(140023)).toBe('14.23');
    expect(pgVersionName(180004)).toBe('18.4');
    expect(pgVersionName(150020)).toBe('15.20');
    expect(pgVersionName(90624)).toBe('9.6');
  });
});
