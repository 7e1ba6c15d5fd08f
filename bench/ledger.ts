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
 *   npm run bench:ledger [-- --days 31 --retention-days 30 --targets 200 --interval 60 --max-mb 100 --append-cycles 20000 --append-only]
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
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
    days: { type: 'string', default: '31' },
    targets: { type: 'string', default: '200' },
    interval: { type: 'string', default: '60' },
    'max-mb': { type: 'string', default: '100' },
    'retention-days': { type: 'string', default: '30' },
    'append-cycles': { type: 'string', default: '20000' },
    'append-only': { type: 'boolean', default: false },
  },
});
const DAYS = Number(values.days);
const TARGETS = Number(values.targets);
const INTERVAL_MS = Number(values.interval) * 1000;
const MAX_BYTES = Number(values['max-mb']) * 1024 * 1024;
const RETENTION_DAYS = Number(values['retention-days']);
const APPEND_CYCLES = Number(values['append-cycles']);
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

let seed = 24;
const rand = (): number => {
  // xorshift32: the same run every time.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;

// 2. The append path alone: what the ledger costs per cycle, the part every cycle of a 1,000-target run pays.
// Entries are made in batches outside the timed part (only `record` is timed), through a real file with the
// default live-file size, so rotations (compaction, gzip, retention) are paid in their share. Measured as the
// agent runs it (one write per statement) and as the long run below runs it (deferWrites: lines written together).
function appendPath(deferWrites: boolean): { perCycle: number; cycles: number; sample: string } {
  const adir = join(mkdtempSync(join(tmpdir(), 'bench-ledger-append-')), 'audit');
  const l = new AuditLedger(adir, { deferWrites });
  const BATCH = 250;
  let at = Date.parse('2026-11-01T00:00:00Z');
  let timed = 0;
  let n = 0;
  for (let done = 0; done < APPEND_CYCLES; done += BATCH) {
    const batch: AuditEntry[][] = [];
    for (let k = 0; k < BATCH; k++) {
      const target = `pg-${String(((done + k) % 1000) + 1).padStart(4, '0')}`;
      batch.push(
        mix.map((e, i) => {
          const ms = Math.round(base[i]! * Math.exp(0.35 * gauss()) * 1000) / 1000;
          at += ms;
          return { ...e, time: new Date(at).toISOString(), targetId: target, durationMs: ms };
        }),
      );
    }
    const c0 = process.cpuUsage();
    for (const entries of batch) {
      void auditCycle(() => {
        for (const e of entries) l.record(e);
        return Promise.resolve();
      });
    }
    timed += cpuUs(process.cpuUsage(c0));
    n += batch.length;
  }
  l.close();
  const sample = readFileSync(join(adir, 'audit.jsonl'), 'utf8').split('\n')[0]!;
  rmSync(join(adir, '..'), { recursive: true, force: true });
  return { perCycle: timed / n, cycles: n, sample };
}
{
  const agent = appendPath(false);
  const deferred = appendPath(true);
  // The floor: one write(2) of a line of the same length, no ledger.
  const fdir = mkdtempSync(join(tmpdir(), 'bench-ledger-floor-'));
  const fd = openSync(join(fdir, 'floor.jsonl'), 'a');
  const W = 100_000;
  const w0 = process.cpuUsage();
  for (let i = 0; i < W; i++) writeSync(fd, `${agent.sample}\n`);
  const floor = cpuUs(process.cpuUsage(w0)) / W;
  closeSync(fd);
  rmSync(fdir, { recursive: true, force: true });
  console.log(
    `append path (agent):     ${agent.perCycle.toFixed(1)} µs CPU per cycle record (${agent.cycles.toLocaleString('en')} cycles of ${mix.length} statements, ${(agent.perCycle / mix.length).toFixed(2)} µs per statement, one write each, rotations included); one bare write(2) of a live line: ${floor.toFixed(2)} µs`,
  );
  console.log(
    `append path (deferred):  ${deferred.perCycle.toFixed(1)} µs CPU per cycle record (lines written 64 KB at a time, as the simulation below writes them; not the agent's setting)`,
  );
}
if (values['append-only']) process.exit(0);

// 3. The days through the real writer, simulated time: real files, real rotation, compaction, retention and cap.
const dir = join(mkdtempSync(join(tmpdir(), 'bench-ledger-')), 'audit');
const start = Date.parse('2026-11-01T00:00:00Z');
let now = start;
// Lines written 64 KB at a time (deferWrites): the same bytes, files, rotations and retention as one write per
// statement, in a third of the CPU (the agent's own cost per cycle is the append-path figure above).
const ledger = new AuditLedger(dir, { maxBytes: MAX_BYTES, retentionDays: RETENTION_DAYS, now: () => now, deferWrites: true });
const targetIds = Array.from({ length: TARGETS }, (_, i) => `pg-${String(i + 1).padStart(4, '0')}`);
const ticks = Math.round((DAYS * 86_400_000) / INTERVAL_MS);
const ticksPerHour = Math.max(1, Math.round(3_600_000 / INTERVAL_MS));
const ticksPerDay = Math.round(86_400_000 / INTERVAL_MS);
const files = (): string[] => readdirSync(dir);
const segmentNames = (): string[] => files().filter((n) => n.endsWith('.jsonl.gz'));
const segmentBytes = (): number => segmentNames().reduce((a, n) => a + statSync(join(dir, n)).size, 0);
const filesBytes = (): number => files().reduce((a, n) => a + statSync(join(dir, n)).size, 0);
const oldestKept = (): number => Math.min(...segmentNames().map((n) => Number(/^audit-(\d+)-/.exec(n)![1])), now);
let cycles = 0;
let records = 0;
let timeouts = 0;
let lost = 0;
/** The most the ledger held on disk, checked every simulated hour (the files themselves, not the writer's count). */
let maxOnDisk = 0;
const milestones: Array<{ day: number; bytes: number; segments: number; oldestDays: number; cycles: number }> = [];
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
console.log(
  `simulating ${DAYS} days (retention ${RETENTION_DAYS} days, cap ${MB(MAX_BYTES)}): ${TARGETS} targets every ${INTERVAL_MS / 1000} s = ${((ticks * TARGETS) / 1e6).toFixed(2)} M cycles…`,
);
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
  if ((tick + 1) % ticksPerHour === 0) {
    // What is on disk now, lines still gathered included.
    ledger.flush();
    maxOnDisk = Math.max(maxOnDisk, filesBytes());
  }
  if ((tick + 1) % ticksPerDay === 0) {
    const c = process.cpuUsage(cpu0);
    const day = Math.round(((tick + 1) * INTERVAL_MS) / 86_400_000);
    const bytes = filesBytes();
    const segs = segmentNames().length;
    const oldestDays = (now - oldestKept()) / 86_400_000;
    milestones.push({ day, bytes, segments: segs, oldestDays, cycles });
    console.log(
      `  day ${String(day).padStart(2)}: ${MB(bytes)} on disk (${segs} segments, ${MB(segmentBytes())}), history kept ${oldestDays.toFixed(2)} days, ${((c.user + c.system) / 1e6).toFixed(0)} s CPU, ${((records / (c.user + c.system)) * 1e6).toFixed(0)} records per CPU second`,
    );
  }
}
ledger.close();
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const wallS = (performance.now() - wall0) / 1000;
const onDisk = filesBytes();
maxOnDisk = Math.max(maxOnDisk, onDisk);

