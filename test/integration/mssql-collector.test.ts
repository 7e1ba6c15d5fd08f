import { testCycleDeps } from '../helpers/cycle.js';
import { describe, expect, it } from 'vitest';
import { verifiedSignals } from '../helpers/verified-signals.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import { mssqlCollector } from '../../collectors/mssql/index.js';
import { collectCycle } from '../../collectors/cycle.js';
import { AGENT, MemoryAudit } from '../helpers/mssql.js';

/**
 * Against a real SQL Server when MSSQL_URL points at one, e.g.
 *   MSSQL_URL='mssql://logstag_monitor:PW@sql01:1433/app?tls=require'
 * (tls: verify-full by default; require = encrypt without validating, for lab servers).
 * No SQL Server can be installed on the build machines, so without it this suite is
 * reported as skipped, never as passed.
 */
const url = process.env['MSSQL_URL'];

function targetFrom(raw: string): { target: Target; password: string } {
  const u = new URL(raw);
  const tls = u.searchParams.get('tls');
  const target = TargetSchema.parse({
    id: 'mssql-it',
    engine: 'mssql',
    host: u.hostname,
    port: Number(u.port || 1433),
    user: decodeURIComponent(u.username),
    database: decodeURIComponent(u.pathname.slice(1)) || 'master',
    password: { env: 'MSSQL_PASSWORD' },
    ...(tls === null ? {} : { tls: { mode: tls } }),
  });
  return { target, password: decodeURIComponent(u.password) };
}

describe.skipIf(url === undefined)('SQL Server collector against a real server (not run: MSSQL_URL is not set)', () => {
  it('one cycle: every signal is ok or unavailable with a reason, and only reads were sent', async () => {
    const { target, password } = targetFrom(url!);
    const audit = new MemoryAudit();
    const { payload, connectError } = await collectCycle(target, { collector: mssqlCollector, password, audit, agent: AGENT, ...testCycleDeps(target) });
    expect(connectError).toBeUndefined();
    expect(payload.signals.map((s) => s.id)).toEqual(mssqlCatalog.map((s) => s.id));
    expect(payload.signals.find((s) => s.id === 'mssql.server')?.status).toBe('ok');
    for (const s of payload.signals) if (s.status === 'unavailable') expect(s.reason, `${s.id}: ${s.detail}`).not.toBe('error');
    for (const e of audit.entries) expect(e.statement).toMatch(/^(SELECT|WITH)\b/);
    const server = payload.signals.find((x) => x.id === 'mssql.server') as { value?: { product_version?: string; platform?: string } };
    console.log(verifiedSignals('mssql', payload, `${server.value?.platform ?? ''} ${server.value?.product_version ?? ''}`));
  });

  it('identity, checklist and script come back for the configured login', async () => {
    const { target, password } = targetFrom(url!);
    const session = await mssqlCollector.connect(target, password, { audit: new MemoryAudit(), applicationName: 'logstag-agent/it' });
    try {
      const identity = await mssqlCollector.identity(session);
      const items = await mssqlCollector.checklist(session);
      expect(identity.user.length).toBeGreaterThan(0);
      expect(items.length).toBeGreaterThan(3);
      expect(mssqlCollector.grantScript(target, identity.isAdministrator ? 'all' : items)).toMatch(/^-- Logstag monitoring identity/);
    } finally {
      await session.close();
    }
  });
});
