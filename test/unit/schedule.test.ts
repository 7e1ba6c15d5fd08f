import { describe, expect, it } from 'vitest';
import { dueFamilies, isDue, latestSignals, periodsOf, tickSeconds } from '../../collectors/core/schedule.js';
import { setupGaps } from '../../collectors/core/signal.js';
import { type AnySignalSpec, FAMILIES, FAMILY_SCHEDULE } from '../../collectors/core/signal.js';
import { describeIssue } from '../../collectors/core/target.js';
import { TargetSchema } from '../../collectors/target.js';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import { mongodbCatalog } from '../../collectors/mongodb/catalog.js';
import { oracleCatalog } from '../../collectors/oracle/catalog.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { redisCatalog } from '../../collectors/redis/catalog.js';

const base = { id: 'pg', engine: 'postgres', host: 'db', port: 5432, user: 'm', database: 'app' };
const problem = (schedule: unknown): string | undefined => {
  const r = TargetSchema.safeParse({ ...base, schedule });
  return r.success ? undefined : describeIssue(r.error);
};

describe('per-family schedule', () => {
  it('every family has a default period in one table: fast samples 10 s, statistics every interval, slow families 10 min', () => {
    expect(Object.keys(FAMILY_SCHEDULE).sort()).toEqual([...FAMILIES].sort());
    expect(periodsOf(60)).toEqual({
      server_stats: 60,
      activity: 10,
      query_stats: 60,
      waits_locks: 10,
      replication: 60,
      schema: 600,
      security_posture: 600,
      config: 600,
      slowlog: 60,
      cloud: 60,
    });
  });

  it('a target overrides a family; activity may go down to 1 s', () => {
    const t = TargetSchema.parse({ ...base, schedule: { activity: 1, schema: 3600, query_stats: 'interval' } });
    expect(periodsOf(t.intervalSeconds, t.schedule)).toMatchObject({ activity: 1, schema: 3600, query_stats: 60, waits_locks: 10 });
    expect(tickSeconds(t.intervalSeconds, t.schedule)).toBe(1);
    expect(tickSeconds(60)).toBe(10);
    // Nothing faster than the interval: the tick is the interval.
    expect(tickSeconds(30, { activity: 'interval', waits_locks: 'interval' })).toBe(30);
  });

  it('wakes at the common divisor of the periods, so a 15 s interval beside 10 s activity reads its families every 15 s, not every 20 s', () => {
    expect(tickSeconds(15)).toBe(5);
    expect(tickSeconds(45, { activity: 30, waits_locks: 30 })).toBe(15);
    const periods = periodsOf(15);
    const tick = tickSeconds(15) * 1000;
    const shipped: Partial<Record<keyof typeof periods, number>> = {};
    const at: Record<string, number[]> = { query_stats: [], activity: [] };
    for (let now = 0; now <= 60_000; now += tick) {
      const due = dueFamilies(periods, shipped, now);
      for (const f of due) shipped[f] = now;
      for (const f of ['query_stats', 'activity'] as const) if (due.includes(f)) at[f]!.push(now / 1000);
    }
    expect(at['query_stats']).toEqual([0, 15, 30, 45, 60]);
    expect(at['activity']).toEqual([0, 10, 20, 30, 40, 50, 60]);
  });

  it('refuses an unknown family with a did-you-mean, a period below 1 s, a fraction of the tick, a string that is not "interval"', () => {
    expect(problem({ activty: 5 })).toMatch(/schedule: unknown field\(s\) "activty" \("activty": did you mean "activity"\?\)/);
    expect(problem({ query_stat: 5 })).toMatch(/did you mean "query_stats"/);
    expect(problem({ activity: 0.5 })).toMatch(/schedule\.activity: a period is at least 1 s/);
    expect(problem({ activity: 0 })).toMatch(/at least 1 s/);
    expect(problem({ activity: 1.5 })).toMatch(/schedule\.activity: a period is a whole number of seconds/);
    expect(problem({ schema: 'hourly' })).toMatch(/schedule\.schema/);
    expect(problem({ schema: 86_401 })).toMatch(/at most 86400 s/);
    expect(problem({ fullEverySeconds: 10 })).toMatch(/schedule\.fullEverySeconds/);
    expect(problem({ activity: 1, fullEverySeconds: 600 })).toBeUndefined();
  });

  it('a family never shipped is due; a tick that comes a little early still counts; a clock that went back is due', () => {
    expect(isDue(10, undefined, 0)).toBe(true);
    expect(isDue(10, 0, 9_000)).toBe(true); // within the 1 s slack
    expect(isDue(10, 0, 8_900)).toBe(false);
    expect(isDue(1, 0, 499)).toBe(false);
    expect(isDue(1, 0, 500)).toBe(true);
    expect(isDue(600, 1_000_000, 999_000)).toBe(true);
    expect(dueFamilies(periodsOf(60), { activity: 0, waits_locks: 0, schema: 0 }, 0).sort()).toEqual(
      FAMILIES.filter((f) => !['activity', 'waits_locks', 'schema'].includes(f)).sort(),
    );
  });

  it("every delta signal's reset markers name signals of its own catalog", () => {
    const catalogs = [postgresCatalog, mssqlCatalog, mongodbCatalog, redisCatalog, oracleCatalog] as unknown as readonly AnySignalSpec<unknown>[][];
    for (const catalog of catalogs) {
      for (const spec of catalog) {
        for (const r of spec.delta?.resetWhen ?? []) {
          const source = catalog.find((s) => s.id === r.signal);
          expect(source, `${spec.id} → ${r.signal}`).toBeDefined();
          expect(Object.keys(source!.fields)).toContain(r.field);
        }
        for (const f of [...(spec.delta?.key ?? []), ...(spec.delta?.counters ?? [])]) expect(Object.keys(spec.fields), `${spec.id}.${f}`).toContain(f);
      }
    }
    expect(postgresCatalog.find((s) => s.id === 'postgres.query_stats')?.delta?.key).toEqual(['queryid', 'dbid', 'userid', 'toplevel']);
  });

  it('a permission gap in a slow family stays a gap on the cycles where that family is not due', () => {
    const first = latestSignals(undefined, {
      families: ['activity', 'schema'],
      signals: [
        { id: 'pg.activity', family: 'activity', status: 'ok' },
        { id: 'pg.tables', family: 'schema', status: 'unavailable', reason: 'permission' },
      ],
    });
    expect(setupGaps(first)).toHaveLength(1);
    const between = latestSignals(first, { families: ['activity'], signals: [{ id: 'pg.activity', family: 'activity', status: 'ok' }] });
    expect(setupGaps(between).map((s) => s.id)).toEqual(['pg.tables']);
    // Once the family is read again and the grant is there, the gap is gone.
    const fixed = latestSignals(between, {
      families: ['activity', 'schema'],
      signals: [
        { id: 'pg.activity', family: 'activity', status: 'ok' },
        { id: 'pg.tables', family: 'schema', status: 'ok' },
      ],
    });
    expect(setupGaps(fixed)).toEqual([]);
  });
});
