/**
 * PostgreSQL collection cycle on a big database: thousands of tables and
 * thousands of pg_stat_statements entries. Prints the agent's cycle time next to
 * the time the very same SQL takes when run raw by psql in the same run (ratio),
 * and the CLI's peak memory. Goal (issue #3): ratio ≤ 1.25, peak RSS ≤ 120 MB.
 * Also prints what the read-only guard (a parse of every statement) costs per
 * statement and per cycle (issue 18); it is inside the agent's cycle time.
 *
 *   npm run bench:postgres [-- --tables 3000 --statements 3000 --runs 7]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertReadOnlySql, loadPgGuard } from '../collectors/postgres/guard.js';
import { readStatements } from '../agent/audit/reader.js';
import { startPostgres } from '../test/harness/postgres.js';
import { agentOps, pgTarget, superClient } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: { tables: { type: 'string', default: '3000' }, statements: { type: 'string', default: '3000' }, runs: { type: 'string', default: '7' } },
});
const TABLES = Number(values.tables);
const STATEMENTS = Number(values.statements);
const RUNS = Number(values.runs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

const pg = await startPostgres();
try {
  process.stdout.write(`building ${TABLES} tables and ${STATEMENTS} statement entries… `);
  const t0 = performance.now();
  const su = await superClient(pg);
  await su.query("SET log_statement = 'none'");
  // In batches: one transaction creating thousands of relations would exhaust the lock table.
  for (let from = 1; from <= TABLES; from += 200) {
    const to = Math.min(TABLES, from + 199);
    await su.query(`DO $$ BEGIN FOR i IN ${from}..${to} LOOP
        EXECUTE format('CREATE TABLE bench_%s (id int PRIMARY KEY, name text, created timestamptz DEFAULT now())', i);
        EXECUTE format('CREATE INDEX bench_%s_name ON bench_%s (name)', i, i);
        EXECUTE format('INSERT INTO bench_%s (id, name) SELECT g, md5(g::text) FROM generate_series(1, 5) g', i);
      END LOOP; END $$`);
  }
  await su.query('ANALYZE');
  for (let i = 1; i <= STATEMENTS; i++) await su.query(`SELECT name FROM bench_${(i % TABLES) + 1} WHERE id = ${i % 5} AND name <> 'q${i}'`);
  await su.end();
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const user = pg.users.monitor;
  const target = pgTarget(pg, user.user);
  const { ops, ledger } = agentOps(user.password);

  // Warm-up cycle (also gives the exact statements of a cycle, from the audit ledger).
  const warm = await ops.collect(target);
  const tableRows = (warm.payload.signals.find((s) => s.id === 'postgres.tables') as { value?: unknown[] }).value?.length;
  const stmtRows = (warm.payload.signals.find((s) => s.id === 'postgres.query_stats') as { value?: unknown[] }).value?.length;
  const statements = readStatements(ledger.dir).map((e) => e.statement);
  const sqlFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'cycle.sql');
  writeFileSync(sqlFile, `${statements.map((s) => `${s};`).join('\n')}\n`);

  // The guard's own cost: every guarded statement of a cycle (not the session's BEGIN/ROLLBACK), parsed and checked.
  await loadPgGuard();
  const guarded = statements.filter((s) => /^(SELECT|WITH|SHOW)\b/.test(s));
  const GUARD_ROUNDS = 200;
  for (const s of guarded) assertReadOnlySql(s);
  const g0 = performance.now();
  for (let r = 0; r < GUARD_ROUNDS; r++) for (const s of guarded) assertReadOnlySql(s);
  const guardPerStatementUs = ((performance.now() - g0) * 1000) / (GUARD_ROUNDS * guarded.length);

  const agentTimes: number[] = [];
  let payloadBytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const { payload } = await ops.collect(target);
    payloadBytes = Buffer.byteLength(JSON.stringify(payload));
    agentTimes.push(performance.now() - t);
  }

  const psqlEnv = { ...process.env, PGPASSWORD: user.password, PGOPTIONS: '-c default_transaction_read_only=on' };
  const psqlArgs = [
    '-X',
    '-q',
    '-h',
    pg.host,
    '-p',
    String(pg.port),
    '-U',
    user.user,
    '-d',
    pg.database,
    '-v',
    'ON_ERROR_STOP=1',
    '-f',
    sqlFile,
    '-o',
    '/dev/null',
  ];
  const psqlTimes: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    execFileSync('psql', psqlArgs, { env: psqlEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    psqlTimes.push(performance.now() - t);
  }

  // The CLI end to end, under GNU time for its peak RSS.
  const targetFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'target.json');
  writeFileSync(targetFile, JSON.stringify({ ...target, password: { env: 'BENCH_PW' } }));
  const cli = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, 'dist/agent/cli/bin.js', 'collect', '--once', '--json', '--target', targetFile], {
    env: { ...process.env, BENCH_PW: user.password, LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'bench-home-')) },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (cli.status !== 0) throw new Error(`CLI failed: ${cli.stderr}`);
  const [rssKb, wallS] = cli.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];

  const agent = median(agentTimes);
  const raw = median(psqlTimes);
  console.log(
    `PostgreSQL ${warm.payload.signals.find((s) => s.id === 'postgres.server')?.status === 'ok' ? 'up' : '?'}; ${statements.length} statements per cycle; tables signal ${tableRows} rows; query_stats ${stmtRows} rows; payload ${(payloadBytes / 1024).toFixed(0)} KiB`,
  );
  console.log(`agent cycle (connect + all signals + payload build/validate), median of ${RUNS}: ${ms(agent)}`);
  console.log(`psql, same statements raw (process start + connect + run), median of ${RUNS}: ${ms(raw)}`);
  console.log(`ratio agent/psql: ${(agent / raw).toFixed(2)}  (goal ≤ 1.25)`);
  console.log(
    `read-only guard (parse-tree allowlist): ${guardPerStatementUs.toFixed(1)} µs per statement (mean of ${guarded.length} statements × ${GUARD_ROUNDS}), ${ms((guardPerStatementUs * guarded.length) / 1000)} per cycle (${((guardPerStatementUs * guarded.length) / 10 / agent).toFixed(2)}% of the cycle)`,
  );
  console.log(`CLI collect --once end to end: ${(wallS * 1000).toFixed(0)} ms wall, peak RSS ${(rssKb / 1024).toFixed(1)} MB  (goal ≤ 120 MB)`);
} finally {
  await pg.stop();
}
