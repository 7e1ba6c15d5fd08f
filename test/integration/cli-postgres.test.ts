import { readFileSync } from 'node:fs';
import { readStatements } from '../../agent/audit/reader.js';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PayloadV1Schema, type PayloadV1 } from '../../collectors/core/payload.js';
import { freePort } from '../harness/util.js';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const pg = inject('pg');

function targetFor(role: 'lowpriv' | 'monitor' | 'admin', extra: Record<string, unknown> = {}) {
  const file = jsonFile({
    id: `pg-${role}`,
    engine: 'postgres',
    host: pg.host,
    port: pg.port,
    user: pg.users[role].user,
    database: pg.database,
    password: { env: 'LSA_PG_PASSWORD' },
    tls: { mode: 'disable' },
    ...extra,
  });
  return { file, env: { LSA_PG_PASSWORD: pg.users[role].password } };
}

async function collect(role: 'lowpriv' | 'monitor' | 'admin', home?: string): Promise<PayloadV1> {
  const t = targetFor(role);
  const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env, ...(home ? { home } : {}) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return PayloadV1Schema.parse(JSON.parse(r.stdout));
}

const signal = (p: PayloadV1, id: string) => {
  const s = p.signals.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no signal ${id}`);
  return s;
};

describe('CLI against the harness PostgreSQL', () => {
  it('a least-privileged identity: real values where readable, unavailable/permission where not, never 0', async () => {
    const p = await collect('lowpriv');
    expect(p.schema).toBe('logstag.payload/v2');
    expect(p.target).toEqual({ id: 'pg-lowpriv', engine: 'postgres', name: 'pg-lowpriv' });
    const server = signal(p, 'postgres.server');
    expect(server.status).toBe('ok');
    const v = (server as unknown as { value: { version: string; uptime_seconds: number } }).value;
    expect(v.version).toMatch(/^15\./);
    expect(v.uptime_seconds).toBeGreaterThanOrEqual(0);
    for (const id of ['postgres.activity', 'postgres.hba_rules', 'postgres.query_stats']) {
      const s = signal(p, id);
      expect(s).toMatchObject({ status: 'unavailable', reason: 'permission' });
      expect(s).not.toHaveProperty('value');
    }
    expect(signal(p, 'postgres.activity')).toMatchObject({ fix: 'GRANT pg_read_all_stats TO lowpriv;' });
  });

  it('a pg_monitor identity sees sessions and statement statistics', async () => {
    const p = await collect('monitor');
    const activity = signal(p, 'postgres.activity');
    expect(activity.status).toBe('ok');
    expect(signal(p, 'postgres.query_stats').status).toBe('ok');
    expect(signal(p, 'postgres.settings').status).toBe('ok');
    expect(signal(p, 'postgres.hba_rules')).toMatchObject({ status: 'unavailable', reason: 'permission' });
  });

  it('check flags a superuser as an administrator and passes a dedicated identity', async () => {
    const admin = targetFor('admin');
    const r = await runAgentCli(['check', '--target', admin.file, '--json'], { env: admin.env });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { identity: { isAdministrator: boolean; reasons: string[] }; script: string };
    expect(report.identity.isAdministrator).toBe(true);
    expect(report.identity.reasons).toContain('is a superuser');
    expect(report.script).toMatch(/CREATE ROLE logstag_monitor LOGIN/);

    const low = targetFor('lowpriv');
    const text = await runAgentCli(['check', '--target', low.file], { env: low.env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Administrator: no/);
    expect(text.stdout).toMatch(/\[missing\] pg_read_all_stats/);
    expect(text.stdout).toMatch(/\[granted\] pg_stat_statements/);
  });

  it('grants prints exactly the missing grants for the identity', async () => {
    const low = targetFor('lowpriv');
    const r = await runAgentCli(['grants', '--target', low.file], { env: low.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('GRANT pg_read_all_stats TO lowpriv;');
    expect(r.stdout).toContain('GRANT pg_read_all_settings TO lowpriv;');
    expect(r.stdout).toContain('GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO lowpriv;');
    expect(r.stdout).not.toContain('CREATE EXTENSION');
  });

  it('wrong port and wrong password exit 3 with one line', async () => {
    const closed = targetFor('monitor', { port: await freePort(), connectTimeoutMs: 3000 });
    const r1 = await runAgentCli(['collect', '--once', '--target', closed.file], { env: closed.env });
    expect(r1.code).toBe(3);
    expect(r1.stderr).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(isOneLineError(r1.stderr)).toBe(true);

    const bad = targetFor('monitor');
    const r2 = await runAgentCli(['collect', '--once', '--target', bad.file], { env: { LSA_PG_PASSWORD: 'not-the-password' } });
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/authentication failed/);
    expect(r2.stderr).not.toContain('not-the-password');
    expect(isOneLineError(r2.stderr)).toBe(true);
  });

  it('records every statement in the audit ledger, and the server saw only reads from the agent', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lsa-audit-'));
    await collect('monitor', home);
    const entries = readStatements(join(home, 'audit'));
    expect(entries.length).toBeGreaterThanOrEqual(7);
    // Reads, and the session's own verified read-only transaction around them.
    const READ = /^(SELECT|SHOW|WITH)\b|^BEGIN TRANSACTION READ ONLY$|^ROLLBACK$/i;
    for (const e of entries) {
      expect(e.target).toBe('pg-monitor');
      expect(e.statement).toMatch(READ);
    }
    // The server's own log of `collect --once`: every statement from the agent's application_name
    // arrived through the extended protocol ("execute", one statement per message), and is a read.
    const fromAgent = readFileSync(pg.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(' logstag-agent/') && / LOG: {2}(statement|execute [^:]*): /.test(l));
    expect(fromAgent.length).toBeGreaterThanOrEqual(entries.length);
    for (const line of fromAgent) {
      expect(line).toMatch(/ LOG: {2}execute [^:]*: /);
      expect(line.split(/ LOG: {2}execute [^:]*: /)[1]).toMatch(READ);
    }
  });
});

describe('npx logstag-agent', () => {
  it('prints a valid v1 payload through npx, as the README says', async () => {
    const { spawnSync } = await import('node:child_process');
    const t = targetFor('lowpriv');
    const r = spawnSync('npx', ['logstag-agent', 'collect', '--once', '--target', t.file, '--json'], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, ...t.env, LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'lsa-npx-')) },
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    expect(p.signals.some((s) => s.status === 'unavailable' && s.reason === 'permission')).toBe(true);
  }, 300_000);
});