// 4. What is kept: the oldest cycle still there; a cycle from the first day still kept rebuilt from the ledger; one past the retention gone.
const segs = segmentNames();
const reader = new LedgerReader(dir);
const oldest = oldestKept();
const horizon = now - RETENTION_DAYS * 86_400_000;
// A cycle two hours inside the retention horizon (or into the run, when the run is shorter than the retention).
const probeAt = start + Math.ceil((Math.max(start, horizon) + 7_200_000 - start) / INTERVAL_MS) * INTERVAL_MS;
const kept = [...reader.cycles({ target: targetIds[17]!, since: probeAt, until: probeAt + INTERVAL_MS })][0];
const rebuilt = kept !== undefined && kept.statements.length === mix.length && kept.statements.every((s, i) => s.text === mix[i]!.statement);
const expired = DAYS > RETENTION_DAYS ? [...reader.cycles({ until: horizon - 3_600_000 })].length : undefined;

console.log('');
console.log(
  `cycles written:          ${cycles.toLocaleString('en')} (${records.toLocaleString('en')} statement records; ${timeouts} statement timeouts, ${lost} cycles cut by a lost connection)`,
);
console.log(
  `CPU:                     ${cpuS.toFixed(1)} s (wall ${wallS.toFixed(1)} s): ${Math.round(records / cpuS).toLocaleString('en')} records/s, ${Math.round(cycles / cpuS).toLocaleString('en')} cycles/s`,
);
console.log('on disk (the files, measured):');
for (const d of [...new Set([1, 7, 30, RETENTION_DAYS + 1, DAYS])].sort((a, b) => a - b)) {
  const m = milestones.find((x) => x.day === d);
  if (m === undefined) continue;
  console.log(
    `  day ${String(d).padStart(2)}: ${MB(m.bytes)} (${m.segments} segments), history kept ${m.oldestDays.toFixed(2)} days${d > RETENTION_DAYS ? ' (past the retention: the oldest segments are gone)' : ''}`,
  );
}
console.log(`  largest seen (hourly):  ${MB(maxOnDisk)}; cap ${MB(MAX_BYTES)}: ${maxOnDisk <= MAX_BYTES ? 'never exceeded' : 'EXCEEDED'}`);
console.log(`bytes on disk at the end: ${MB(onDisk)} in ${files().length} files (${segs.length} gzip segments)`);
console.log(
  `oldest cycle kept:       ${new Date(oldest).toISOString()} (${((now - oldest) / 86_400_000).toFixed(2)} days of history; retention ${RETENTION_DAYS} days)`,
);
console.log(
  `every day within the retention kept: ${oldest <= Math.max(start, horizon) + INTERVAL_MS && maxOnDisk <= MAX_BYTES ? 'yes' : 'NO'}${expired === undefined ? '' : `; cycles more than an hour past the retention still there: ${expired}`}`,
);
console.log(
  `cycle at ${new Date(probeAt).toISOString()} rebuilt: ${rebuilt ? 'yes, every statement text exact' : 'NO'}${reader.problems.length > 0 ? ` (${reader.problems.length} problems)` : ''}`,
);
console.log(`segments alone:          ${MB(segmentBytes())}: ${(segmentBytes() / (milestones.at(-1)?.cycles ?? cycles)).toFixed(2)} bytes per cycle written`);
console.log(`bytes per cycle before:  ${beforePerCycle.toLocaleString('en')} (one JSON line per statement with its full text)`);
console.log(`bytes per cycle after:   ${(onDisk / cycles).toFixed(2)} (everything on disk / cycles)`);
console.log(
  `history in 100 MB before: ${(MAX_BYTES / (beforePerCycle * TARGETS * (60_000 / INTERVAL_MS)) / 60).toFixed(1)} hours at ${TARGETS} targets every ${INTERVAL_MS / 1000} s`,
);
rmSync(join(dir, '..'), { recursive: true, force: true });
