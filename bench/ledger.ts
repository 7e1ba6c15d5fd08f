/**
 * The audit ledger over 30 days: 200 PostgreSQL targets collected every 60 s
 * (8.64 M cycles), written through the real writer (agent/audit/ledger.ts) with
 * a simulated clock. The statement mix is the real catalog's: three real cycles
 * against a private PostgreSQL give every statement's text and duration; the
 * simulation spreads those durations (log-normal) and injects failures
 * (statement timeouts, a connection lost mid-cycle). Prints the bytes on disk,
 * records per CPU second, whether all 30 days fit within the cap, and the bytes
 * per cycle of the earlier format (one JSON line per statement, full text)
 * against the compact one.
 *
 *   npm run bench:ledger [-- --days 30 --targets 200 --interval 60 --max-mb 100]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AgentAuditSink, AuditEntry } from '../collectors/core/audit.js';
import { auditCycle } from '../collectors/core/audit-cycle.js';
import { AuditLedger } from '../agent/audit/ledger.js';
import { LedgerReader } from '../agent/audit/reader.js';
import { TargetOperations } from '../agent/target-operations.js';
import { startPostgres } from '../test/harness/postgres.js';
import { pgTarget } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    targets: { type: 'string', default: '200' },
    interval: { type: 'string', default: '60' },
    'max-mb': { type: 'string', default: '100' },
  },
});
const DAYS = Number(values.days);
const TARGETS = Number(values.targets);
const INTERVAL_MS = Number(values.interval) * 1000;
const MAX_BYTES = Number(values['max-mb']) * 1024 * 1024;
const MB = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

// 1. The real statement mix: three cycles of the real PostgreSQL catalog.
process.stdout.write('real PostgreSQL cycles for the statement mix… ');
const captured: AuditEntry[][] = [[], [], []];
let current = 0;
const recorder: AgentAuditSink = { record: (e) => captured[current]!.push(e), recordPolicyChange() {} };
const pg = await startPostgres();
try {
  const ops = new TargetOperations(
    { id: 'bench', version: '0.1.0', host: 'bench' },
    recorder,
    () => {
      throw new Error('no vault');
    },
    { PW: pg.users.monitor.password },
  );
  const target = pgTarget(pg, pg.users.monitor.user);
  for (current = 0; current < 3; current++) await ops.collect(target);
} finally {
  await pg.stop();
}
const mix = captured[2]!;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = mix.map((e, i) => median(captured.map((c) => c[i]?.durationMs ?? e.durationMs)));
const beforePerCycle = mix.reduce((a, e) => a + Buffer.byteLength(`${JSON.stringify(e)}\n`), 0);
console.log(
  `${mix.length} statements per cycle, ${new Set(mix.map((e) => e.statement)).size} distinct texts, median total ${base.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
);

// 2. 30 days through the real writer, simulated time.
let seed = 24;
const rand = (): number => {
  // xorshift32: the same run every time.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const dir = join(mkdtempSync(join(tmpdir(), 'bench-ledger-')), 'audit');
const start = Date.parse('2026-11-01T00:00:00Z');
let now = start;
const ledger = new AuditLedger(dir, { maxBytes: MAX_BYTES, retentionDays: DAYS, now: () => now });
const targetIds = Array.from({ length: TARGETS }, (_, i) => `pg-${String(i + 1).padStart(4, '0')}`);
const ticks = Math.round((DAYS * 86_400_000) / INTERVAL_MS);
const segmentBytes = (): number => readdirSync(dir).reduce((a, n) => (n.endsWith('.jsonl.gz') ? a + statSync(join(dir, n)).size : a), 0);
let cycles = 0;
let records = 0;
let timeouts = 0;
let lost = 0;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
console.log(`simulating ${DAYS} days: ${TARGETS} targets every ${INTERVAL_MS / 1000} s = ${((ticks * TARGETS) / 1e6).toFixed(2)} M cycles…`);
for (let tick = 0; tick < ticks; tick++) {
  for (let t = 0; t < TARGETS; t++) {
    // Targets spread over the interval, each a few ms late.
    let at = start + tick * INTERVAL_MS + Math.floor((t * INTERVAL_MS) / TARGETS) + Math.floor(rand() * 40);
    now = at;
    // 1 cycle in 5,000 loses its connection part-way; 1 statement in 20,000 hits the statement timeout.
    const cutAt = rand() < 0.0002 ? 1 + Math.floor(rand() * (mix.length - 1)) : -1;
    void auditCycle(() => {
      for (let i = 0; i < mix.length; i++) {
        const e = mix[i]!;
        let ms = Math.round(base[i]! * Math.exp(0.35 * gauss()) * 1000) / 1000;
        let outcome: AuditEntry['outcome'] = e.outcome;
        let code = e.code;
        if (i === cutAt) {
          outcome = 'error';
          code = '08006';
          ms = Math.round(rand() * 5000);
        } else if (e.outcome === 'ok' && rand() < 0.00005) {
          outcome = 'error';
          code = '57014';
          ms = 5000 + Math.round(rand() * 10);
          timeouts++;
        }
        at += ms;
        ledger.record({
          time: new Date(at).toISOString(),
          targetId: targetIds[t]!,
          engine: 'postgres',
          statement: e.statement,
          durationMs: ms,
          outcome,
          ...(code === undefined ? {} : { code }),
        });
        records++;
        if (i === cutAt) {
          lost++;
          break;
        }
      }
      return Promise.resolve();
    });
    cycles++;
  }
  if (tick % Math.round(86_400_000 / INTERVAL_MS) === 0 && tick > 0) {
    const c = process.cpuUsage(cpu0);
    const day = (tick * INTERVAL_MS) / 86_400_000;
    const seg = segmentBytes();
    console.log(
      `  day ${day.toFixed(0)}: ${MB(ledger.bytesOnDisk())} on disk (segments ${MB(seg)}, ${(seg / cycles).toFixed(2)} B/cycle), ${((records / (c.user + c.system)) * 1e6).toFixed(0)} records per CPU second, ${((c.user + c.system) / 1e6).toFixed(0)} s CPU`,
    );
  }
}
ledger.close();
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const wallS = (performance.now() - wall0) / 1000;
const onDisk = readdirSync(dir).reduce((a, n) => a + statSync(join(dir, n)).size, 0);

// 3. What is kept: the oldest cycle still there, and one cycle of day 1 rebuilt from the ledger.
const segs = readdirSync(dir).filter((n) => n.endsWith('.jsonl.gz'));
const reader = new LedgerReader(dir);
const day1 = reader.cycles({ target: targetIds[17]!, since: start + 3_600_000, until: start + 3_600_000 + INTERVAL_MS });
const [first] = [...day1];
const rebuilt = first !== undefined && first.statements.length === mix.length && first.statements.every((s, i) => s.text === mix[i]!.statement);
const oldest = Math.min(...segs.map((n) => Number(/^audit-(\d+)-/.exec(n)![1])));

console.log('');
console.log(
  `cycles written:          ${cycles.toLocaleString('en')} (${records.toLocaleString('en')} statement records; ${timeouts} statement timeouts, ${lost} cycles cut by a lost connection)`,
);
console.log(
  `CPU:                     ${cpuS.toFixed(1)} s (wall ${wallS.toFixed(1)} s): ${Math.round(records / cpuS).toLocaleString('en')} records/s, ${Math.round(cycles / cpuS).toLocaleString('en')} cycles/s`,
);
console.log(`bytes on disk:           ${MB(onDisk)} in ${readdirSync(dir).length} files (${segs.length} gzip segments), cap ${MB(MAX_BYTES)}`);
console.log(`oldest cycle kept:       ${new Date(oldest).toISOString()} (${((now - oldest) / 86_400_000).toFixed(2)} days of history)`);
console.log(
  `all ${DAYS} days kept:        ${oldest <= start + INTERVAL_MS && onDisk <= MAX_BYTES ? 'yes' : 'NO'} (within ${MB(MAX_BYTES)}: ${onDisk <= MAX_BYTES ? 'yes' : 'NO'})`,
);
console.log(
  `day-1 cycle rebuilt:     ${rebuilt ? 'yes, every statement text exact' : 'NO'}${reader.problems.length > 0 ? ` (${reader.problems.length} problems)` : ''}`,
);
console.log(
  `segments alone:          ${MB(segmentBytes())}: ${(segmentBytes() / cycles).toFixed(2)} bytes per cycle (plus the live file, at most ${MB(Math.min(16 * 1024 * 1024, MAX_BYTES / 8))}, and the statement texts)`,
);
if (DAYS < 30) {
  const perCycle = segmentBytes() / cycles;
  const month = (30 * 86_400_000 * TARGETS) / INTERVAL_MS;
  const statementsBytes = statSync(join(dir, 'statements.jsonl')).size;
  console.log(
    `projected 30 days:       ${MB(perCycle * month + Math.min(16 * 1024 * 1024, MAX_BYTES / 8) + statementsBytes)} (segments at ${perCycle.toFixed(2)} B/cycle × ${(month / 1e6).toFixed(2)} M cycles + a full live file + statement texts; a projection, not a 30-day run)`,
  );
}
console.log(`bytes per cycle before:  ${beforePerCycle.toLocaleString('en')} (one JSON line per statement with its full text)`);
console.log(`bytes per cycle after:   ${(onDisk / cycles).toFixed(2)} (everything on disk / cycles)`);
console.log(
  `history in 100 MB before: ${(MAX_BYTES / (beforePerCycle * TARGETS * (60_000 / INTERVAL_MS)) / 60).toFixed(1)} hours at ${TARGETS} targets every ${INTERVAL_MS / 1000} s`,
);
rmSync(join(dir, '..'), { recursive: true, force: true });
