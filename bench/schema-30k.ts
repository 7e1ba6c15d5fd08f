/**
 * PostgreSQL schema signals on a database with many tables (issue 24): 30,000 tables with
 * 2 indexes each by default, built once and cached (bench/schema-db.ts). Runs the real cycle
 * in-process and prints, per signal, its duration, its row count and how many statements it
 * sent; the server's own time for the agent's statements (pg_stat_statements total_exec_time);
 * the payload size; then the CLI's `collect --once` end to end under GNU time (peak RSS, CPU
 * time). Ends with the signals that were unavailable (the goal: none).
 *
 *   npm run bench:schema [-- --tables 30000 --statement-timeout 5000 --runs 1]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serializePayload } from '../collectors/core/payload.js';
import { readStatements } from '../agent/audit/reader.js';
import { agentOps, pgTarget, superClient } from '../test/helpers/pg.js';
import { schemaDatabase } from './schema-db.js';

const { values } = parseArgs({
  options: {
    tables: { type: 'string', default: '30000' },
    'statement-timeout': { type: 'string', default: '5000' },
    runs: { type: 'string', default: '1' },
  },
});
const TABLES = Number(values.tables);
const STATEMENT_TIMEOUT = Number(values['statement-timeout']);
const RUNS = Number(values.runs);
const SCHEMA_SIGNALS = ['postgres.schemas', 'postgres.tables', 'postgres.indexes', 'postgres.functions'];
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

console.log(`machine: load average ${load()} (1/5/15 min)`);
process.stdout.write(`database with ${TABLES} tables × 2 indexes… `);
const t0 = performance.now();
const db = await schemaDatabase(TABLES, (s) => process.stdout.write(`\n${s}`));
console.log(`${db.built ? 'built' : 'cached'}, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const { info } = db;
try {
  const su = await superClient(info);
  // The server stops in `finally` below, whatever failed: its goodbye must not hide the failure.
  su.on('error', () => {});
  const [{ n }] = (await su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))
    .rows as [{ n: number }];
  console.log(`public tables: ${n}`);

  const user = info.users.monitor;
  const target = pgTarget(info, user.user, { statementTimeoutMs: STATEMENT_TIMEOUT });
  for (let run = 1; run <= RUNS; run++) {
    const { ops, ledger } = agentOps(user.password);
    await su.query('SELECT pg_stat_statements_reset()');
    // Each signal's duration: the time between two progress reports of the cycle.
    const durations = new Map<string, number>();
    let last = performance.now();
    const started = last;
    const cpu0 = process.cpuUsage();
    const result = await ops.collect(target, {
      onProgress: (_done, _total, id) => {
        const now = performance.now();
        durations.set(id, now - last);
        last = now;
      },
    });
    const cpu = process.cpuUsage(cpu0);
    const cycleMs = performance.now() - started;
    const bytes = Buffer.byteLength(serializePayload(result.payload));
    // The compact ledger keeps the duration of slow statements only (fast ones: under fasterThanMs).
    const audit = readStatements(ledger.dir).map((e) => ({ ...e, durationMs: e.durationMs ?? 0 }));
    // The server's own time for what the agent sent (the monitor role's statements since the reset).
    const server = (
      await su.query<{ query: string; calls: number; ms: number; rows: number }>(
        `SELECT query, calls::int, total_exec_time::float8 AS ms, rows::float8 AS rows FROM pg_stat_statements
          WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [user.user],
      )
    ).rows;
    const serverTotal = server.reduce((a, r) => a + r.ms, 0);
    const schemaServer = server.filter(
      (r) => /pg_class|pg_namespace|pg_proc|pg_index/.test(r.query) && !/pg_attribute|pg_stat_user_tables|pg_stat_all/.test(r.query),
    );

    console.log(`\nrun ${run}/${RUNS}: cycle ${(cycleMs / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s agent CPU; load ${load()}`);
    console.log('signal                          ms      rows  status');
    for (const s of result.payload.signals) {
      const rows = s.status === 'ok' ? (Array.isArray(s.value) ? s.value.length : 1) : '-';
      const mark = SCHEMA_SIGNALS.includes(s.id) ? '*' : ' ';
      console.log(
        `${mark}${s.id.padEnd(30)} ${(durations.get(s.id) ?? 0).toFixed(0).padStart(6)} ${String(rows).padStart(9)}  ${s.status === 'ok' ? 'ok' : `${s.reason}: ${s.detail}`}`,
      );
    }
    const longest = audit.reduce((a, e) => (e.durationMs > a.durationMs ? e : a), audit[0]!);
    console.log(
      `statements: ${audit.length} sent (${audit.filter((e) => e.outcome !== 'ok').length} not ok); the longest took ${longest.durationMs.toFixed(0)} ms (statement_timeout ${STATEMENT_TIMEOUT} ms): ${longest.statement.slice(0, 90)}…`,
    );
    const pages = audit.filter((e) => /LIMIT \$2/.test(e.statement));
    const longestPage = pages.reduce((a, e) => Math.max(a, e.durationMs), 0);
    console.log(`schema pages: ${pages.length} statements, the longest ${longestPage.toFixed(0)} ms (agent-side, round trip included)`);
    console.log(
      `server's own time (pg_stat_statements total_exec_time): all agent statements ${serverTotal.toFixed(0)} ms; schema statements ${schemaServer.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms in ${schemaServer.reduce((a, r) => a + r.calls, 0)} calls`,
    );
    for (const r of schemaServer.sort((a, b) => b.ms - a.ms))
      console.log(
        `  ${r.ms.toFixed(0).padStart(6)} ms ${String(r.calls).padStart(4)} calls ${String(r.rows).padStart(7)} rows  ${r.query.replace(/\s+/g, ' ').slice(0, 80)}…`,
      );
    console.log(`payload: ${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes)`);
    const missing = result.payload.signals.filter((s) => s.status !== 'ok' && SCHEMA_SIGNALS.includes(s.id));
    console.log(`schema signals unavailable: ${missing.length === 0 ? 'none' : missing.map((s) => s.id).join(', ')}`);
  }
  await su.end();

  // The CLI end to end, under GNU time for its peak RSS and CPU time. Its stdout (the payload) goes to a file.
  const dir = mkdtempSync(join(tmpdir(), 'bench-schema-'));
  const targetFile = join(dir, 'target.json');
  writeFileSync(targetFile, JSON.stringify({ ...target, password: { env: 'BENCH_PW' } }));
  const outFile = join(dir, 'payload.json');
  const out = openSync(outFile, 'w');
  const cli = spawnSync(
    '/usr/bin/time',
    ['-f', '%M %e %U %S', process.execPath, 'dist/agent/cli/bin.js', 'collect', '--once', '--json', '--target', targetFile],
    {
      env: { ...process.env, BENCH_PW: user.password, LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'bench-home-')) },
      stdio: ['ignore', out, 'pipe'],
      encoding: 'utf8',
    },
  );
  closeSync(out);
  if (cli.status !== 0) throw new Error(`CLI failed: ${cli.stderr}`);
  const [rssKb, wallS, userS, sysS] = cli.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number, number];
  const cliPayload = JSON.parse(readFileSync(outFile, 'utf8')) as { signals: { id: string; status: string }[] };
  const cliMissing = cliPayload.signals.filter((s) => s.status !== 'ok' && SCHEMA_SIGNALS.includes(s.id)).map((s) => s.id);
  console.log(
    `\nCLI collect --once --json: ${wallS.toFixed(2)} s wall, ${(userS + sysS).toFixed(2)} s CPU, peak RSS ${(rssKb / 1024).toFixed(1)} MB (goal ≤ 150 MB); payload ${(statSync(outFile).size / 1024 / 1024).toFixed(2)} MiB; schema signals unavailable: ${cliMissing.length === 0 ? 'none' : cliMissing.join(', ')}; load ${load()}`,
  );
} finally {
  await db.stop();
}
