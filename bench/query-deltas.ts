/**
 * Bytes of query statistics shipped per target per hour for SQL Server (plan cache,
 * 500 statements), Oracle (V$SQLSTATS, 200 cursors) and MongoDB (top, 500
 * namespaces), collected every 60 s for an hour through the real cycles against the
 * test fakes (test/helpers: the SQL Server and Oracle fakes, the fake mongod over the
 * wire), with `--busy` % of the rows running between two cycles and one row evicted
 * and re-created per cycle. Prints, per engine, the signal's first (full) size, the
 * mean later size and the hour's total, before (every cycle full) and after (deltas),
 * and checks that a consumer of the shipped bytes rebuilt the server's final state.
 *
 *   npm run bench:deltas [-- --cycles 60 --busy 10]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { ClosableSession, EngineCollector } from '../collectors/core/engine.js';
import type { Target } from '../collectors/target.js';
import { createMssqlCollector } from '../collectors/mssql/index.js';
import { createOracleCollector } from '../collectors/oracle/index.js';
import { mongodbCollector } from '../collectors/mongodb/index.js';
import { SQL2019 } from '../test/fixtures/mssql/servers.js';
import { startFakeMongod } from '../test/fixtures/mongodb/fake-mongod.js';
import { LEAST as MONGO_LEAST } from '../test/fixtures/mongodb/identities.js';
import { byKey, shipper } from '../test/helpers/delta-consumer.js';
import { FakeSqlServer } from '../test/helpers/mssql-fake.js';
import { mssqlTarget } from '../test/helpers/mssql.js';
import { FakeOracleDriver } from '../test/helpers/oracle-fake.js';
import { leastPrivileged, oracleTarget } from '../test/helpers/oracle.js';
import { mongoTarget } from '../test/helpers/mongo.js';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '60' }, busy: { type: 'string', default: '10' } } });
const CYCLES = Number(values.cycles);
const BUSY = Number(values.busy) / 100;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** A deterministic generator, so two runs ship the same bytes. */
let seed = 42;
const rand = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

interface Counted {
  n: number;
  counters: number[];
}
/** Moves BUSY of the rows and restarts one of them (evicted and re-created). */
function work(rows: Counted[], restart: (r: Counted) => void): void {
  for (const r of rows) if (rand() < BUSY) r.counters = r.counters.map((c) => c + 1 + Math.floor(rand() * 50));
  restart(rows[Math.floor(rand() * rows.length)]!);
}

async function measure(
  name: string,
  target: Target,
  collector: () => EngineCollector<ClosableSession, Target>,
  id: string,
  key: string[],
  step: () => void,
  password?: string,
): Promise<void> {
  const sh = shipper(target, collector, { startMs: T0, stepMs: 60_000, ...(password === undefined ? {} : { password }) });
  let after = 0;
  let before = 0;
  let first = 0;
  for (let i = 0; i < CYCLES; i++) {
    if (i > 0) step();
    await sh.ship();
    const shipped = Buffer.byteLength(JSON.stringify(sh.last(id)));
    const full = Buffer.byteLength(JSON.stringify({ ...sh.last(id), mode: 'full', value: await sh.truth(id) }));
    if (i === 0) first = shipped;
    after += shipped;
    before += full;
  }
  // Times are floats: held + difference is within one rounding step of the server's value (docs/payload-v2.md).
  const text = (v: unknown) => JSON.stringify(byKey(v, key), (_k, x: unknown) => (typeof x === 'number' ? Number(x.toPrecision(12)) : x));
  const rebuilt = text(sh.consumer.held.get(id)?.value) === text(await sh.truth(id));
  console.log(
    `${name.padEnd(18)} first ${kib(first).padStart(10)}   later mean ${kib((after - first) / (CYCLES - 1)).padStart(9)}   ` +
      `per hour: before ${kib(before).padStart(10)}  after ${kib(after).padStart(9)} (${((100 * after) / before).toFixed(1)} %)   rebuilt: ${rebuilt ? 'ok' : 'MISMATCH'}`,
  );
  if (!rebuilt) process.exitCode = 1;
}

const cpu0 = process.cpuUsage();
console.log(`query statistics, ${CYCLES} cycles at 60 s, ${(BUSY * 100).toFixed(0)} % of the rows busy per cycle, one row restarted per cycle`);

