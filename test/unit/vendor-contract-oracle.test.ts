import { describe, expect, it } from 'vitest';
import { leastPrivileged, runOracle } from '../helpers/oracle.js';

const containers = (p: { signals: { id: string; value?: unknown }[] }) =>
  p.signals.find((s) => s.id === 'oracle.containers') as unknown as { status: string; value: Array<{ name: string; open_at: string }> };

describe('oracle.containers.open_at (V$CONTAINERS.OPEN_TIME is TIMESTAMP(3), no time zone)', () => {
  it.each([
    ['agent west of the database host', '+02:00', '-05:00'],
    ['agent east of the database host', '-07:00', '+09:30'],
  ])('%s: the instant is read in the database host zone, never the session zone', async (_label, host, session) => {
    const r = await runOracle({ ...leastPrivileged(), hostTimeZone: host, sessionTimeZone: session });
    const c = containers(r.payload);
    expect(c.status).toBe('ok');
    // Source rows say 08:12:40.117 etc. on the host's wall clock.
    const wall = { CDB$ROOT: '2025-05-01T08:12:40', PDB$SEED: '2025-05-01T08:12:41', SALESPDB: '2025-05-01T08:12:44' } as Record<string, string>;
    for (const row of c.value) {
      const expected = new Date(Date.parse(`${wall[row.name]}${host}`)).toISOString().replace(/\.\d{3}Z$/, 'Z');
      expect(row.open_at, row.name).toBe(expected);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The documented-schema contract: every statement the Oracle catalog sends, on 19c, 21c and 23ai.
// ---------------------------------------------------------------------------------------------

import { oracleCatalog } from '../../collectors/oracle/catalog.js';
import { oracleGrantScript } from '../../collectors/oracle/grants.js';
import { createOracleCollector } from '../../collectors/oracle/index.js';
import { LOCAL_TIME_TYPES, ORACLE_VERSIONS, ORACLE_VIEWS, type OracleVersion, ZONED_TIME_TYPES } from '../fixtures/vendor-schemas/oracle.js';
import { FakeOracleDriver } from '../helpers/oracle-fake.js';
import { grantedBy, MemoryAudit, oracleTarget } from '../helpers/oracle.js';
import { aliasUnit, type Dialect, extract, literalFactor, UNIT_SCALE } from '../helpers/sql-refs.js';

const oracleSql: Dialect = {
  object: /((?:g?v\$|dba_|cdb_|audit_unified_)\w+|dual)/,
  normalise: (n) => n.toUpperCase(),
  isKnown: (o) => o in ORACLE_VIEWS,
  columnsOf: (o) => Object.keys(ORACLE_VIEWS[o]?.columns ?? {}).map((c) => c.toLowerCase()),
};
const VERSION_STRINGS: Record<OracleVersion, string> = { '19c': '19.24.0.0.0', '21c': '21.3.0.0.0', '23ai': '23.6.0.24.10' };

interface OracleSent {
  signal: string;
  version: OracleVersion;
  statements: string[];
  outcome: string;
}
async function sendAllOracle(): Promise<OracleSent[]> {
  const out: OracleSent[] = [];
  for (const version of ORACLE_VERSIONS) {
    const who = { ...leastPrivileged(true), version: VERSION_STRINGS[version], readable: 'all' as const };
    const driver = new FakeOracleDriver(who);
    const collector = createOracleCollector(driver);
    const session = await collector.connect(oracleTarget(who.user, { oracle: { diagnosticsPack: true } }), 'pw', {
      audit: new MemoryAudit(),
      applicationName: 'contract',
    });
    for (const spec of oracleCatalog) {
      const before = driver.statements.length;
      let outcome = 'ok';
      try {
        await (spec.read as (s: unknown) => Promise<unknown>)(session);
      } catch (e) {
        outcome = String(e);
      }
      out.push({ signal: spec.id, version, statements: driver.statements.slice(before).filter((s) => !/^SET TRANSACTION/i.test(s)), outcome });
    }
    await session.close();
  }
  return out;
}

describe('Oracle catalog against the documented schemas (test/fixtures/vendor-schemas/oracle.ts)', async () => {
  const sent = await sendAllOracle();
  const reads = sent.flatMap((r) => r.statements.map((sql) => ({ ...r, sql, x: extract(sql, oracleSql) })));

  it('every signal reads on every version, naming only documented views and columns', () => {
    expect(sent.filter((r) => r.outcome !== 'ok')).toEqual([]);
    expect(new Set(sent.map((r) => r.signal)).size).toBe(oracleCatalog.length);
    for (const r of reads) expect(r.x.unresolved, `${r.signal} on ${r.version}:\n${r.sql}`).toEqual([]);
    for (const r of reads) {
      for (const c of r.x.columns) {
        const doc = ORACLE_VIEWS[c.object]!.columns[c.column.toUpperCase()]!;
        const idx = ORACLE_VERSIONS.indexOf(r.version);
        if (doc.since !== undefined) expect(ORACLE_VERSIONS.indexOf(doc.since), `${c.object}.${c.column}`).toBeLessThanOrEqual(idx);
        if (doc.until !== undefined) expect(ORACLE_VERSIONS.indexOf(doc.until), `${c.object}.${c.column}`).toBeGreaterThanOrEqual(idx);
      }
    }
  });

  it('each view a signal reads is in its requires (so the checklist and the grant script cover it) and granted by the recommended script', () => {
    const script = oracleGrantScript(oracleTarget('C##LOGSTAG_MONITOR', { oracle: { diagnosticsPack: true } }), 'all');
    const granted = grantedBy(script);
    const failures: string[] = [];
    for (const r of reads) {
      const spec = oracleCatalog.find((s) => s.id === r.signal)!;
      for (const o of r.x.objects) {
        if (o === 'DUAL') continue;
        // DBA_CONTAINER_DATA is the shared CONTAINER_DATA probe, granted with it (grants.ts).
        // The Diagnostics Pack switch is read from V$PARAMETER as an optional probe whose failure is tolerated.
        const optionalProbe = o === 'V$PARAMETER' && /control_management_pack_access/.test(r.sql);
        if (o !== 'DBA_CONTAINER_DATA' && !optionalProbe && !spec.requires.includes(o)) failures.push(`${r.signal} reads ${o} but does not require it`);
        if (!granted.has(o)) failures.push(`${r.signal} reads ${o}, which the recommended script does not grant (${ORACLE_VIEWS[o]!.grant})`);
      }
    }
    expect([...new Set(failures)]).toEqual([]);
  });

  it('time columns: zone-less types are read in the host zone, zoned types with their own offset, never compared with SYSTIMESTAMP unconverted', () => {
    const failures: string[] = [];
    let conversions = 0;
    const typeIn = (objects: readonly string[], col: string): string | undefined => {
      const c = col.replace(/^\w+\./, '').toUpperCase();
      return objects.map((o) => ORACLE_VIEWS[o]!.columns[c]?.type).find((t) => t !== undefined);
    };
    for (const r of reads) {
      for (const m of r.sql.matchAll(/SYS_EXTRACT_UTC\((FROM_TZ\(CAST\()?([\w.]+)/gi)) {
        const t = typeIn(r.x.objects, m[2]!);
        conversions++;
        if (t === undefined) failures.push(`${r.signal}: SYS_EXTRACT_UTC over undocumented ${m[2]}`);
        else if (m[1] === undefined && !ZONED_TIME_TYPES.test(t))
          failures.push(`${r.signal}: SYS_EXTRACT_UTC(${m[2]}) over ${t} converts in the session zone, not the host's`);
        else if (m[1] !== undefined && !LOCAL_TIME_TYPES.test(t)) failures.push(`${r.signal}: FROM_TZ(${m[2]}) over ${t} discards its own zone`);
      }
      // A zone-less column compared with SYSTIMESTAMP is converted implicitly in the session zone.
      for (const m of r.sql.matchAll(/([\w.]+)\s*[<>]=?\s*SYSTIMESTAMP\b/gi)) {
        const t = typeIn(r.x.objects, m[1]!);
        if (t !== undefined && LOCAL_TIME_TYPES.test(t)) failures.push(`${r.signal}: ${m[1]} (${t}) compared with SYSTIMESTAMP (session-zone conversion)`);
      }
    }
    expect(failures).toEqual([]);
    expect(conversions).toBeGreaterThan(5);
  });

  it('every unit conversion matches the documented unit of its source column', () => {
    const failures: string[] = [];
    let checkedItems = 0;
    for (const r of reads) {
      for (const item of r.x.items) {
        const target = aliasUnit(item.alias);
        if (target === undefined || /SYS_EXTRACT_UTC|SYSDATE/i.test(item.expr)) continue;
        const sub = extract(`SELECT ${item.expr} AS x ${r.sql.slice(r.sql.search(/\bFROM\b/i))}`, oracleSql);
        const units = new Set(
          sub.columns.map((c) => ORACLE_VIEWS[c.object]!.columns[c.column.toUpperCase()]!.unit).filter((u): u is string => u !== undefined && u !== 'percent'),
        );
        // blocks × bytes per block = bytes.
        if (units.has('blocks') && units.has('bytes/block')) {
          units.delete('blocks');
          units.delete('bytes/block');
          units.add('bytes');
        }
        if (units.size !== 1) {
          failures.push(`${r.signal}.${item.alias}: source units ${[...units].join(', ') || 'none'} (${item.expr})`);
          continue;
        }
        const from = UNIT_SCALE[[...units][0]!];
        const to = UNIT_SCALE[target]!;
        const factor = literalFactor(item.expr.replace(/,\s*\d+\)/g, ')'));
        checkedItems++;
        if (from === undefined || from.dim !== to.dim || Math.abs((factor * to.scale) / from.scale - 1) > 1e-9)
          failures.push(`${r.signal}.${item.alias}: ${[...units][0]} × ${factor} is not ${target}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checkedItems).toBeGreaterThan(8);
  });

  it('reports how many references it checked', () => {
    const objects = new Set(reads.flatMap((r) => r.x.objects));
    const columns = new Set(reads.flatMap((r) => r.x.columns.map((c) => `${c.object}.${c.column}`)));
    const refs = reads.reduce((n, r) => n + r.x.objects.length + r.x.columns.length, 0);
    console.log(
      `[vendor-contract] oracle: ${new Set(reads.map((r) => r.sql)).size} distinct statements over ${ORACLE_VERSIONS.length} versions; ${objects.size} views, ${columns.size} distinct columns, ${refs} references checked`,
    );
    expect(objects.size).toBe(Object.keys(ORACLE_VIEWS).length);
  });
});

import { fixtureCases } from '../helpers/oracle-fake.js';

describe('the Oracle fake answers from the documented source columns', () => {
  it("each case with source rows: the collector's statement, evaluated over them, gives the expected output (units and zones included)", async () => {
    const withSource = fixtureCases.filter((c) => c.source !== undefined);
    expect(withSource.map((c) => c.signal).sort()).toEqual(['oracle.containers', 'oracle.sessions', 'oracle.sql_stats', 'oracle.system_events']);
    const r = await runOracle({ ...leastPrivileged(), readable: 'all' });
    for (const c of withSource) {
      const s = r.payload.signals.find((x) => x.id === c.signal) as unknown as { status: string; value: Record<string, unknown>[] };
      expect(s.status, c.signal!).toBe('ok');
      // Query text goes through the policy (literals replaced): compared elsewhere.
      const spec = oracleCatalog.find((x) => x.id === c.signal)!;
      const keep = (k: string) => (spec.fields as Record<string, string | null>)[k] !== 'query_text';
      const expected = c.rows.map((row) =>
        Object.fromEntries(
          Object.entries(row)
            .map(([k, v]) => [k.toLowerCase(), v])
            .filter(([k]) => keep(k as string)),
        ),
      );
      const actual = s.value.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => keep(k))));
      expect(actual, c.signal!).toEqual(expected);
    }
  });
});
