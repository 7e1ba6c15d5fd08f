// A cycle asks the server each fact about itself at most once. Two signals read where
// pg_stat_statements lives (query_stats, statements_info) and the replication signal
// asked pg_is_in_recovery() before its own query: three statements of every interval
// cycle, on every target, that told the cycle nothing new. Now the schema is asked
// once per transaction (the session keeps the answer until the transaction ends) and
// the replication signal reads the role with its one statement. Witness: the
// server's own statement log, by this file's application_name, and the payloads.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { Payload } from '../../collectors/core/payload.js';
import { pgTarget } from '../helpers/pg.js';
import { loggedStatements, shipUntil } from '../helpers/run-loop-cycles.js';

const pg = inject('pg');
const version = `0.1.0-firststatement.${randomBytes(4).toString('hex')}`;
const appName = `logstag-agent/${version}`;

const signal = (p: Payload, id: string) => p.signals.find((x) => x.id === id);

describe('PostgreSQL: a cycle asks the server each fact about itself once', () => {
  it('three pooled interval cycles: the pg_stat_statements schema once per cycle, pg_is_in_recovery() never on its own', async () => {
    const user = pg.users.monitor;
    // Query statistics and replication every second, so three cycles take three seconds.
    const target = pgTarget(pg, user.user, { id: 'pg-first-statement', intervalSeconds: 10, schedule: { query_stats: 1, replication: 1 } });
    const shipped = await shipUntil(
      { id: 'agent-first-statement', version },
      target,
      { PW: user.password },
      (all) => all.filter((p) => (p.families ?? []).includes('query_stats')).length >= 3,
    );
    const cycles = shipped.filter((p) => (p.families ?? []).includes('query_stats') && (p.families ?? []).includes('replication'));
    expect(cycles.length).toBeGreaterThanOrEqual(3);
    // The signals that needed those answers still read what they read.
    for (const p of cycles) {
      expect(signal(p, 'postgres.replication')).toMatchObject({ status: 'ok', value: { role: 'primary' } });
      expect(signal(p, 'postgres.query_stats')?.status).toBe('ok');
      expect(signal(p, 'postgres.statements_info')?.status).toBe('ok');
    }
    // The server's own log.
    const lines = loggedStatements(pg.logFile, appName);
    // One transaction per cycle, each opened by its verification statement.
    const transactions = lines.filter((l) => l.includes("current_setting('transaction_read_only')")).length;
    expect(transactions).toBeGreaterThanOrEqual(3);
    const schemaLookups = lines.filter((l) => /SELECT n\.nspname AS schema FROM pg_extension/.test(l)).length;
    expect(schemaLookups).toBeGreaterThan(0);
    expect(schemaLookups).toBeLessThanOrEqual(transactions);
    expect(lines.filter((l) => /SELECT pg_is_in_recovery\(\) AS in_recovery/.test(l))).toEqual([]);
  });
});
