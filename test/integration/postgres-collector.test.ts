import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { agentOps, pgTarget, superClient } from '../helpers/pg.js';
import { unsupportedOn } from '../helpers/pg-versions.js';
import { readStatements } from '../../agent/audit/reader.js';

const pg = inject('pg');
/** Views this major lacks (pg_stat_io before 16, ...): their signals are unsupported for every identity. */
const UNSUPPORTED = unsupportedOn(pg.major);
type Role = 'lowpriv' | 'monitor' | 'admin';

async function cycle(role: Role) {
  const { ops, ledger } = agentOps(pg.users[role].password);
  const target = pgTarget(pg, pg.users[role].user);
  const result = await ops.collect(target);
  const report = await ops.checkPermissions(target);
  return { payload: result.payload, report, ledger };
}

const statuses = (p: PayloadV1) => Object.fromEntries(p.signals.map((s) => [s.id, s.status === 'ok' ? 'ok' : s.reason]));

/** Signals whose other-user rows PostgreSQL masks without pg_read_all_stats. */
const STATS_GATED = ['postgres.activity', 'postgres.blocking', 'postgres.query_stats', 'postgres.replication_standbys'];

describe('PostgreSQL collector on the real cluster, three identities', () => {
  it('catalog: every field of every signal carries a category decision', () => {
    for (const spec of postgresCatalog) {
      expect(Object.keys(spec.fields).length, spec.id).toBeGreaterThan(0);
      expect(spec.id).toMatch(/^postgres\.[a-z_]+$/);
    }
    expect(new Set(postgresCatalog.map((s) => s.id)).size).toBe(postgresCatalog.length);
    expect(new Set(postgresCatalog.map((s) => s.family))).toEqual(
      new Set(['server_stats', 'activity', 'query_stats', 'waits_locks', 'replication', 'schema', 'security_posture', 'config']),
    );
  });

  it('no grants: public signals read, masked ones are unavailable/permission with the exact GRANT', async () => {
    const { payload, report } = await cycle('lowpriv');
    const st = statuses(payload);
    for (const id of STATS_GATED) expect(st[id], id).toBe('permission');
    expect(st['postgres.hba_rules']).toBe('permission');
    expect(st['postgres.settings']).toBe('permission');
    for (const id of [
      'postgres.server',
      'postgres.databases',
      'postgres.database_sizes',
      'postgres.locks',
      'postgres.checkpointer',
      'postgres.wraparound',
      'postgres.vacuum',
      'postgres.replication',
      'postgres.replication_slots',
      'postgres.schemas',
      'postgres.tables',
      'postgres.indexes',
      'postgres.functions',
      'postgres.roles',
      'postgres.security',
    ]) {
      expect(st[id], id).toBe('ok');
    }
    expect(
      payload.signals
        .filter((x) => x.status === 'unavailable' && x.reason === 'unsupported')
        .map((x) => x.id)
        .sort(),
    ).toEqual(UNSUPPORTED);
    for (const s of payload.signals.filter((x) => x.status === 'unavailable' && x.reason !== 'unsupported')) {
      expect(s).not.toHaveProperty('value');
      expect((s as { fix?: string }).fix, s.id).toMatch(/GRANT .* TO lowpriv;/);
    }
    expect(report.identity.isAdministrator).toBe(false);
    const item = (g: string) => report.items.find((i) => i.grant === g);
    expect(item('pg_read_all_stats')).toMatchObject({ status: 'missing', fix: expect.stringContaining('GRANT pg_read_all_stats TO lowpriv;') });
    expect(item('pg_read_all_settings')?.status).toBe('missing');
    expect(item('pg_hba_file_rules')?.status).toBe('missing');
    expect(item('pg_stat_statements')?.status).toBe('granted');
    expect(item('pg_stat_wal_receiver')?.status).toBe('not_applicable');
    expect(report.script).toContain('GRANT pg_read_all_stats TO lowpriv;');
  });

  it('pg_monitor: everything but the superuser-only hba rules, and no masked rows pass as data', async () => {
    const { payload, report } = await cycle('monitor');
    const st = statuses(payload);
    const notOk = Object.entries(st)
      .filter(([, v]) => v !== 'ok')
      .sort((a, b) => a[0].localeCompare(b[0]));
    expect(notOk).toEqual([['postgres.hba_rules', 'permission'], ...UNSUPPORTED.map((id) => [id, 'unsupported'])].sort((a, b) => a[0]!.localeCompare(b[0]!)));
    expect(JSON.stringify(payload)).not.toContain('<insufficient privilege>');
    expect(report.identity.isAdministrator).toBe(false);
    expect(report.items.filter((i) => i.status === 'missing').map((i) => i.grant)).toEqual(['pg_hba_file_rules']);
    // Query statistics carry numbers and text; the agent's own statements appear too.
    const qs = payload.signals.find((s) => s.id === 'postgres.query_stats') as unknown as { value: Array<{ calls: number; query: string | null }> };
    expect(qs.value.length).toBeGreaterThan(0);
    expect(qs.value.every((r) => typeof r.calls === 'number')).toBe(true);
    const server = payload.signals.find((s) => s.id === 'postgres.server') as unknown as { value: { version_num: number } };
    expect(server.value.version_num).toBeGreaterThanOrEqual(130000);
    const repl = payload.signals.find((s) => s.id === 'postgres.replication') as unknown as { value: { role: string } };
    expect(repl.value.role).toBe('primary');
  });

  it('superuser: flagged as administrator with the dedicated-identity script, every signal readable', async () => {
    const { payload, report } = await cycle('admin');
    expect(
      Object.entries(statuses(payload))
        .filter(([, v]) => v !== 'ok')
        .sort((a, b) => a[0].localeCompare(b[0])),
    ).toEqual(UNSUPPORTED.map((id) => [id, 'unsupported']));
    expect(report.identity.isAdministrator).toBe(true);
    expect(report.identity.reasons).toContain('is a superuser');
    expect(report.script).toMatch(/CREATE ROLE logstag_monitor LOGIN/);
    expect(report.script).toMatch(/ALTER ROLE logstag_monitor SET default_transaction_read_only = on;/);
    expect(report.script).toMatch(/GRANT pg_monitor TO logstag_monitor;/);
  });

  it('roles that make an identity powerful are flagged even without superuser', async () => {
    const su = await superClient(pg);
    try {
      await su.query('DROP ROLE IF EXISTS creator');
      await su.query("CREATE ROLE creator LOGIN CREATEROLE PASSWORD 'creator-pw'");
      await su.query('GRANT pg_write_all_data TO creator');
      const { ops } = agentOps('creator-pw');
      const report = await ops.checkPermissions(pgTarget(pg, 'creator'));
      expect(report.identity.isAdministrator).toBe(true);
      expect(report.identity.reasons).toEqual(expect.arrayContaining(['has CREATEROLE', 'is a member of pg_write_all_data']));
    } finally {
      await su.query('DROP ROLE IF EXISTS creator');
      await su.end();
    }
  });

  it('every statement the agent sent was a read: audit ledger and the server log agree', async () => {
    const runs = await Promise.all((['lowpriv', 'monitor', 'admin'] as const).map((r) => cycle(r)));
    const audited = runs.flatMap((r) => readStatements(r.ledger.dir));
    expect(audited.length).toBeGreaterThan(3 * postgresCatalog.length);
    // Reads, and the session's own read-only transaction around them.
    const READ = /^(SELECT|WITH|SHOW)\b|^BEGIN TRANSACTION READ ONLY$|^ROLLBACK$/;
    for (const e of audited) expect(e.statement).toMatch(READ);
    const fromAgent = readFileSync(pg.logFile, 'utf8')
      .split('\n')
      .filter((l) => / logstag-agent\/\S+ \S+@\S+ LOG: {2}(statement|execute [^:]*): /.test(l));
    expect(fromAgent.length).toBeGreaterThanOrEqual(audited.length);
    for (const line of fromAgent) {
      // Extended protocol only (one statement per message): never a simple-protocol "statement:" line.
      expect(line).toMatch(/LOG: {2}execute [^:]*: /);
      const sql = line.split(/LOG: {2}execute [^:]*: /)[1]!;
      expect(sql, line).toMatch(READ);
      expect(sql).not.toMatch(/pg_stat_(statements_)?reset|set_config|pg_terminate_backend/);
    }
  });
});
