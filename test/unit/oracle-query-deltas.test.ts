import { describe, expect, it } from 'vitest';
import { oracleCatalog } from '../../collectors/oracle/catalog.js';
import { createOracleCollector } from '../../collectors/oracle/index.js';
import { byKey, modeOf, shipper } from '../helpers/delta-consumer.js';
import { FakeOracleDriver, type Identity } from '../helpers/oracle-fake.js';
import { leastPrivileged, oracleTarget } from '../helpers/oracle.js';

/*
 * oracle.sql_stats ships as deltas (docs/payload-v2.md), attacked with the ways
 * V$SQLSTATS goes back between two cycles, each checked by a consumer that holds only
 * the shipped bytes and must rebuild exactly what the server reports:
 * - a cursor aged out of the shared pool and parsed again ("the statistics may still
 *   appear in this view, even after the cursor has been aged out"; once gone, the
 *   next parse starts from zero): its row disappears, or comes back with smaller
 *   counters — that row ships whole, the others stay differences;
 * - one SQL_ID with a second plan (a new PLAN_HASH_VALUE: another row, "one row per
 *   unique combination of SQL_ID and PLAN_HASH_VALUE"), the same SQL_ID in another
 *   PDB (CON_ID);
 * - an instance restart (V$INSTANCE.STARTUP_TIME moves): a full baseline.
 * The fake evaluates the collector's own statement over V$SQLSTATS source rows
 * (documented columns, test/fixtures/vendor-schemas/oracle.ts: ELAPSED_TIME and
 * CPU_TIME in microseconds, LAST_ACTIVE_TIME a DATE on the host clock).
 */

const KEY = ['con_id', 'sql_id', 'plan_hash_value'];
const T0 = Date.parse('2026-12-01T00:00:00Z');

type Cursor = {
  CON_ID: number;
  SQL_ID: string;
  PLAN_HASH_VALUE: number;
  EXECUTIONS: number;
  ELAPSED_TIME: number;
  CPU_TIME: number;
  BUFFER_GETS: number;
  DISK_READS: number;
  ROWS_PROCESSED: number;
  LAST_ACTIVE_TIME: string;
  SQL_TEXT: string;
};
const cursor = (con: number, sqlId: string, plan: number, execs: number): Cursor => ({
  CON_ID: con,
  SQL_ID: sqlId,
  PLAN_HASH_VALUE: plan,
  EXECUTIONS: execs,
  ELAPSED_TIME: execs * 1234,
  CPU_TIME: execs * 1000,
  BUFFER_GETS: execs * 50,
  DISK_READS: execs,
  ROWS_PROCESSED: execs * 2,
  LAST_ACTIVE_TIME: '2026-12-01 01:59:00',
  SQL_TEXT: `SELECT * FROM orders WHERE id = :1 /* ${sqlId} */`,
});
const bump = (c: Cursor, execs: number): void => {
  c.EXECUTIONS += execs;
  c.ELAPSED_TIME += execs * 1234;
  c.CPU_TIME += execs * 1000;
  c.BUFFER_GETS += execs * 50;
  c.ROWS_PROCESSED += execs * 2;
};

const INSTANCE = {
  INSTANCE_NAME: 'ORCLCDB',
  HOST_NAME: 'db1.example.internal',
  VERSION: '23.6.0.24.10',
  EDITION: 'EE',
  INSTANCE_STATUS: 'OPEN',
  DATABASE_STATUS: 'ACTIVE',
  INSTANCE_ROLE: 'PRIMARY_INSTANCE',
  STARTED_AT: '2026-11-01T06:12:09Z',
  UPTIME_SECONDS: 2_569_671,
  DATABASE_NAME: 'ORCLCDB',
  DB_UNIQUE_NAME: 'ORCLCDB_FRA',
  DATABASE_ROLE: 'PRIMARY',
  OPEN_MODE: 'READ WRITE',
  LOG_MODE: 'ARCHIVELOG',
  CDB: 'YES',
  PLATFORM_NAME: 'Linux x86 64-bit',
};

