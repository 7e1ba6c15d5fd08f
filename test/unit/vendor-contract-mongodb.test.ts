import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongodbCatalog } from '../../collectors/mongodb/catalog.js';
import { GRANTS } from '../../collectors/mongodb/grants.js';
import { MongoSession } from '../../collectors/mongodb/session.js';
import { type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { ROOT } from '../fixtures/mongodb/identities.js';
import { MONGO_COMMANDS, MONGO_VERSIONS, type MongoVersion } from '../fixtures/vendor-schemas/mongodb.js';
import { mongoTarget } from '../helpers/mongo.js';
import { commandKey, recording } from '../helpers/mongo-record.js';
import { MemoryAudit } from '../helpers/mssql.js';

/** Wire version per release (src/mongo/db/wire_version.h). */
const WIRE: Record<MongoVersion, number> = { '5.0': 13, '6.0': 17, '7.0': 21, '8.0': 25 };
const PATCH: Record<MongoVersion, string> = { '5.0': '5.0.26', '6.0': '6.0.16', '7.0': '7.0.14', '8.0': '8.0.3' };

/** Keys that are data, not schema, become placeholders; user command documents are not descended into. */
function normalise(key: string, path: string): string | undefined {
  const parts = path.split('.').filter((p) => p !== 'then');
  if (parts.length === 0) return undefined;
  let p = parts.join('.');
  if (key === 'top')
    p = p.replace(/^totals\.(?!note$)([^.]+\.[^.]+?)(?=\.(total|readLock|writeLock|queries|getmore|insert|update|remove|commands)\b|$)/, 'totals.<ns>');
  if (key === 'serverStatus') p = p.replace(/^locks\.[^.]+/, 'locks.<resource>').replace(/^(locks\.<resource>\.\w+)\.\w+$/, '$1.<mode>');
  if (key === 'aggregate:$indexStats')
    p = p.replace(/^(cursor\.firstBatch\[\]\.key)\..+$/, '$1.<field>').replace(/^(cursor\.firstBatch\[\]\.spec\.partialFilterExpression)\..+$/, '$1');
  if (key === 'aggregate:$currentOp') p = p.replace(/^(cursor\.firstBatch\[\]\.(?:command|originatingCommand|cursor\.originatingCommand))\..+$/, '$1');
  return p;
}

/**
 * Paths are attributed to the signal that first fetched the answer: serverStatus,
 * getCmdLineOpts and getParameter are fetched once per cycle and shared (memo), so
 * later signals' reads land on the first reader. Field coverage is unaffected; the
 * privilege check holds because the sharing signals require the same grants.
 */
interface Run {
  version: MongoVersion;
  signal: string;
  read: Map<string, Set<string>>;
  present: Map<string, Set<string>>;
  numbers: Map<string, number[]>;
  rows: unknown[];
  outcome: string;
}

const fakes: FakeMongod[] = [];
const runs: Run[] = [];
beforeAll(async () => {
  for (const version of MONGO_VERSIONS) {
    const fake = await startFakeMongod({ deployment: { version: PATCH[version], maxWireVersion: WIRE[version] } });
    fakes.push(fake);
    const s = await MongoSession.open(mongoTarget(fake.port, ROOT, { mongodb: { currentOps: true } }), ROOT.password, {
      audit: new MemoryAudit(),
      applicationName: 'contract',
    });
    const orig = s.command.bind(s);
    let read = new Map<string, Set<string>>();
    let present = new Map<string, Set<string>>();
    let numbers = new Map<string, number[]>();
    (s as unknown as { command: typeof s.command }).command = async (db, cmd) =>
      recording(await orig(db, cmd), commandKey(db, cmd), read, '', present, numbers);
    for (const spec of mongodbCatalog) {
      read = new Map();
      present = new Map();
      numbers = new Map();
      let outcome = 'ok';
      let rows: unknown[] = [];
      try {
        rows = (await (spec.read as (x: unknown) => Promise<unknown[]>)(s)) ?? [];
      } catch (e) {
        outcome = String(e);
      }
      runs.push({ version, signal: spec.id, read, present, numbers, rows: JSON.parse(JSON.stringify(rows)) as unknown[], outcome });
    }
    await s.close();
  }
}, 120_000);
afterAll(async () => {
  for (const f of fakes) await f.stop();
});

const fieldsOf = (key: string) => MONGO_COMMANDS[key]?.fields ?? {};
const idx = (v: MongoVersion) => MONGO_VERSIONS.indexOf(v);

describe('MongoDB catalog against the documented command shapes (test/fixtures/vendor-schemas/mongodb.ts), 5.0–8.0', () => {
  it('every signal reads on every version, sending only documented commands', () => {
    expect(runs.filter((r) => r.outcome !== 'ok').map((r) => `${r.signal} ${r.version}: ${r.outcome}`)).toEqual([]);
    expect(runs.length).toBe(mongodbCatalog.length * MONGO_VERSIONS.length);
    const unknown = runs.flatMap((r) => [...r.read.keys()].filter((k) => !(k in MONGO_COMMANDS)).map((k) => `${r.signal}: ${k}`));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('every field the catalog reads is documented for its command', () => {
    const failures = new Set<string>();
    for (const r of runs) {
      for (const [key, paths] of r.read) {
        const doc = fieldsOf(key);
        for (const raw of paths) {
          const p = normalise(key, raw);
          if (p === undefined) continue;
          if (!(p in doc) && !Object.keys(doc).some((f) => f.startsWith(`${p}.`))) failures.add(`${r.signal}: ${key} ${p}`);
        }
      }
    }
    expect([...failures]).toEqual([]);
  });

  it('the fake answers only with fields the documentation gives that version (a field read on a version that lacks it is tolerated, never expected)', () => {
    const failures = new Set<string>();
    for (const r of runs) {
      for (const [key, paths] of r.present) {
        for (const raw of paths) {
          const p = normalise(key, raw);
          const f = p === undefined ? undefined : fieldsOf(key)[p];
          if (f === undefined) continue;
          if ((f.since !== undefined && idx(f.since) > idx(r.version)) || (f.until !== undefined && idx(f.until) < idx(r.version)))
            failures.add(`${key} ${p} answered on ${r.version}`);
        }
      }
    }
    expect([...failures]).toEqual([]);
    // The ticket location moved: the collector finds them on every version.
    // (serverStatus is read once per cycle and shared, so its paths are gathered per version, not per signal.)
    for (const version of MONGO_VERSIONS) {
      const had = runs.filter((x) => x.version === version).flatMap((x) => [...(x.present.get('serverStatus') ?? [])]);
      const where = had.filter((p) => /^(queues\.execution|wiredTiger\.concurrentTransactions)\.read$/.test(p));
      expect(where, version).toEqual([idx(version) >= idx('7.0') ? 'queues.execution.read' : 'wiredTiger.concurrentTransactions.read']);
    }
  });

  it('each command a signal sends needs an action its requires grant (the documented Required Access)', () => {
    const failures = new Set<string>();
    for (const r of runs) {
      const spec = mongodbCatalog.find((s) => s.id === r.signal)!;
      const actions = new Set(
        spec.requires.flatMap(
          (g) =>
            (GRANTS as unknown as Record<string, { privileges: ReadonlyArray<{ actions: readonly string[] }> }>)[g]?.privileges.flatMap((p) => p.actions) ?? [],
        ),
      );
      for (const key of r.read.keys()) {
        const need = MONGO_COMMANDS[key]?.action;
        if (need !== undefined && need !== 'none' && !actions.has(need))
          failures.add(`${r.signal} sends ${key} (needs ${need}) but requires ${spec.requires.join(', ') || 'nothing'}`);
      }
    }
    expect([...failures]).toEqual([]);
  });

  it('every output named with a unit carries the documented unit of the field it came from (values traced back to the answer)', () => {
    const TARGET: Array<[RegExp, string]> = [
      [/_mb$/, 'MB'],
      [/_(us|micros)$/, 'us'],
      [/_ms$/, 'ms'],
      [/_(s|seconds)$/, 's'],
      [/_bytes$/, 'bytes'],
    ];
    const SCALE: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6, hours: 3600, bytes: 1, MB: 1024 ** 2, GB: 1024 ** 3 };
    const DIM: Record<string, string> = { s: 't', ms: 't', us: 't', hours: 't', bytes: 'b', MB: 'b', GB: 'b' };
    const failures = new Set<string>();
    let traced = 0;
    for (const version of MONGO_VERSIONS) {
      const vr = runs.filter((r) => r.version === version);
      // Source numbers of this version (shared answers are recorded on their first reader).
      const sources: Array<{ key: string; path: string; value: number; unit: string }> = [];
      for (const r of vr) {
        for (const [k, values] of r.numbers) {
          const [key, ...rest] = k.split(' ');
          const p = normalise(key!, rest.join(' '));
          const unit = p === undefined ? undefined : fieldsOf(key!)[p]?.unit;
          if (unit !== undefined && unit !== 'count') for (const value of values) sources.push({ key: key!, path: p!, value, unit });
        }
      }
      const leaves = (v: unknown, path: string, out: Array<[string, number]>) => {
        if (typeof v === 'number') out.push([path, v]);
        else if (Array.isArray(v)) v.forEach((x) => leaves(x, path, out));
        else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) leaves(x, path === '' ? k : `${path}.${k}`, out);
        return out;
      };
      for (const r of vr) {
        for (const [path, v] of leaves(r.rows, '', [])) {
          const target = TARGET.find(([re]) => re.test(path))?.[1];
          if (target === undefined || v === 0) continue;
          const same = sources.filter(
            (src) => DIM[src.unit] === DIM[target] && Math.abs((src.value * SCALE[src.unit]!) / SCALE[target]! - v) <= 1e-6 * Math.abs(v),
          );
          if (same.length > 0) {
            traced++;
            continue;
          }
          const copied = sources.filter((src) => src.value === v);
          for (const c of copied) failures.add(`${r.signal}.${path} = ${c.key} ${c.path}, documented in ${c.unit}`);
        }
      }
    }
    expect([...failures]).toEqual([]);
    expect(traced).toBeGreaterThan(20);
  });

  it('reports how many references it checked', () => {
    const commands = new Set(runs.flatMap((r) => [...r.read.keys()]));
    const fields = new Set(runs.flatMap((r) => [...r.read].flatMap(([k, ps]) => [...ps].map((p) => `${k} ${normalise(k, p)}`))));
    const refs = runs.reduce((n, r) => n + [...r.read.values()].reduce((m, ps) => m + ps.size + 1, 0), 0);
    const unverified = Object.entries(MONGO_COMMANDS).flatMap(([k, c]) =>
      Object.entries(c.fields)
        .filter(([, f]) => f.unverified)
        .map(([p]) => `${k} ${p}`),
    );
    console.log(
      `[vendor-contract] mongodb: ${commands.size} commands over ${MONGO_VERSIONS.length} versions; ${fields.size} distinct field paths, ${refs} references checked; not re-checked: ${unverified.length} (${unverified.join('; ')})`,
    );
    expect(commands.size).toBe(Object.keys(MONGO_COMMANDS).length);
  });
});
