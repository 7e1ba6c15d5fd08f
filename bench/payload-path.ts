/**
 * The payload path of one PostgreSQL cycle, without the database: policy applied, each
 * value turned into what ships (full, delta or unchanged: collectors/core/incremental.ts),
 * the payload validated (buildPayload), then serialised (serializePayload). It runs once
 * per target per cycle: about 70 times a second with 1,000 targets at a 15 s interval.
 *
 * Reads one real cycle from a private PostgreSQL (default: 100 tables with 2 indexes each,
 * 300 pg_stat_statements entries), keeps its raw outcomes, then repeats the path over them
 * and prints the process CPU time per cycle (user + system, garbage collection included;
 * `remember`: the shipped state staged in the target memory, Shipping.record),
 * for three cycles of a target:
 * - first: every family due, nothing shipped before (every value full);
 * - steady, all families: every family due, the last payload remembered (schema, roles,
 *   settings unchanged: digests; query statistics: deltas);
 * - steady, interval families: what a 15 s tick between slow-family periods reads.
 *
 *   npm run bench:payload [-- --tables 100 --statements 300 --rounds 300 --only interval]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { collectorFor } from '../collectors/index.js';
import { openSession } from '../collectors/cycle.js';
import { discardAudit } from '../collectors/core/audit.js';
import { buildPayload, serializePayload, type PayloadV1 } from '../collectors/core/payload.js';
import { DEFAULT_POLICY } from '../collectors/core/policy.js';
import { applyPolicy, type RedactionContext } from '../collectors/core/redact/apply.js';
import { runSignals, type SignalOutcome } from '../collectors/core/runner.js';
import { Shipping } from '../collectors/core/incremental.js';
import { StagedMemory, type JsonValue } from '../collectors/core/memory.js';
import { FAMILIES, FAMILY_SCHEDULE } from '../collectors/core/signal.js';
import { startPostgres } from '../test/harness/postgres.js';
import { pgTarget, superClient } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    tables: { type: 'string', default: '100' },
    statements: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '300' },
    // Only the scenarios whose name contains this (e.g. `interval`), for a CPU profile of one.
    only: { type: 'string', default: '' },
  },
});
const TABLES = Number(values.tables);
const STATEMENTS = Number(values.statements);
const ROUNDS = Number(values.rounds);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

console.log(`machine: load average ${load()} (1/5/15 min)`);
const pg = await startPostgres();
let outcomes: SignalOutcome[];
try {
  const su = await superClient(pg);
  await su.query("SET log_statement = 'none'");
  await su.query(`DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
      EXECUTE format('CREATE TABLE p_%s (id int PRIMARY KEY, name text)', i);
      EXECUTE format('CREATE INDEX p_%s_name ON p_%s (name)', i, i);
    END LOOP; END $$`);
  await su.query('ANALYZE');
  for (let i = 1; i <= STATEMENTS; i++) await su.query(`SELECT name FROM p_${(i % TABLES) + 1} WHERE id = ${i} AND name <> 'q${i}'`);
  await su.end();

  const user = pg.users.monitor;
  const target = pgTarget(pg, user.user);
  const collector = await collectorFor('postgres');
  const agent = { id: 'bench', version: '0.1.0', host: 'bench' };
  const session = await openSession(target, { collector, password: user.password, audit: discardAudit, agent });
  try {
    outcomes = await runSignals(collector.catalog, session, {
      timeoutMs: 10_000,
      mapError: (e) => collector.mapSignalError(e),
      policy: DEFAULT_POLICY,
    });
  } finally {
    await session.close();
  }
} finally {
  await pg.stop();
}

const redaction: RedactionContext = { policy: DEFAULT_POLICY, engine: 'postgres' };
const agent = { id: 'bench', version: '0.1.0', host: 'bench' };
const payloadTarget = { id: 'bench-target', engine: 'postgres' as const, name: 'bench' };
const T0 = Date.parse('2026-12-06T00:00:00Z');

/** One cycle's payload path; `memory` holds what was shipped before (undefined: nothing). */
function cycle(selected: readonly SignalOutcome[], memory: StagedMemory | undefined, nowMs: number): { payload: PayloadV1; bytes: string; shipping: Shipping } {
  const shipping = new Shipping(memory, { nowMs, fullEveryMs: 3_600_000 });
  shipping.collectedAt = new Date(nowMs).toISOString();
  const families = [...new Set(selected.map((o) => o.spec.family))];
  const payload = buildPayload(
    {
      agent,
      target: payloadTarget,
      collectedAt: new Date(nowMs),
      sequence: shipping.sequence,
      families: FAMILIES.filter((f) => families.includes(f)),
      incremental: (signal, spec) => shipping.transform(signal, spec),
    },
    selected,
    (spec, value) => applyPolicy(spec, value, redaction),
  );
  return { payload, bytes: serializePayload(payload), shipping };
}

