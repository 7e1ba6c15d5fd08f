import { describe, expect, it } from 'vitest';
import { AZURE_SQL_DB, AZURE_SQL_DB_POOL, AZURE_SQL_DB_S0, SQL2019, SQL2022 } from '../fixtures/mssql/servers.js';
import { FakeSqlServer, type Identity } from '../helpers/mssql-fake.js';
import { mssqlTarget, runAgainst, signal, statuses } from '../helpers/mssql.js';

/** Everything the least-privilege script grants except the server-state permission. */
const NO_STATE: Identity = { login: 'monitor', user: 'monitor', serverPerms: ['CONNECT ANY DATABASE', 'VIEW ANY DEFINITION'], msdbLogShipping: true };
const azureTarget = mssqlTarget({ host: 'contoso.database.windows.net' });
const AZ_LEAST: Identity = { login: 'monitor', user: 'monitor', serverPerms: [], dbPerms: ['VIEW DATABASE PERFORMANCE STATE', 'VIEW DEFINITION'] };

describe('sys.configurations: public up to 2019, VIEW SERVER PERFORMANCE STATE from 2022', () => {
  it('2022 without the permission: mssql.configuration and mssql.security are permission with the 2022 GRANT, never an empty or partial answer', async () => {
    const run = await runAgainst(new FakeSqlServer({ model: SQL2022, identity: NO_STATE }));
    for (const id of ['mssql.configuration', 'mssql.security']) {
      expect(signal(run.payload, id), id).toMatchObject({
        status: 'unavailable',
        reason: 'permission',
        fix: 'USE [master]; GRANT VIEW SERVER PERFORMANCE STATE TO [monitor];',
      });
      expect(signal(run.payload, id)).not.toHaveProperty('value');
    }
    // The checklist tells which signals the permission unlocks.
    expect(run.items.find((i) => i.grant === 'VIEW SERVER PERFORMANCE STATE')?.signals).toEqual(
      expect.arrayContaining(['mssql.configuration', 'mssql.security']),
    );
  });

  it('2019 with the same grants: sys.configurations is public, both signals read (no over-asking)', async () => {
    const run = await runAgainst(new FakeSqlServer({ model: SQL2019, identity: NO_STATE }));
    expect(statuses(run.payload)['mssql.configuration']).toBe('ok');
    expect(statuses(run.payload)['mssql.security']).toBe('ok');
    expect(signal<{ xp_cmdshell_enabled: boolean | null }>(run.payload, 'mssql.security').value.xp_cmdshell_enabled).toBe(false);
  });
});

describe('sys.databases without VIEW ANY DATABASE lists only master, tempdb and owned databases', () => {
  it('per-database signals are permission with the GRANT, never an empty list of tables, indexes or role members', async () => {
    const least: Identity = {
      login: 'monitor',
      user: 'monitor',
      serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER STATE', 'VIEW ANY DEFINITION'],
      msdbLogShipping: true,
    };
    const run = await runAgainst(new FakeSqlServer({ model: SQL2019, identity: least, revokePublicViewAnyDatabase: true }));
    for (const id of ['mssql.tables', 'mssql.indexes', 'mssql.database_roles']) {
      expect(signal(run.payload, id), id).toMatchObject({
        status: 'unavailable',
        reason: 'permission',
        fix: 'USE [master]; GRANT VIEW ANY DATABASE TO [monitor];',
      });
    }
  });
});