describe('oracle.sql_stats: deltas against V$SQLSTATS', () => {
  it('is declared a delta signal keyed by container, SQL_ID and plan, reset by an instance restart', () => {
    const spec = oracleCatalog.find((s) => s.id === 'oracle.sql_stats')!;
    expect(spec.delta).toMatchObject({ key: KEY, rowReset: true });
    expect(spec.delta?.counters).toEqual(['executions', 'elapsed_ms', 'cpu_ms', 'buffer_gets', 'disk_reads', 'rows_processed']);
    expect(spec.delta?.resetWhen).toEqual([{ signal: 'oracle.instance', field: 'started_at' }]);
  });

  it('rebuilds V$SQLSTATS across changes, a second plan, an aged-out cursor parsed again, and an instance restart', async () => {
    const cursors: Cursor[] = [
      cursor(3, '8bx9p0u3h2kqy', 2712450098, 88_213),
      cursor(3, 'a1b2c3d4e5f6g', 1357924680, 12),
      cursor(4, '8bx9p0u3h2kqy', 2712450098, 40),
    ];
    const instance = { ...INSTANCE };
    const who: Identity = {
      ...leastPrivileged(),
      sources: { V$SQLSTATS: cursors },
      answers: { 'FROM v\\$instance i CROSS JOIN v\\$database d': [instance] },
    };
    const target = oracleTarget(who.user, { schedule: { activity: 'interval', waits_locks: 'interval' } });
    const sh = shipper(target, () => createOracleCollector(new FakeOracleDriver(who)) as never, { startMs: T0, stepMs: 60_000 });
    const qs = () => sh.last('oracle.sql_stats');
    const check = async () => {
      expect(byKey(sh.consumer.held.get('oracle.sql_stats')?.value, KEY)).toEqual(byKey(await sh.truth('oracle.sql_stats'), KEY));
      expect(sh.consumer.gaps).toEqual([]);
    };

    await sh.ship();
    expect(modeOf(qs())).toBe('full:first');
    await check();

    // One cursor ran: its differences, in the payload's units (ms).
    bump(cursors[0]!, 7);
    await sh.ship();
    expect(modeOf(qs())).toBe('delta');
    expect(qs().value).toEqual({
      added: [],
      changed: [
        {
          con_id: 3,
          sql_id: '8bx9p0u3h2kqy',
          plan_hash_value: 2712450098,
          executions: 7,
          elapsed_ms: expect.closeTo(8.638, 6),
          cpu_ms: 7,
          buffer_gets: 350,
          rows_processed: 14,
        },
      ],
      removed: [],
    });
    await check();

    await sh.ship();
    expect(modeOf(qs())).toBe('unchanged');

    // The same SQL_ID gets a second plan: a new row beside the first.
    cursors.push(cursor(3, 'a1b2c3d4e5f6g', 99887766, 3));
    await sh.ship();
    expect(qs().value).toMatchObject({ added: [{ sql_id: 'a1b2c3d4e5f6g', plan_hash_value: 99887766 }], changed: [], removed: [] });
    await check();

    // The PDB-4 cursor aged out and was parsed again before the cycle: counters from zero. Only its row restarts.
    cursors[2] = cursor(4, '8bx9p0u3h2kqy', 2712450098, 2);
    bump(cursors[1]!, 1);
    await sh.ship();
    expect(modeOf(qs())).toBe('delta');
    const v = qs().value as { added: Array<{ con_id: number; executions: number }>; changed: Array<{ sql_id: string }> };
    expect(v.added).toEqual([expect.objectContaining({ con_id: 4, executions: 2 })]);
    expect(v.changed.map((c) => c.sql_id)).toEqual(['a1b2c3d4e5f6g']);
    await check();

    // Aged out for good: removed; parsed again a cycle later: added whole.
    const gone = cursors.splice(1, 1)[0]!;
    await sh.ship();
    expect(qs().value).toMatchObject({ removed: [{ con_id: 3, sql_id: 'a1b2c3d4e5f6g', plan_hash_value: 1357924680 }] });
    await check();
    cursors.push({ ...gone, EXECUTIONS: 1 });
    await sh.ship();
    expect(qs().value).toMatchObject({ added: [{ sql_id: 'a1b2c3d4e5f6g', executions: 1 }] });
    await check();

    // An instance restart: the shared pool is empty and fills again. A full baseline, even where counters are larger.
    instance.STARTED_AT = '2026-12-01T00:08:00Z';
    cursors.splice(0, cursors.length, cursor(3, '8bx9p0u3h2kqy', 2712450098, 100_000));
    await sh.ship();
    expect(modeOf(qs())).toBe('full:reset');
    await check();

    bump(cursors[0]!, 1);
    await sh.ship();
    expect(modeOf(qs())).toBe('delta');
    await check();
  });
});
