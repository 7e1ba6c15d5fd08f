// Database sizes on the slow clock. pg_database_size() walks every file of a database
// (150,000 files and 2.7–4.1 s for a 30,000-table database, against a 5 s statement
// timeout), so reading it with the per-interval counters made every interval pay for it.
// Witness: the server's own statement log, by this file's application_name.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { Payload } from '../../collectors/core/payload.js';
import { pgTarget } from '../helpers/pg.js';
import { loggedStatements, shipUntil } from '../helpers/run-loop-cycles.js';

const pg = inject('pg');
const version = `0.1.0-slowclock.${randomBytes(4).toString('hex')}`;
const appName = `logstag-agent/${version}`;

const rowsOf = (p: Payload, id: string): Array<Record<string, unknown>> => {
  const s = p.signals.find((x) => x.id === id);
  return s?.status === 'ok' && Array.isArray(s.value) ? (s.value as Array<Record<string, unknown>>) : [];
};

describe('PostgreSQL database sizes are read on the slow clock, not every interval', () => {
  it('three interval cycles: the counters every cycle, pg_database_size only with the slow families', async () => {
    const user = pg.users.monitor;
    // The interval families every second, so three cycles take three seconds; the slow families keep their 10 min.
    const target = pgTarget(pg, user.user, { id: 'pg-slow-clock', intervalSeconds: 10, schedule: { server_stats: 1 } });
    const shipped = await shipUntil(
      { id: 'agent-slow', version },
      target,
      { PW: user.password },
      (all) => all.filter((p) => (p.families ?? []).includes('server_stats')).length >= 3,
    );
    const interval = shipped.filter((p) => (p.families ?? []).includes('server_stats'));
    expect(interval.length).toBeGreaterThanOrEqual(3);
    // Every interval cycle carries the per-database counters, without a size.
    for (const p of interval) {
      const dbs = rowsOf(p, 'postgres.databases');
      expect(dbs.map((r) => r['datname'])).toContain(pg.database);
      for (const r of dbs) expect(r).not.toHaveProperty('size_bytes');
    }
    // The first cycle reads every family: the sizes come with it, and only with it.
    expect(interval[0]!.families).toContain('schema');
    const sizes = rowsOf(interval[0]!, 'postgres.database_sizes');
    expect(sizes.find((r) => r['datname'] === pg.database)?.['size_bytes']).toBeGreaterThan(0);
    for (const p of interval.slice(1)) {
      expect(p.families).not.toContain('schema');
      expect(p.signals.some((s) => s.id === 'postgres.database_sizes')).toBe(false);
    }
    // The server's own log: pg_database_size ran once for this agent, however many interval cycles ran.
    const lines = loggedStatements(pg.logFile, appName);
    expect(lines.length).toBeGreaterThan(3 * 5);
    expect(lines.filter((l) => /pg_database_size\(/.test(l))).toHaveLength(1);
  });
});
