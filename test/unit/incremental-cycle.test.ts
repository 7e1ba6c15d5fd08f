import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import type { AuditSink } from '../../collectors/core/audit.js';
import type { ClosableSession, EngineCollector } from '../../collectors/core/engine.js';
import { applyShipped, SHIPPED_STATE_KEY, valueDigest } from '../../collectors/core/incremental.js';
import { type OkPayloadSignal, type Payload, PayloadSchema, serializePayload } from '../../collectors/core/payload.js';
import { DEFAULT_POLICY, resolvePolicy } from '../../collectors/core/policy.js';
import type { TargetMemoryStore as TargetMemoryStoreLike } from '../../collectors/core/memory.js';
import { type AnySignalSpec, defineSignal, unavailable } from '../../collectors/core/signal.js';
import { collectCycle } from '../../collectors/cycle.js';
import { MemStore } from '../helpers/delta-consumer.js';
import { type Target, TargetSchema } from '../../collectors/target.js';

/*
 * The shipped payloads of a target, attacked: a consumer that holds only what was
 * shipped (full, delta, unchanged) must rebuild exactly what the server reported,
 * across new rows, evictions, a statistics reset, a restart and the periodic
 * baseline; a preview never moves the baseline; a redacted value never leaks
 * through a delta, the memory or a digest.
 */

interface Stmt {
  queryid: string;
  calls: number;
  total_ms: number;
  query: string;
}
interface Server {
  startedAt: string;
  statsReset: string;
  dealloc: number;
  statements: Stmt[];
  tables: { name: string; owner: string }[];
  activity: number;
  down: boolean;
}

type Session = ClosableSession & { server: Server };

const statements = defineSignal<Session, Stmt>({
  id: 'fake.statements',
  family: 'query_stats',
  description: 'cumulative statement statistics',
  requires: [],
  shape: 'rows',
  read: async (s) => s.server.statements.map((r) => ({ ...r })),
  fields: { queryid: null, calls: null, total_ms: null, query: 'query_text' },
  delta: {
    key: ['queryid'],
    counters: ['calls', 'total_ms'],
    resetWhen: [
      { signal: 'fake.info', field: 'dealloc' },
      { signal: 'fake.info', field: 'stats_reset' },
      { signal: 'fake.server', field: 'started_at' },
    ],
  },
});
const info = defineSignal<Session, { dealloc: number; stats_reset: string }>({
  id: 'fake.info',
  family: 'query_stats',
  description: 'evictions and reset time',
  requires: [],
  shape: 'object',
  read: async (s) => [{ dealloc: s.server.dealloc, stats_reset: s.server.statsReset }],
  fields: { dealloc: null, stats_reset: null },
});
const server = defineSignal<Session, { started_at: string }>({
  id: 'fake.server',
  family: 'server_stats',
  description: 'start time',
  requires: [],
  shape: 'object',
  read: async (s) => [{ started_at: s.server.startedAt }],
  fields: { started_at: null },
});
const tables = defineSignal<Session, { name: string; owner: string }>({
  id: 'fake.tables',
  family: 'schema',
  description: 'tables',
  requires: [],
  shape: 'rows',
  read: async (s) => s.server.tables.map((t) => ({ ...t })),
  fields: { name: 'object_names', owner: 'identity_metadata' },
});
const activity = defineSignal<Session, { sessions: number }>({
  id: 'fake.activity',
  family: 'activity',
  description: 'sessions',
  requires: [],
  shape: 'object',
  read: async (s) => [{ sessions: s.server.activity }],
  fields: { sessions: null },
});
const CATALOG = [server, activity, statements, info, tables] as AnySignalSpec<Session>[];

function fakeCollector(srv: Server, reads: string[] = []): EngineCollector<Session, Target> {
  const catalog = CATALOG.map((spec) => ({
    ...spec,
    read: (s: Session, ctx: Parameters<typeof spec.read>[1]) => {
      reads.push(spec.id);
      return spec.read(s, ctx);
    },
  }));
  return {
    engine: 'postgres',
    catalog,
    connect: async () => {
      if (srv.down) throw new (await import('../../collectors/core/engine.js')).TargetConnectError('unreachable', 'connection refused');
      return { server: srv, close: async () => {} };
    },
    mapSignalError: (e) => unavailable('error', String(e)),
    identity: async () => ({ user: 'm', serverVersion: '15', isAdministrator: false, reasons: [] }) as never,
    checklist: async () => [],
    grantScript: () => '',
  } as EngineCollector<Session, Target>;
}