// SQL Server: 500 plan-cache statements.
{
  const cache: Counted[] = Array.from({ length: 500 }, (_, n) => ({ n, counters: [100 + n, (100 + n) * 1500, (100 + n) * 900, (100 + n) * 40, n, 3 * n] }));
  const created = new Map<number, Date>();
  const rows = () =>
    cache.map((e) => ({
      source: 'plan_cache',
      database_name: 'app',
      query_id: null,
      plan_id: null,
      plan_handle: Buffer.from(`06000500${e.n.toString(16).padStart(8, '0')}${'ab'.repeat(56)}`, 'hex'),
      statement_start_offset: 0,
      statement_end_offset: -1,
      query_hash: `0x${e.n.toString(16).toUpperCase().padStart(16, '0')}`,
      query_plan_hash: `0x${(e.n * 7).toString(16).toUpperCase().padStart(16, '0')}`,
      stats_since: created.get(e.n) ?? new Date(T0 - 3_600_000),
      executions: e.counters[0],
      total_duration_ms: e.counters[1]! / 1000,
      total_cpu_ms: e.counters[2]! / 1000,
      logical_reads: e.counters[3],
      physical_reads: e.counters[4],
      returned_rows: e.counters[5],
      last_execution_time: new Date(T0),
      query_text: `SELECT o.id, o.total FROM dbo.orders o JOIN dbo.customers c ON c.id = o.customer_id WHERE o.status = @p${e.n}`,
      text_restricted: false,
    }));
  let clock = T0;
  const fake = () =>
    new FakeSqlServer({
      model: SQL2019,
      identity: { login: 'monitor', user: 'monitor', serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER STATE', 'VIEW ANY DEFINITION'], msdbLogShipping: true },
      queryStore: false,
      override: [{ match: /FROM sys\.dm_exec_query_stats/, answer: rows }],
    });
  await measure(
    'mssql plan cache',
    mssqlTarget(),
    () => createMssqlCollector(fake().connect),
    'mssql.query_stats',
    ['source', 'query_id', 'plan_id', 'plan_handle', 'statement_start_offset', 'statement_end_offset'],
    () => {
      clock += 60_000;
      work(cache, (r) => {
        r.counters = r.counters.map(() => 1);
        created.set(r.n, new Date(clock));
      });
    },
  );
}

// Oracle: 200 V$SQLSTATS cursors.
{
  const cursors: Counted[] = Array.from({ length: 200 }, (_, n) => ({
    n,
    counters: [1000 + n, (1000 + n) * 1234, (1000 + n) * 1000, (1000 + n) * 50, n, 2 * n],
  }));
  const source = () =>
    cursors.map((c) => ({
      CON_ID: 3,
      SQL_ID: `sql${c.n.toString(36).padStart(10, '0')}`,
      PLAN_HASH_VALUE: 1_000_000 + c.n,
      EXECUTIONS: c.counters[0],
      ELAPSED_TIME: c.counters[1],
      CPU_TIME: c.counters[2],
      BUFFER_GETS: c.counters[3],
      DISK_READS: c.counters[4],
      ROWS_PROCESSED: c.counters[5],
      LAST_ACTIVE_TIME: '2026-12-01 01:59:00',
      SQL_TEXT: `SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = :${c.n}`,
    }));
  const who = { ...leastPrivileged(), sources: { V$SQLSTATS: source() } };
  await measure(
    'oracle V$SQLSTATS',
    oracleTarget(who.user),
    () => createOracleCollector(new FakeOracleDriver(who)) as never,
    'oracle.sql_stats',
    ['con_id', 'sql_id', 'plan_hash_value'],
    () => {
      work(cursors, (r) => (r.counters = r.counters.map(() => 1)));
      who.sources.V$SQLSTATS = source();
    },
  );
}

// MongoDB: 500 namespaces in top, through the driver.
{
  const fake = await startFakeMongod({ deployment: { topology: 'standalone', top: [] } });
  try {
    const spaces: Counted[] = Array.from({ length: 500 }, (_, n) => ({ n, counters: [1_000_000 + n * 1000, 10_000 + n] }));
    const publish = () => (fake.dep.top = spaces.map((s) => ({ ns: `app${s.n % 7}.coll_${s.n}`, time: s.counters[0]!, count: s.counters[1]! })));
    publish();
    await measure(
      'mongodb top',
      mongoTarget(fake.port, MONGO_LEAST),
      () => mongodbCollector,
      'mongodb.top',
      ['ns'],
      () => {
        work(spaces, (r) => (r.counters = r.counters.map(() => 1)));
        publish();
      },
      MONGO_LEAST.password,
    );
  } finally {
    await fake.stop();
  }
}

const cpu = process.cpuUsage(cpu0);
console.log(
  `process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (bench + fakes + a full read beside each cycle); load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
