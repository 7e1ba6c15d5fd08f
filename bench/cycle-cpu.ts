/**
 * The agent's CPU per PostgreSQL cycle, one cycle after another in one process,
 * with nothing else running in it: the same path a run loop takes for a target
 * (a pooled session, the families due at the tick, the payload spooled, the
 * target memory committed, every statement in the audit ledger). It is the A/B
 * gauge for work on the 1,000-target goal (bench/many-targets.ts): that bench
 * measures the whole agent, but its figure moves by a few percent with the
 * machine; here a change to the cycle shows as microseconds per cycle.
 *
 * The server holds `--sessions` idle client sessions besides the agent's (what a
 * target of the many-targets bench sees in pg_stat_activity: about 100). The
 * clock advances one 5 s tick per cycle at a 15 s interval, so the mix of cycles
 * is the run's: activity and locks every 10 s, server statistics every 15 s,
 * query statistics every 60 s, the slow families every 10 minutes.
 *
 *   npm run bench:cycle [-- --cycles 3000 --sessions 100 --rounds 3]
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { Spool } from '../agent/delivery/spool.js';
import { SessionPool } from '../agent/run/session-pool.js';
import { TargetMemoryStore } from '../agent/state/target-memory-store.js';
import { AuditLedger } from '../agent/audit/ledger.js';
import { TargetOperations } from '../agent/target-operations.js';
import { serializePayload } from '../collectors/core/payload.js';
import { startPostgres } from '../test/harness/postgres.js';
import { pgTarget, superClient } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '3000' },
    sessions: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const CYCLES = Number(values.cycles);
const SESSIONS = Number(values.sessions);
const ROUNDS = Number(values.rounds);
for (const [name, n] of [
  ['--cycles', CYCLES],
  ['--sessions', SESSIONS],
  ['--rounds', ROUNDS],
] as const) {
  if (!Number.isInteger(n) || n < (name === '--sessions' ? 0 : 1)) throw new RangeError(`${name} must be a whole number`);
}
const TICK_MS = 5_000;
const INTERVAL_S = 15;

const pgh = await startPostgres();
const idle: pg.Client[] = [];
try {
  const admin = await superClient(pgh);
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  // Room for the idle sessions, and no statement log (as in bench/many-targets.ts).
  await admin.query(`ALTER SYSTEM SET max_connections = ${SESSIONS + 50}`);
  await admin.query("ALTER SYSTEM SET log_statement = 'none'");
  await admin.end();
  await pgh.restart();
  for (let i = 0; i < SESSIONS; i++) {
    const c = await superClient(pgh);
    c.on('error', () => undefined); // the server's shutdown at the end
    idle.push(c);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lsa-cycle-cpu-'));
  const ledger = new AuditLedger(join(dir, 'audit'));
  const memory = new TargetMemoryStore(join(dir, 'target-state'));
  const ops = new TargetOperations(
    { id: 'bench-agent', version: '0.1.0', host: 'bench' },
    ledger,
    () => {
      throw new Error('no vault in this bench');
    },
    { PW: pgh.users.monitor.password },
    undefined,
    memory,
  );
  const spool = await Spool.open(join(dir, 'spool'), { maxBytes: 256 * 1024 * 1024 });
  const sessions = new SessionPool({});
  const target = pgTarget(pgh, pgh.users.monitor.user, { intervalSeconds: INTERVAL_S });
  let clock = Date.parse('2026-01-01T00:00:00Z');

  /** Runs `n` cycles back to back; returns the process CPU (µs) and wall time (ms) they took. */
  const run = async (n: number): Promise<{ cpuUs: number; wallMs: number; shipped: number; bytes: number }> => {
    let shipped = 0;
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const now = new Date(clock);
      const result = await ops.collect(target, { sessions: sessions.lease(), now, slotAt: now, intervalSeconds: INTERVAL_S });
      clock += TICK_MS;
      if (result.idle) continue;
      if (result.connectError !== undefined) throw new Error(`cycle failed: ${result.connectError.message}`);
      const body = serializePayload(result.payload);
      bytes += body.length;
      await spool.append(body);
      await result.commitMemory();
      shipped++;
    }
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: cpu.user + cpu.system, wallMs: performance.now() - t0, shipped, bytes };
  };

  console.log(
    `PostgreSQL ${pgh.major}, ${SESSIONS} idle client sessions besides the agent's; ${CYCLES} ticks of ${TICK_MS / 1000} s per round at a ${INTERVAL_S} s interval; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  await run(200); // warm-up: the first cycle reads every family, and V8 compiles the hot paths
  const perCycle: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { cpuUs, wallMs, shipped, bytes } = await run(CYCLES);
    perCycle.push(cpuUs / shipped);
    console.log(
      `round ${r + 1}: ${shipped} payloads, agent CPU ${(cpuUs / shipped).toFixed(0)} µs per payload (${(cpuUs / 1e6).toFixed(2)} s over ${(wallMs / 1000).toFixed(1)} s wall), ${(bytes / shipped / 1024).toFixed(1)} KiB per payload`,
    );
  }
  const sorted = [...perCycle].sort((a, b) => a - b);
  console.log(`agent CPU per payload: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} µs, min ${sorted[0]!.toFixed(0)} µs over ${ROUNDS} rounds`);
  await sessions.closeAll();
  await spool.close();
  await memory.close();
} finally {
  await Promise.all(idle.map((c) => c.end().catch(() => undefined)));
  await pgh.stop();
}