/** What the target remembers after one shipped cycle of every family. */
function primed(): Record<string, JsonValue> {
  const memory = new StagedMemory();
  const { payload, shipping } = cycle(outcomes, memory, T0);
  shipping.record(
    payload,
    FAMILIES.filter((f) => payload.families?.includes(f)),
  );
  return memory.snapshot();
}

const ok = outcomes.filter((o) => o.result.status === 'ok');
const rows = (id: string): number => {
  const o = outcomes.find((x) => x.spec.id === id);
  return o?.result.status === 'ok' && Array.isArray(o.result.value) ? o.result.value.length : 0;
};
console.log(
  `one cycle read: ${outcomes.length} signals (${ok.length} ok); postgres.tables ${rows('postgres.tables')} rows, postgres.indexes ${rows('postgres.indexes')}, postgres.query_stats ${rows('postgres.query_stats')}`,
);

const state = primed();
const interval = outcomes.filter((o) => FAMILY_SCHEDULE[o.spec.family].period === 'interval');
const scenarios: { name: string; selected: readonly SignalOutcome[]; memory: () => StagedMemory | undefined }[] = [
  { name: 'first (every value full)', selected: outcomes, memory: () => undefined },
  { name: 'steady, all families', selected: outcomes, memory: () => new StagedMemory(state) },
  { name: 'steady, interval families', selected: interval, memory: () => new StagedMemory(state) },
];

console.log(`\n${ROUNDS} rounds per scenario; process CPU time (user + system, GC included) per cycle; load ${load()}`);
console.log('scenario                        payload bytes   build+validate   stringify   remember      total');
for (const s of scenarios.filter((x) => x.name.includes(values.only))) {
  // Warm-up: the optimising compiler has seen the path before it is timed.
  for (let i = 0; i < Math.min(50, ROUNDS); i++) cycle(s.selected, s.memory(), T0 + 15_000);
  const memories = Array.from({ length: ROUNDS }, () => s.memory());
  let build = 0;
  let stringify = 0;
  let record = 0;
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = cpuMs();
    const shipping = new Shipping(memories[i], { nowMs: T0 + 15_000, fullEveryMs: 3_600_000 });
    shipping.collectedAt = new Date(T0 + 15_000).toISOString();
    const families = [...new Set(s.selected.map((o) => o.spec.family))];
    const payload = buildPayload(
      {
        agent,
        target: payloadTarget,
        collectedAt: new Date(T0 + 15_000),
        sequence: shipping.sequence,
        families: FAMILIES.filter((f) => families.includes(f)),
        incremental: (signal, spec) => shipping.transform(signal, spec),
      },
      s.selected,
      (spec, value) => applyPolicy(spec, value, redaction),
    );
    const c1 = cpuMs();
    const text = serializePayload(payload);
    const c2 = cpuMs();
    shipping.record(payload, payload.families ?? []);
    const c3 = cpuMs();
    build += c1 - c0;
    stringify += c2 - c1;
    record += c3 - c2;
    bytes = Buffer.byteLength(text);
  }
  const per = (x: number): string => `${((x / ROUNDS) * 1000).toFixed(0).padStart(7)} µs`;
  console.log(
    `${s.name.padEnd(30)} ${String(bytes).padStart(14)}   ${per(build).padStart(14)}   ${per(stringify).padStart(9)}  ${per(record).padStart(9)}  ${per(build + stringify + record).padStart(9)}`,
  );
}
console.log(`load ${load()}`);