const audit: AuditSink = { record: () => {} };
const AGENT = { id: 'a', version: '0.1.0', host: 'h' };
const T0 = Date.parse('2026-03-01T00:00:00Z');

function target(extra: Record<string, unknown> = {}): Target {
  return TargetSchema.parse({ id: 'pg', engine: 'postgres', host: 'db', port: 5432, user: 'm', database: 'app', ...extra });
}

function newServer(): Server {
  return {
    startedAt: '2026-02-01T00:00:00Z',
    statsReset: '2026-02-01T00:00:00Z',
    dealloc: 0,
    statements: [
      { queryid: '1', calls: 10, total_ms: 1.5, query: "SELECT * FROM t WHERE secret = 'hunter2'" },
      { queryid: '2', calls: 5, total_ms: 0.1, query: 'SELECT 1' },
      { queryid: '3', calls: 7, total_ms: 2.25, query: 'UPDATE t SET a = 1' },
    ],
    tables: [
      { name: 'accounts', owner: 'app' },
      { name: 'orders', owner: 'app' },
    ],
    activity: 3,
    down: false,
  };
}

/** A consumer of the shipped bytes: holds per signal what it rebuilt. */
class Consumer {
  readonly held = new Map<string, { sequence: number; value: unknown; digest?: string }>();
  gaps: string[] = [];
  apply(bytes: string): void {
    const p = PayloadSchema.parse(JSON.parse(bytes));
    for (const s of p.signals) {
      if (s.status !== 'ok') continue;
      const spec = CATALOG.find((c) => c.id === s.id);
      const next = applyShipped(this.held.get(s.id), s, p.sequence!, spec?.delta);
      if (next === undefined) {
        this.gaps.push(s.id);
        this.held.delete(s.id);
      } else this.held.set(s.id, next);
    }
  }
}

/** What the server reports now, as the policy ships it (a full cycle with no memory). */
async function truth(srv: Server, t: Target, id: string): Promise<unknown> {
  const r = await collectCycle(t, { collector: fakeCollector(srv), password: undefined, audit, agent: AGENT, policy: DEFAULT_POLICY, nameKey: key });
  const s = r.payload.signals.find((x) => x.id === id) as OkPayloadSignal;
  return s.value;
}
const key = async (): Promise<Uint8Array> => new Uint8Array(32).fill(7);

/** A scheduled cycle's dependencies: the fake server, a target memory, the run loop's time. */
const cycleDeps = (srv: Server, store: TargetMemoryStoreLike, at: number, reads?: string[]) => ({
  collector: fakeCollector(srv, reads),
  password: undefined,
  audit,
  agent: AGENT,
  policy: DEFAULT_POLICY,
  nameKey: key,
  memory: store,
  now: new Date(at),
});

const byKey = (rows: unknown): unknown[] => [...(rows as { queryid: string }[])].sort((a, b) => a.queryid.localeCompare(b.queryid));

