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
      expect(signal(run.payload, id), id).toMatchObject({ status: 'unavailable', reason: 'permission', fix: 'USE [master]; GRANT VIEW SERVER PERFORMANCE STATE TO [monitor];' });
      expect(signal(run.payload, id)).not.toHaveProperty('value');
    }
    // The checklist tells which signals the permission unlocks.
    expect(run.items.find((i) => i.grant === 'VIEW SERVER PERFORMANCE STATE')?.signals).toEqual(expect.arrayContaining(['mssql.configuration', 'mssql.security']));
  });

  it('2019 with the same grants: sys.configurations is public, both signals read (no over-asking)', async () => {
    const run = await runAgainst(new FakeSqlServer({ model: SQL2019, identity: NO_STATE }));
    expect(statuses(run.payload)['mssql.configuration']).toBe('ok');
    expect(statuses(run.payload)['mssql.security']).toBe('ok');
    expect(signal<{ xp_cmdshell_enabled: boolean | null }>(run.payload, 'mssql.security').value.xp_cmdshell_enabled).toBe(false);
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