describe('Azure SQL Database: DMVs that cannot show other sessions never pass for a healthy answer', () => {
  it('sys.dm_exec_requests is limited to the current connection on every tier: blocking and sessions are unsupported, naming the platform', async () => {
    const run = await runAgainst(new FakeSqlServer({ model: AZURE_SQL_DB, identity: AZ_LEAST }), azureTarget);
    for (const id of ['mssql.blocking', 'mssql.sessions']) {
      const s = signal(run.payload, id);
      expect(s, id).toMatchObject({ status: 'unavailable', reason: 'unsupported' });
      expect(s.detail, id).toMatch(/Azure SQL Database/);
      expect(s.detail, id).toMatch(/sys\.dm_exec_requests/);
    }
  });

  it.each([
    ['S0', AZURE_SQL_DB_S0],
    ['ElasticPool', AZURE_SQL_DB_POOL],
  ])('%s: VIEW DATABASE STATE is not enough for the missing-index DMVs: permission naming the tier and the role', async (tier, model) => {
    const run = await runAgainst(new FakeSqlServer({ model, identity: AZ_LEAST }), azureTarget);
    const s = signal(run.payload, 'mssql.missing_indexes');
    expect(s).toMatchObject({ status: 'unavailable', reason: 'permission' });
    expect(s.detail).toContain(tier === 'S0' ? 'service objective S0' : 'elastic pool');
    expect(s.fix).toMatch(/ALTER SERVER ROLE ##MS_ServerStateReader## ADD MEMBER \[monitor\]/);
  });

  it('S0 with ##MS_ServerStateReader##, and a general-purpose tier with VIEW DATABASE PERFORMANCE STATE: missing indexes readable', async () => {
    const reader = await runAgainst(new FakeSqlServer({ model: AZURE_SQL_DB_S0, identity: { ...AZ_LEAST, serverStateReader: true } }), azureTarget);
    expect(statuses(reader.payload)['mssql.missing_indexes']).toBe('ok');
    const gp = await runAgainst(new FakeSqlServer({ model: AZURE_SQL_DB, identity: AZ_LEAST }), azureTarget);
    expect(statuses(gp.payload)['mssql.missing_indexes']).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------------------
// The documented-schema contract: every statement the catalog sends, on every permission model.
// ---------------------------------------------------------------------------------------------

import { SignalUnavailable } from '../../collectors/core/signal.js';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import { createMssqlCollector } from '../../collectors/mssql/index.js';
import type { ServerModel } from '../fixtures/mssql/servers.js';
import { MSSQL_MODELS, MSSQL_OBJECTS, type MssqlModel } from '../fixtures/vendor-schemas/mssql.js';
import { MemoryAudit } from '../helpers/mssql.js';
import { aliasUnit, type Dialect, extract, literalFactor, UNIT_SCALE } from '../helpers/sql-refs.js';

const tsql: Dialect = {
  object: /((?:\[[^\]]+\]\.|tempdb\.|msdb\.dbo\.)?(?:sys\.)?\w+)/,
  normalise: (n) => n.replace(/^\[[^\]]+\]\.|^tempdb\./, '').toLowerCase(),
  isKnown: (o) => o in MSSQL_OBJECTS,
  columnsOf: (o) => Object.keys(MSSQL_OBJECTS[o]?.columns ?? {}),
};

interface Sent {
  signal: string;
  model: MssqlModel;
  major: number;
  restrictedTier: boolean;
  statements: string[];
  outcome: string;
}

const SYSADMIN: Identity = { login: 'dba', user: 'dba', serverPerms: [], serverRoles: ['sysadmin'], msdbLogShipping: true };
const AZ_DBO: Identity = { login: 'sqladmin', user: 'dbo', serverPerms: [], dbRoles: ['db_owner'] };
const RUNS: Array<{ model: MssqlModel; server: ServerModel; identity: Identity; queryStore: boolean; major: number }> = [
  { model: '2016-2019', server: SQL2019, identity: SYSADMIN, queryStore: true, major: 13 },
  { model: '2016-2019', server: SQL2019, identity: SYSADMIN, queryStore: false, major: 13 },
  { model: '2022', server: SQL2022, identity: SYSADMIN, queryStore: true, major: 16 },
  { model: '2022', server: SQL2022, identity: SYSADMIN, queryStore: false, major: 16 },
  { model: 'azure_sql_database', server: AZURE_SQL_DB, identity: AZ_DBO, queryStore: true, major: 16 },
  { model: 'azure_sql_database', server: AZURE_SQL_DB_S0, identity: AZ_DBO, queryStore: false, major: 16 },
];

/** Every signal read in a fresh session (so its permission probes are sent, not cached) on every model. */
async function sendAll(): Promise<Sent[]> {
  const out: Sent[] = [];
  for (const run of RUNS) {
    const fake = new FakeSqlServer({ model: run.server, identity: run.identity, hadr: true, queryStore: run.queryStore });
    const collector = createMssqlCollector(fake.connect);
    const target =
      run.model === 'azure_sql_database'
        ? mssqlTarget({ host: 'contoso.database.windows.net', user: run.identity.login })
        : mssqlTarget({ user: run.identity.login });
    for (const spec of mssqlCatalog) {
      const session = await collector.connect(target, 'pw', { audit: new MemoryAudit(), applicationName: 'contract' });
      const before = fake.sent.length;
      let outcome = 'ok';
      try {
        await (spec.read as (s: unknown) => Promise<unknown>)(session);
      } catch (e) {
        outcome = e instanceof SignalUnavailable ? e.reason : `error: ${String(e)}`;
      }
      out.push({ signal: spec.id, model: run.model, major: run.major, restrictedTier: fake.restrictedTier, statements: fake.sent.slice(before), outcome });
      await session.close();
    }
  }
  return out;
}

/** Permissions the signal checked before reading (its HAS_PERMS_BY_NAME probes). */
function checked(statements: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    for (const m of s.matchAll(/HAS_PERMS_BY_NAME\((NULL|DB_NAME\(\)|N'([^']*)'), (NULL|N'DATABASE'|N'OBJECT'), N'([^']+)'\)/g)) {
      out.add(m[3] === "N'OBJECT'" ? `${m[4]} on ${m[2]}` : m[4]!);
    }
  }
  return out;
}
/** A documented need is met by the permission itself or one that covers it (Permissions hierarchy). */
const COVERED_BY: Record<string, string[]> = {
  'VIEW SERVER PERFORMANCE STATE': ['VIEW SERVER STATE'],
  'VIEW DATABASE STATE': ['VIEW SERVER STATE'],
  'VIEW DATABASE PERFORMANCE STATE': ['VIEW DATABASE STATE', 'VIEW SERVER STATE', 'VIEW SERVER PERFORMANCE STATE'],
  'VIEW DEFINITION': ['VIEW ANY DEFINITION'],
};
const isProbe = (sql: string): boolean => /^SELECT HAS_PERMS_BY_NAME/.test(sql) || /DATABASEPROPERTYEX\(DB_NAME\(\), 'ServiceObjective'\)/.test(sql);

describe('SQL Server catalog against the documented schemas (test/fixtures/vendor-schemas/mssql.ts)', async () => {
  const sent = await sendAll();
  const reads = sent.flatMap((r) => r.statements.filter((s) => !isProbe(s)).map((sql) => ({ ...r, sql, x: extract(sql, tsql) })));

  it('every catalog signal was exercised on every model, and every statement names only documented objects and columns', () => {
    expect(new Set(sent.map((r) => r.signal)).size).toBe(mssqlCatalog.length);
    for (const m of MSSQL_MODELS)
      expect(
        reads.some((r) => r.model === m),
        m,
      ).toBe(true);
    for (const r of reads) expect(r.x.unresolved, `${r.signal} on ${r.model}:\n${r.sql}`).toEqual([]);
    for (const r of reads) expect(r.x.objects.length, `${r.signal}: ${r.sql}`).toBeGreaterThan(r.sql.includes('FROM') ? 0 : -1);
  });

  it('each object exists on the model it is read on, each column in the oldest version of that model', () => {
    for (const r of reads) {
      for (const o of r.x.objects) expect(MSSQL_OBJECTS[o]!.needs[r.model], `${r.signal} reads ${o} on ${r.model}`).not.toContain('absent');
      for (const c of r.x.columns) {
        const since = MSSQL_OBJECTS[c.object]!.columns[c.column]!.since ?? 0;
        expect(since, `${r.signal}: ${c.object}.${c.column} on ${r.model}`).toBeLessThanOrEqual(r.major);
      }
    }
  });

  it("each object's documented permission for the model is checked before it is read (never a filtered answer passed off as whole)", () => {
    const failures: string[] = [];
    for (const r of sent) {
      const has = checked(r.statements);
      const sql = r.statements.filter((s) => !isProbe(s));
      for (const o of new Set(sql.flatMap((s) => extract(s, tsql).objects))) {
        const doc = MSSQL_OBJECTS[o]!;
        if (doc.alwaysVisible !== undefined && sql.filter((s) => extract(s, tsql).objects.includes(o)).every((s) => doc.alwaysVisible!.test(s))) continue;
        for (const need of doc.needs[r.model]) {
          if (need === 'public') continue;
          if (need === 'own connection only') failures.push(`${r.signal} reads ${o} on ${r.model}, where it shows only the own connection`);
          else if (!has.has(need) && !(COVERED_BY[need] ?? []).some((p) => has.has(p)))
            failures.push(`${r.signal} reads ${o} on ${r.model} without checking ${need}`);
        }
        if (r.restrictedTier && doc.azureRestrictedTiers !== undefined && !r.statements.some((s) => /ServiceObjective/.test(s))) {
          failures.push(`${r.signal} reads ${o} on a Basic/S0/S1/pool database without checking the tier rule`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every unit conversion matches the documented unit of its source column', () => {
    const failures: string[] = [];
    let checkedItems = 0;
    for (const r of reads) {
      for (const item of r.x.items) {
        const target = aliasUnit(item.alias);
        if (target === undefined || /\bDATEDIFF\b|\bCAST\(NULL\b/i.test(item.expr) || /^NULL$/i.test(item.expr.trim())) continue;
        // Source units: documented columns, perf counters by name, and CTE columns named with a unit.
        const units = new Set<string>();
        const counter = /counter_name = N'([^']+)'/.exec(item.expr);
        if (counter !== null) units.add(MSSQL_OBJECTS['sys.dm_os_performance_counters']!.counters![counter[1]!] ?? `undocumented counter ${counter[1]}`);
        else {
          const sub = extract(`SELECT ${item.expr} AS x ${r.sql.slice(r.sql.search(/\bFROM\b/i))}`, tsql);
          for (const c of sub.columns) {
            const u = MSSQL_OBJECTS[c.object]!.columns[c.column]!.unit;
            if (u !== undefined && u !== 'count' && u !== 'percent') units.add(u);
          }
          for (const m of item.expr.matchAll(/\b\w+\.(\w+)\b/g)) {
            const u = aliasUnit(m[1]!);
            if (u !== undefined && r.x.derived.some((d) => item.expr.includes(`${d}.${m[1]}`))) units.add(u);
          }
        }
        if (units.size !== 1) {
          failures.push(`${r.signal}.${item.alias}: source units ${[...units].join(', ') || 'none'} (${item.expr.replace(/\s+/g, ' ')})`);
          continue;
        }
        const from = UNIT_SCALE[[...units][0]!];
        const to = UNIT_SCALE[target]!;
        const factor = counter === null ? literalFactor(item.expr) : literalFactor(item.expr.replace(/counter_name = N'[^']*'/, ''));
        checkedItems++;
        if (from === undefined || from.dim !== to.dim || Math.abs((factor * to.scale) / from.scale - 1) > 1e-9) {
          failures.push(`${r.signal}.${item.alias}: ${[...units][0]} × ${factor} is not ${target}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checkedItems).toBeGreaterThan(20);
  });

  it('reports how many references it checked', () => {
    const objects = new Set(reads.flatMap((r) => r.x.objects));
    const columns = new Set(reads.flatMap((r) => r.x.columns.map((c) => `${c.object}.${c.column}`)));
    const refs = reads.reduce((n, r) => n + r.x.objects.length + r.x.columns.length, 0);
    console.log(
      `[vendor-contract] mssql: ${new Set(reads.map((r) => r.sql)).size} distinct statements over ${MSSQL_MODELS.length} models; ${objects.size} objects, ${columns.size} distinct columns, ${refs} references checked`,
    );
    expect(objects.size).toBe(Object.keys(MSSQL_OBJECTS).length);
  });
});

import { verifiedSignals } from '../helpers/verified-signals.js';

describe('the opt-in real-server suites print what they verified', () => {
  it('one line per signal: ok with rows and fields, or the reason and detail', async () => {
    const run = await runAgainst(new FakeSqlServer({ model: SQL2022, identity: NO_STATE }));
    const text = verifiedSignals('mssql', run.payload, '16.0');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\[verified\] mssql 16\.0: \d+\/\d+ signals ok$/);
    expect(lines).toHaveLength(mssqlCatalog.length + 1);
    expect(text).toMatch(/\n {2}ok {11}mssql\.server: 1 row\(s\); fields product_version, /);
    expect(text).toMatch(/\n {2}permission {3}mssql\.configuration: .*VIEW SERVER PERFORMANCE STATE/);
  });
});
