// Issue 18 for SQL Server: every attack class, through the real MssqlSession against
// the recorded fake; none may reach the driver. And the allowlists hold exactly what
// the catalog sends across server models, identities and features.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ReadOnlyViolation } from '../../collectors/core/read-only.js';
import { ALLOWED_TSQL_FUNCTIONS, ALLOWED_TSQL_RELATIONS, tsqlNamesUsed } from '../../collectors/mssql/guard.js';
import { MssqlSession } from '../../collectors/mssql/session.js';
import { AZURE_SQL_DB, SQL2019, SQL2022 } from '../fixtures/mssql/servers.js';
import { FakeSqlServer, type Identity } from '../helpers/mssql-fake.js';
import { MemoryAudit, mssqlTarget, runAgainst } from '../helpers/mssql.js';
import { TSQL_ATTACKS } from '../helpers/tsql-attacks.js';

const MONITOR: Identity = { login: 'monitor', user: 'monitor', serverPerms: ['VIEW SERVER STATE', 'VIEW ANY DEFINITION'] };
const SYSADMIN: Identity = { login: 'sa', user: 'dbo', serverPerms: [], serverRoles: ['sysadmin'] };
const LOW: Identity = { login: 'low', user: 'low', serverPerms: [] };

describe('SQL Server read-only by construction', () => {
  it(`none of ${TSQL_ATTACKS.length} attacks is sent: each is refused and audited as refused`, async () => {
    expect(TSQL_ATTACKS.length).toBeGreaterThanOrEqual(200);
    const fake = new FakeSqlServer({ model: SQL2022, identity: SYSADMIN });
    const audit = new MemoryAudit();
    const s = await MssqlSession.open(mssqlTarget({ user: 'sa' }), 'pw', { audit, applicationName: 'logstag-agent/0.1.0' }, fake.connect);
    const sentBefore = [...fake.sent];
    const passed: string[] = [];
    for (const { sql } of TSQL_ATTACKS) {
      const err = await s.query(sql).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof ReadOnlyViolation)) passed.push(sql);
    }
    expect(passed).toEqual([]);
    expect(fake.sent).toEqual(sentBefore);
    const refused = audit.entries.filter((e) => e.outcome === 'refused');
    expect(refused.length).toBe(TSQL_ATTACKS.length);
    await s.close();
  });

  it('every statement of full cycles passes (three platforms, three identities, with and without HADR/Query Store)', async () => {
    for (const model of [SQL2019, SQL2022, AZURE_SQL_DB]) {
      for (const identity of [MONITOR, SYSADMIN, LOW]) {
        for (const extra of [{}, { hadr: true, queryStore: true }]) {
          const run = await runAgainst(new FakeSqlServer({ model, identity, ...extra }));
          expect(run.audit.entries.filter((e) => e.outcome === 'refused')).toEqual([]);
        }
      }
    }
  });

  it('the allowlists hold exactly the names the catalog source uses, nothing more', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../collectors/mssql');
    const source = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'guard.ts')
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const sysNames = new Set(source.match(/\b(sys\.[a-z_]+|msdb\.dbo\.[a-z_]+)/g));
    const calls = new Set([...source.matchAll(/\b([A-Z][A-Z_]{2,})\(/g)].map((m) => m[1]!.toLowerCase()).filter((n) => n !== 'path' && n !== 'user_id'));
    // (PATH is FOR XML PATH(''); USER_ID( is in the grant script model.ts prints for the DBA, never sent.)
    const sysFunctions = [...ALLOWED_TSQL_FUNCTIONS].filter((f) => f.startsWith('sys.'));
    expect([...ALLOWED_TSQL_RELATIONS, ...sysFunctions].sort()).toEqual([...sysNames].sort());
    expect([...ALLOWED_TSQL_FUNCTIONS].filter((f) => !f.startsWith('sys.')).sort()).toEqual([...calls].sort());
    // And the guard's own reading of a statement agrees with the scan.
    expect([...tsqlNamesUsed('SELECT COUNT(*) FROM [app].sys.tables t CROSS APPLY sys.dm_exec_sql_text(t.x) s').functions].sort()).toEqual([
      'count',
      'sys.dm_exec_sql_text',
    ]);
  });

  it.each([
    ["SELECT [xp_cmdshell](N'whoami')", /function xp_cmdshell\(\)/],
    ['SELECT * FROM "sys"."fn_xe_file_target_read_file"(N\'c:\\*.xel\', null, null, null)', /function sys\.fn_xe_file_target_read_file\(\)/],
    ['SELECT * FROM [linked].[master].[sys].[databases]', /other servers/],
    ['SELECT * FROM master..sysobjects', /omitted part/],
    ['SELECT * FROM dbo.users', /relation dbo\.users/],
    ["SELECT N'a''b' EXEC('x')", /EXEC/],
    ['SELECT 1 /* /* nested */ EXEC(1) */', /nested comments/],
  ])('refuses %s', (sql, why) => {
    const fake = new FakeSqlServer({ model: SQL2022, identity: SYSADMIN });
    return MssqlSession.open(mssqlTarget({ user: 'sa' }), 'pw', { audit: new MemoryAudit(), applicationName: 'x' }, fake.connect).then(async (s) => {
      await expect(s.query(sql)).rejects.toThrow(why);
      await s.close();
    });
  });
});
