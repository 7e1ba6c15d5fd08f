/**
 * Bytes shipped per target per hour for a PostgreSQL database with 3,000 tables
 * (2 indexes each) and 2,000 pg_stat_statements entries, collected every 10 s
 * for 95 s through the real cycle, spooled, then the target memory committed
 * (what the run loop does). Prints each payload's size, first vs later, and the
 * bytes per hour before (every cycle full, as before issue 24: measured with a
 * cycle that keeps no memory, beside each real one) and after.
 * Goal (issue 24): later payloads ≤ 10 % of the first; the 95 s total ≤ 3× the first.
 *
 *   npm run bench:bytes [-- --tables 3000 --statements 2000 --seconds 95 --every 10 --busy 40]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serializePayload } from '../collectors/core/payload.js';
import { TargetMemoryStore } from '../agent/state/target-memory-store.js';
import { TargetOperations } from '../agent/target-operations.js';
import { AuditLedger } from '../agent/audit/ledger.js';
import { startPostgres } from '../test/harness/postgres.js';
import { pgTarget, superClient } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    tables: { type: 'string', default: '3000' },
    statements: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '95' },
    every: { type: 'string', default: '10' },
    busy: { type: 'string', default: '40' },
  },
});
const TABLES = Number(values.tables);
const STATEMENTS = Number(values.statements);
const SECONDS = Number(values.seconds);
const EVERY = Number(values.every);
/** Distinct statements run again between two cycles (a database in use). */
const BUSY = Number(values.busy);
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const pg = await startPostgres();
try {
  process.stdout.write(`building ${TABLES} tables (2 indexes each) and ${STATEMENTS} statement entries… `);
  const t0 = performance.now();
  const su = await superClient(pg);
  await su.query("SET log_statement = 'none'");
  for (let from = 1; from <= TABLES; from += 200) {
    const to = Math.min(TABLES, from + 199);
    await su.query(`DO $$ BEGIN FOR i IN ${from}..${to} LOOP
        EXECUTE format('CREATE TABLE bench_%s (id int PRIMARY KEY, name text, created timestamptz DEFAULT now())', i);
        EXECUTE format('CREATE INDEX bench_%s_name ON bench_%s (name)', i, i);
        EXECUTE format('INSERT INTO bench_%s (id, name) SELECT g, md5(g::text) FROM generate_series(1, 5) g', i);
      END LOOP; END $$`);
  }
  await su.query('ANALYZE');
  await su.query('SELECT pg_stat_statements_reset()');
  // Distinct statement shapes (the table and the column list vary): one pg_stat_statements entry each.
  const stmt = (i: number): string =>
    `SELECT id${i % 2 === 0 ? ', name' : ''} FROM bench_${(i % TABLES) + 1} WHERE id = 1${i >= TABLES ? ' AND name IS NOT NULL' : ''}`;
  for (let i = 0; i < STATEMENTS; i++) await su.query(stmt(i));
  const [{ n }] = (await su.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements')).rows as [{ n: string }];
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s (${n} pg_stat_statements entries)`);

  const user = pg.users.monitor;
  const target = pgTarget(pg, user.user, { id: 'bench-3000', intervalSeconds: EVERY });
  const home = mkdtempSync(join(tmpdir(), 'bench-bytes-'));
  const spool = join(home, 'spool');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(spool);
  const agent = { id: 'bench-agent', version: '0.1.0', host: 'bench' };
  const noVault = () => {
    throw new Error('no vault in this bench');
  };
  const ops = new TargetOperations(
    agent,
    new AuditLedger(join(home, 'audit')),
    noVault,
    { PW: user.password },
    undefined,
    new TargetMemoryStore(join(home, 'state')),
  );
  // Today's behaviour: no memory, so every family is due and every value full.
  const before = new TargetOperations(agent, new AuditLedger(join(home, 'audit-before')), noVault, { PW: user.password });

  const cycles: { at: number; bytes: number; fullBytes: number; modes: string; ms: number; down: string }[] = [];
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0]!;
  const start = Date.now();
  let busyFrom = 0;
  for (let at = 0; at < SECONDS; at += EVERY) {
    await sleep(start + at * 1000 - Date.now());
    const c0 = performance.now();
    const r = await ops.collect(target, { now: new Date(start + at * 1000), intervalSeconds: EVERY });
    const bytes = serializePayload(r.payload);
    // Spooled (durable) first, then the memory moves: what the run loop does.
    writeFileSync(join(spool, `${r.payload.sequence}.json`), bytes, { flush: true });
    await r.commitMemory();
    const ms = performance.now() - c0;
    const full = serializePayload((await before.collect(target)).payload);
    const count = new Map<string, number>();
    for (const s of r.payload.signals) {
      const m = s.status === 'ok' ? (s.mode ?? 'full') : 'unavailable';
      count.set(m, (count.get(m) ?? 0) + 1);
    }
    cycles.push({
      at,
      bytes: Buffer.byteLength(bytes),
      fullBytes: Buffer.byteLength(full),
      modes: [...count].map(([m, k]) => `${k} ${m}`).join(', '),
      // Under load a statement can hit its timeout: say which, so a smaller payload is not mistaken for a saving.
      down: r.payload.signals.flatMap((sig) => (sig.status === 'unavailable' ? [`${sig.id}: ${sig.reason}`] : [])).join('; '),
      ms,
    });
    // The database stays in use between cycles: some statements run again.
    for (let i = 0; i < BUSY; i++) await su.query(stmt((busyFrom + i * 7) % STATEMENTS));
    busyFrom += 13;
  }
  const cpu = process.cpuUsage(cpu0);
  await su.end();

  const [first, ...later] = cycles;
  if (first === undefined) throw new Error('no cycle');
  console.log(
    `\nPostgreSQL ${pg.major}: ${TABLES} tables, ${n} statement entries; every ${EVERY} s for ${SECONDS} s (${cycles.length} cycles); ${BUSY} statements re-run between cycles`,
  );
  console.log('cycle  at(s)  shipped     vs first   full (before)  cycle ms  signals');
  for (const [i, c] of cycles.entries()) {
    console.log(
      `${String(i + 1).padStart(5)}  ${String(c.at).padStart(5)}  ${kib(c.bytes).padStart(10)}  ${`${((100 * c.bytes) / first.bytes).toFixed(1)} %`.padStart(8)}  ${kib(c.fullBytes).padStart(13)}  ${c.ms.toFixed(0).padStart(8)}  ${c.modes}${c.down === '' ? '' : ` (${c.down})`}`,
    );
  }
  const total = cycles.reduce((a, c) => a + c.bytes, 0);
  const totalBefore = cycles.reduce((a, c) => a + c.fullBytes, 0);
  const maxLater = Math.max(...later.map((c) => c.bytes));
  const meanLater = later.reduce((a, c) => a + c.bytes, 0) / Math.max(1, later.length);
  const meanFull = totalBefore / cycles.length;
  const perHour = 3600 / EVERY;
  // After, per hour: one full baseline (the periodic one, hourly by default) and later payloads for the rest.
  const afterHour = first.bytes + (perHour - 1) * meanLater;
  const beforeHour = perHour * meanFull;
  console.log(
    `\nfirst payload ${kib(first.bytes)}; later payloads: max ${kib(maxLater)} (${((100 * maxLater) / first.bytes).toFixed(1)} % of the first; goal ≤ 10 %), mean ${kib(meanLater)}`,
  );
  console.log(
    `${SECONDS} s total shipped: ${kib(total)} = ${(total / first.bytes).toFixed(2)}× the first (goal ≤ 3×); every cycle full (before): ${kib(totalBefore)}`,
  );
  console.log(
    `bytes per target per hour at ${EVERY} s: before ${mib(beforeHour)} (${perHour} full payloads), after ${mib(afterHour)} (1 full baseline + ${perHour - 1} later payloads at the measured mean) = ${((100 * afterHour) / beforeHour).toFixed(1)} %`,
  );
  console.log(
    `agent process CPU during the run (both cycles each tick + workload client): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; load average (1 min) ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end on ${(await import('node:os')).cpus().length} cores`,
  );
} finally {
  await pg.stop();
}
