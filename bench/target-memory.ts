/**
 * The target memory's cost per cycle (agent/state/target-memory-store.ts): load,
 * the cycle's reads and writes of its state, commit, for N targets in turn, as the
 * run loop does. The state is shaped like a PostgreSQL target's at 1,000 targets:
 * a shipped-state head (sequence, family times, one entry per signal) and a
 * query-statistics baseline of 18 rows of about 1.2 KB under its own key. The
 * baseline is read and replaced on one cycle in four (query statistics every 60 s
 * at a 15 s interval); every cycle replaces the head. Prints CPU and wall time per
 * load + commit, and the slot file's size.
 *
 *   npx tsx bench/target-memory.ts [--targets 200 --rounds 20]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TargetMemoryStore } from '../agent/state/target-memory-store.js';
import type { JsonValue } from '../collectors/core/memory.js';

const { values } = parseArgs({ options: { targets: { type: 'string', default: '200' }, rounds: { type: 'string', default: '20' } } });
const TARGETS = Number(values.targets);
const ROUNDS = Number(values.rounds);
const HEAD = 'payload.shipped';
const ROWS = 'payload.shipped.rows/postgres.query_stats';

const deepFreeze = <T>(v: T): T => {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
};

function baseline(round: number): Record<string, JsonValue> {
  const rows: Record<string, JsonValue> = {};
  for (let q = 0; q < 18; q++) {
    const row: Record<string, JsonValue> = {
      queryid: String(1e15 + q),
      userid: 16384,
      dbid: 5,
      toplevel: true,
      query:
        `SELECT c.oid, c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = ANY ($1) AND n.nspname <> $2 /* ${q} */`.padEnd(
          300,
          ' ',
        ),
    };
    for (let c = 0; c < 30; c++) row[`counter_${c}`] = round * 17.25 + q * 3 + c;
    rows[JSON.stringify([String(1e15 + q)])] = row;
  }
  return rows;
}

function head(sequence: number): JsonValue {
  const signals: Record<string, JsonValue> = {};
  for (const id of ['database_sizes', 'vacuum', 'query_stats', 'schemas', 'tables', 'indexes', 'functions', 'roles', 'security', 'settings'])
    signals[`postgres.${id}`] = {
      sequence,
      collectedAt: new Date(1_796_000_000_000 + sequence).toISOString(),
      digest: `sha256:${'ab'.repeat(32)}`,
      fullAtMs: 1_796_000_000_000,
      ...(id === 'query_stats' ? { rowsApart: true, epoch: `sha256:${'cd'.repeat(32)}` } : {}),
    };
  return { sequence, families: { server_stats: 1, activity: 2, query_stats: 3, schema: 4 }, signals };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-target-memory-'));
try {
  const store = new TargetMemoryStore(dir);
  for (let t = 0; t < TARGETS; t++) {
    const m = await store.load(`t${t}`);
    m.set(HEAD, deepFreeze(head(1)));
    m.set(ROWS, deepFreeze(baseline(0)));
    await store.commit(`t${t}`, m);
  }
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let r = 1; r <= ROUNDS; r++)
    for (let t = 0; t < TARGETS; t++) {
      const m = await store.load(`t${t}`);
      const h = m.view(HEAD) as { sequence: number };
      if (r % 4 === 0) {
        m.view(ROWS);
        m.set(ROWS, deepFreeze(baseline(r)));
      }
      m.set(HEAD, deepFreeze(head(h.sequence + 1)));
      await store.commit(`t${t}`, m);
    }
  const cpu = process.cpuUsage(cpu0);
  const n = TARGETS * ROUNDS;
  await store.close();
  const size = statSync(store.slotFile('t0', 0)).size;
  console.log(`target memory: ${TARGETS} targets × ${ROUNDS} cycles, slot ${(size / 1024).toFixed(1)} KB, baseline replaced on 1 cycle in 4`);
  console.log(
    `  per load + commit: ${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU (user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)}), ${(((performance.now() - wall0) * 1000) / n).toFixed(0)} µs wall`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