describe('deltas and digests, rebuilt by a consumer', () => {
  it('rebuilds what the server reported from full + delta + unchanged payloads, across new rows, evictions, a reset and a restart', async () => {
    const srv = newServer();
    const store = new MemStore();
    const t = target({ schedule: { activity: 'interval', schema: 'interval' } });
    const consumer = new Consumer();
    const shipped: Payload[] = [];
    let now = T0;
    const ship = async (): Promise<Payload> => {
      const r = await collectCycle(t, cycleDeps(srv, store, now));
      const bytes = serializePayload(r.payload);
      consumer.apply(bytes);
      await r.commitMemory();
      shipped.push(r.payload);
      now += 60_000;
      return r.payload;
    };
    const mode = (p: Payload, id: string) => {
      const s = p.signals.find((x) => x.id === id);
      return s?.status === 'ok' ? `${s.mode}${s.baseline ? `:${s.baseline}` : ''}` : s?.status;
    };
    const check = async () => {
      expect(byKey(consumer.held.get('fake.statements')?.value)).toEqual(byKey(await truth(srv, t, 'fake.statements')));
      expect(consumer.held.get('fake.tables')?.value).toEqual(await truth(srv, t, 'fake.tables'));
    };

    expect(mode(await ship(), 'fake.statements')).toBe('full:first');
    await check();

    // Only calls of one statement moved: a delta with that row's differences.
    srv.statements[0]!.calls += 3;
    srv.statements[0]!.total_ms += 0.7;
    let p = await ship();
    expect(mode(p, 'fake.statements')).toBe('delta');
    const d = p.signals.find((s) => s.id === 'fake.statements') as OkPayloadSignal;
    expect(d.base).toEqual({ sequence: 1, collectedAt: new Date(T0).toISOString() });
    expect(d.value).toEqual({ added: [], changed: [{ queryid: '1', calls: 3, total_ms: expect.closeTo(0.7, 9) }], removed: [] });
    expect(mode(p, 'fake.tables')).toBe('unchanged');
    await check();

    // Nothing moved: unchanged, digest only.
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('unchanged');
    await check();

    // An eviction and a new statement between cycles (dealloc unchanged: a top-N row dropping out looks the same).
    srv.statements.splice(1, 1);
    srv.statements.push({ queryid: '4', calls: 1, total_ms: 0.01, query: 'DELETE FROM t' });
    srv.tables.push({ name: 'invoices', owner: 'billing' });
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('delta');
    expect((p.signals.find((s) => s.id === 'fake.statements') as OkPayloadSignal).value).toMatchObject({
      added: [{ queryid: '4' }],
      removed: [{ queryid: '2' }],
    });
    expect(mode(p, 'fake.tables')).toBe('full:changed');
    await check();

    // The server evicted entries (dealloc moved): a statement could have been re-created with smaller counters.
    srv.dealloc = 2;
    srv.statements[0]!.calls += 1;
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('full:reset');
    await check();

    // A counter went down without any marker moving: reset detected from the counters themselves.
    srv.statements[1]!.calls = 1;
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('full:reset');
    await check();

    // pg_stat_statements_reset(): stats_reset moves.
    srv.statsReset = '2026-03-01T01:00:00Z';
    for (const s of srv.statements) s.calls += 100;
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('full:reset');
    await check();

    // A restart (new start time), counters kept (pg_stat_statements.save): still a full baseline.
    srv.startedAt = '2026-03-01T02:00:00Z';
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('full:reset');
    await check();

    // Small float steps over many cycles: the rebuilt state stays exact against its digest.
    for (let i = 0; i < 20; i++) {
      srv.statements[0]!.total_ms += 0.1;
      srv.statements[0]!.calls += 1;
      p = await ship();
      expect(mode(p, 'fake.statements')).toBe('delta');
    }
    const held = consumer.held.get('fake.statements')!;
    expect(byKey(held.value)).toEqual(
      byKey((await truth(srv, t, 'fake.statements')) as Stmt[]).map((r) => ({ ...(r as Stmt), total_ms: expect.closeTo((r as Stmt).total_ms, 9) })),
    );
    expect(consumer.gaps).toEqual([]);

    // The periodic full baseline (default: every hour).
    now = T0 + 2 * 3_600_000;
    p = await ship();
    expect(mode(p, 'fake.statements')).toBe('full:periodic');
    expect(mode(p, 'fake.tables')).toBe('full:periodic');
    await check();
    // Sequences count shipped payloads; every delta names the one before it.
    expect(shipped.map((x) => x.sequence)).toEqual(shipped.map((_, i) => i + 1));
  });

  it('a consumer that missed a payload does not apply the next delta: it waits for the next full value', async () => {
    const srv = newServer();
    const store = new MemStore();
    const t = target();
    const consumer = new Consumer();
    let now = T0;
    const cycle = async () => {
      const r = await collectCycle(t, cycleDeps(srv, store, now));
      await r.commitMemory();
      now += 60_000;
      return serializePayload(r.payload);
    };
    consumer.apply(await cycle());
    srv.statements[0]!.calls++;
    await cycle(); // lost on the way
    srv.statements[0]!.calls++;
    consumer.apply(await cycle());
    expect(consumer.gaps).toEqual(['fake.statements']);
    expect(consumer.held.has('fake.statements')).toBe(false);
  });

  it("a delta signal's rows are kept under a key of their own; state written before that (rows inside the shipped state) still gives a delta", async () => {
    const srv = newServer();
    const store = new MemStore();
    const t = target();
    const consumer = new Consumer();
    const ship = async (at: number) => {
      const r = await collectCycle(t, cycleDeps(srv, store, at));
      consumer.apply(serializePayload(r.payload));
      await r.commitMemory();
      return r.payload;
    };
    await ship(T0);
    const kept = JSON.parse(store.files.get('pg')!) as Record<string, { signals: Record<string, Record<string, unknown>> }>;
    const rowsKey = `${SHIPPED_STATE_KEY}.rows/fake.statements`;
    expect(Object.keys(kept[rowsKey]!).sort()).toEqual(['["1"]', '["2"]', '["3"]']);
    expect(kept[SHIPPED_STATE_KEY]!.signals['fake.statements']).toMatchObject({ rowsApart: true });
    expect(kept[SHIPPED_STATE_KEY]!.signals['fake.statements']).not.toHaveProperty('rows');
    // The earlier layout: the rows inside the signal's state, no key of their own.
    const legacy = structuredClone(kept);
    const { rowsApart: _apart, ...state } = legacy[SHIPPED_STATE_KEY]!.signals['fake.statements']!;
    legacy[SHIPPED_STATE_KEY]!.signals['fake.statements'] = { ...state, rows: kept[rowsKey] };
    delete legacy[rowsKey];
    store.files.set('pg', JSON.stringify(legacy));
    srv.statements[0]!.calls += 4;
    const next = await ship(T0 + 60_000);
    expect(next.signals.find((s) => s.id === 'fake.statements')).toMatchObject({ mode: 'delta', value: { changed: [{ calls: 4 }] } });
    expect(consumer.gaps).toEqual([]);
    expect(JSON.parse(store.files.get('pg')!)).toHaveProperty([rowsKey]);
  });

  it('a preview (a cycle never committed) does not move the baseline: the next shipped delta is against the last shipped payload', async () => {
    const srv = newServer();
    const store = new MemStore();
    const t = target();
    const run = (at: number) => collectCycle(t, cycleDeps(srv, store, at));
    await (await run(T0)).commitMemory();
    srv.statements[0]!.calls += 5;
    const preview = await run(T0 + 60_000);
    expect(preview.payload.signals.find((s) => s.id === 'fake.statements')).toMatchObject({ mode: 'delta', value: { changed: [{ calls: 5 }] } });
    srv.statements[0]!.calls += 1;
    const next = await run(T0 + 120_000);
    expect(next.payload.sequence).toBe(2);
    expect(next.payload.signals.find((s) => s.id === 'fake.statements')).toMatchObject({
      mode: 'delta',
      base: { sequence: 1 },
      value: { changed: [{ calls: 6 }] },
    });
  });

  it('a redacted value never leaves through a delta, the memory or a digest', async () => {
    const srv = newServer();
    const store = new MemStore();
    const policy = resolvePolicy({ object_names: 'redact', identity_metadata: 'exclude' }, undefined);
    const t = target({ schedule: { schema: 'interval' } });
    const texts: string[] = [];
    let now = T0;
    for (let i = 0; i < 4; i++) {
      srv.statements[0]!.calls++;
      srv.statements[0]!.query = `SELECT * FROM t WHERE secret = 'hunter${i}'`;
      if (i === 2) srv.tables[0]!.owner = 'topsecret_owner';
      const r = await collectCycle(t, {
        collector: fakeCollector(srv),
        password: undefined,
        audit,
        agent: AGENT,
        policy,
        nameKey: key,
        memory: store,
        now: new Date(now),
      });
      texts.push(serializePayload(r.payload));
      await r.commitMemory();
      now += 60_000;
    }
    texts.push(...store.files.values());
    const all = texts.join('\n');
    expect(all).not.toMatch(/hunter/);
    expect(all).not.toMatch(/accounts|orders|topsecret_owner/);
    // The digest is over the shipped (redacted) value: equal to what a consumer computes from what it received.
    const memory = JSON.parse(store.files.get('pg')!) as Record<string, { signals: Record<string, { digest: string }> }>;
    const first = PayloadSchema.parse(JSON.parse(texts[0]!));
    const tablesShipped = first.signals.find((s) => s.id === 'fake.tables') as OkPayloadSignal;
    expect(memory[SHIPPED_STATE_KEY]!.signals['fake.tables']!.digest).toBe(valueDigest(tablesShipped.value));
    // An excluded owner changing is not a change of what ships.
    expect(texts.slice(0, 4).map((x) => (PayloadSchema.parse(JSON.parse(x)).signals.find((s) => s.id === 'fake.tables') as OkPayloadSignal).mode)).toEqual([
      'full',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });
});

describe('per-family schedule in the cycle', () => {
  it('reads only the families that are due, says which families the payload covers, and a first cycle is always due', async () => {
    const srv = newServer();
    const store = new MemStore();
    const reads: string[] = [];
    const t = target({ intervalSeconds: 60 });
    const run = async (at: number) => {
      reads.length = 0;
      const r = await collectCycle(t, cycleDeps(srv, store, at, reads));
      await r.commitMemory();
      return r.payload;
    };
    let p = await run(T0);
    expect(p.families).toEqual([
      'server_stats',
      'activity',
      'query_stats',
      'waits_locks',
      'replication',
      'schema',
      'security_posture',
      'config',
      'slowlog',
      'cloud',
    ]);
    expect(p.signals.map((s) => s.id).sort()).toEqual(['fake.activity', 'fake.info', 'fake.server', 'fake.statements', 'fake.tables']);

    // 10 s later only activity (10 s) and waits_locks are due.
    p = await run(T0 + 10_000);
    expect(p.families).toEqual(['activity', 'waits_locks']);
    expect(p.signals.map((s) => s.id)).toEqual(['fake.activity']);
    expect(reads).toEqual(['fake.activity']);

    // At 60 s: the interval families; schema (10 min) is not due.
    p = await run(T0 + 60_000);
    expect(p.families).toEqual(['server_stats', 'activity', 'query_stats', 'waits_locks', 'replication', 'slowlog', 'cloud']);
    expect(p.signals.map((s) => s.id).sort()).toEqual(['fake.activity', 'fake.info', 'fake.server', 'fake.statements']);

    // The run loop's first cycle after a start asks for every family, due or not.
    reads.length = 0;
    const all = await collectCycle(t, { ...cycleDeps(srv, store, T0 + 70_000, reads), allDue: true });
    expect(all.payload.families).toHaveLength(10);
    expect(all.payload.signals.map((s) => s.id)).toContain('fake.tables');

    // At 10 min: schema too.
    p = await run(T0 + 600_000);
    expect(p.families).toContain('schema');
    expect(p.signals.map((s) => s.id)).toContain('fake.tables');
  });

  it('a delta signal reads its reset markers even when their family is not due, and does not ship them', async () => {
    const srv = newServer();
    const store = new MemStore();
    const reads: string[] = [];
    const t = target({ schedule: { query_stats: 10, server_stats: 'interval' } });
    const run = async (at: number) => {
      reads.length = 0;
      const r = await collectCycle(t, cycleDeps(srv, store, at, reads));
      await r.commitMemory();
      return r.payload;
    };
    await run(T0);
    srv.startedAt = '2026-03-01T00:00:05Z';
    const p = await run(T0 + 10_000);
    expect(reads).toContain('fake.server');
    expect(p.signals.map((s) => s.id)).not.toContain('fake.server');
    expect(p.families).not.toContain('server_stats');
    expect(p.signals.find((s) => s.id === 'fake.statements')).toMatchObject({ mode: 'full', baseline: 'reset' });
  });

  it('an unreachable target stays due: the families are collected on the next cycle that connects', async () => {
    const srv = newServer();
    const store = new MemStore();
    const t = target();
    const run = async (at: number) => {
      const r = await collectCycle(t, cycleDeps(srv, store, at));
      await r.commitMemory();
      return r.payload;
    };
    srv.down = true;
    let p = await run(T0);
    expect(p.signals.every((s) => s.status === 'unavailable')).toBe(true);
    srv.down = false;
    p = await run(T0 + 10_000);
    expect(p.signals.map((s) => s.id)).toContain('fake.tables');
  });
});

/*
 * The agent's own target memory store (agent/state/target-memory-store.ts) does not
 * fsync each commit; a power cut may lose its latest writes, leaving state older than
 * what was shipped. Attacked here with the files themselves: the slot files are put
 * back as they were at the last durable point, as a power cut would leave them.
 */
describe('deltas and digests across agent restarts, kills and a power cut (the real target memory store)', () => {
  const modes = (p: Payload) => Object.fromEntries(p.signals.flatMap((s) => (s.status === 'ok' ? [[s.id, s.mode ?? 'full']] : [])));
  const slotFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('pg') && !f.includes('.damaged-'));

  /** A target-state directory, a server, a consumer, and agent processes (each its own store) started on them in turn. */
  function setUp(schedule: Record<string, string> = { activity: 'interval', schema: 'interval' }) {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-powercut-')), 'target-state');
    const srv = newServer();
    const t = target({ schedule });
    const consumer = new Consumer();
    const clock = { now: T0 };
    return { dir, srv, t, consumer, agentRun: () => agentRun(dir, srv, t, consumer, clock) };
  }

  function agentRun(dir: string, srv: Server, t: Target, consumer: Consumer, clock: { now: number }) {
    const store = new TargetMemoryStore(dir);
    return {
      store,
      async ship(): Promise<Payload> {
        const r = await collectCycle(t, cycleDeps(srv, store, clock.now));
        consumer.apply(serializePayload(r.payload));
        await r.commitMemory();
        clock.now += 60_000;
        return r.payload;
      },
    };
  }

  it('a clean stop (close) keeps the deltas going after a restart; a run that was never closed makes the next start ship every signal full once', async () => {
    const { srv, t, consumer, agentRun } = setUp();
    const a = agentRun();
    expect(modes(await a.ship())['fake.statements']).toBe('full');
    await a.store.close();
    const b = agentRun();
    srv.statements[0]!.calls += 2;
    const afterCleanStop = await b.ship();
    expect(modes(afterCleanStop)).toMatchObject({ 'fake.statements': 'delta', 'fake.tables': 'unchanged' });
    // b is killed: never closed.
    const c = agentRun();
    srv.statements[1]!.calls += 1;
    const afterKill = await c.ship();
    expect(afterKill.sequence).toBe(afterCleanStop.sequence! + 1);
    expect(Object.values(modes(afterKill)).every((m) => m === 'full')).toBe(true);
    srv.statements[1]!.calls += 1;
    expect(modes(await c.ship())['fake.statements']).toBe('delta');
    expect(consumer.gaps).toEqual([]);
    expect(byKey(consumer.held.get('fake.statements')!.value)).toEqual(byKey(await truth(srv, t, 'fake.statements')));
  });

  it('a power cut loses the writes since the last durable point: the next payload ships every signal full, and the consumer has no gap', async () => {
    const { dir, srv, t, consumer, agentRun } = setUp();
    const a = agentRun();
    await a.ship();
    await a.store.close();
    // What is on disk for sure: every slot fsynced by close().
    const durable = new Map(slotFiles(dir).map((f) => [f, readFileSync(join(dir, f))]));
    const b = agentRun();
    for (let i = 0; i < 3; i++) {
      srv.statements[i]!.calls += 1 + i;
      srv.tables.push({ name: `t${i}`, owner: 'app' });
      await b.ship();
    }
    expect(consumer.gaps).toEqual([]);
    // The power cut: the slot writes since then are lost (@writer.json's record of b's epoch was fsynced before them).
    for (const f of slotFiles(dir)) rmSync(join(dir, f));
    for (const [f, bytes] of durable) writeFileSync(join(dir, f), bytes, { mode: 0o600 });
    const c = agentRun();
    srv.statements[0]!.calls += 5;
    srv.tables.pop();
    const afterPowerCut = await c.ship();
    // Not a delta against the first payload (the consumer holds the fourth): every signal full.
    expect(Object.values(modes(afterPowerCut)).every((m) => m === 'full')).toBe(true);
    srv.statements[2]!.calls += 1;
    const next = await c.ship();
    expect(modes(next)).toMatchObject({ 'fake.statements': 'delta', 'fake.tables': 'unchanged' });
    expect(consumer.gaps).toEqual([]);
    expect(byKey(consumer.held.get('fake.statements')!.value)).toEqual(byKey(await truth(srv, t, 'fake.statements')));
    expect(consumer.held.get('fake.tables')!.value).toEqual(await truth(srv, t, 'fake.tables'));
  });

  it('@writer.json lost or damaged: nothing on disk is trusted, so the next payload is full', async () => {
    for (const damage of [(f: string) => rmSync(f), (f: string) => writeFileSync(f, '{"version":1,"epoch":'), (f: string) => writeFileSync(f, '[]')]) {
      const { dir, srv, consumer, agentRun } = setUp({});
      const a = agentRun();
      await a.ship();
      await a.store.close();
      damage(join(dir, '@writer.json'));
      srv.statements[0]!.calls += 1;
      const b = agentRun();
      expect(modes(await b.ship())['fake.statements']).toBe('full');
      srv.statements[0]!.calls += 1;
      expect(modes(await b.ship())['fake.statements']).toBe('delta');
      expect(consumer.gaps).toEqual([]);
    }
  });
});
