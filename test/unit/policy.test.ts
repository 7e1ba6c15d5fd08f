import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, type Category } from '../../collectors/core/category.js';
import { buildPayload, serializePayload } from '../../collectors/core/payload.js';
import { DEFAULT_POLICY, type EffectivePolicy, policyDiff, PolicySchema, type ReadContext, resolvePolicy } from '../../collectors/core/policy.js';
import { annotate, applyPolicy } from '../../collectors/core/redact/apply.js';
import { NameHasher } from '../../collectors/core/redact/names.js';
import { runSignals } from '../../collectors/core/runner.js';
import { type AnySignalSpec, defineSignal, unavailable } from '../../collectors/core/signal.js';
import { TargetSchema } from '../../collectors/target.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { type Vault, VaultError } from '../../agent/secrets/vault.js';

const names = new NameHasher(Buffer.alloc(32, 1));
const all = (action: 'collect' | 'redact' | 'exclude'): EffectivePolicy => resolvePolicy(Object.fromEntries(CATEGORIES.map((c) => [c, action])));
const spec = (id: string, fields: Record<string, Category | null>): AnySignalSpec<unknown> =>
  defineSignal<unknown, Record<string, unknown>>({ id, family: 'activity', description: '', requires: [], shape: 'rows', read: async () => [], fields });

describe('policy resolution', () => {
  it('has the issue defaults and layers workspace then target overrides', () => {
    expect(DEFAULT_POLICY).toEqual({
      query_text: 'redact',
      slowlog_args: 'redact',
      current_ops: 'exclude',
      object_names: 'collect',
      identity_metadata: 'collect',
      client_metadata: 'collect',
      config_posture: 'collect',
    });
    const p = resolvePolicy({ client_metadata: 'exclude', query_text: 'collect' }, { client_metadata: 'redact' });
    expect(p).toMatchObject({ client_metadata: 'redact', query_text: 'collect', current_ops: 'exclude' });
    expect(policyDiff(resolvePolicy(), p)).toEqual({ client_metadata: 'redact', query_text: 'collect' });
  });

  it('validates strictly, in the target schema too', () => {
    expect(PolicySchema.safeParse({ query_text: 'redact' }).success).toBe(true);
    expect(PolicySchema.safeParse({ query_txt: 'redact' }).success).toBe(false);
    expect(PolicySchema.safeParse({ query_text: 'hide' }).success).toBe(false);
    const target = { id: 'pg', engine: 'postgres', host: 'h', port: 5432, user: 'm', database: 'd' };
    expect(TargetSchema.safeParse({ ...target, policy: { client_metadata: 'exclude' } }).success).toBe(true);
    expect(TargetSchema.safeParse({ ...target, policy: { client_metadata: 'nope' } }).success).toBe(false);
  });
});

// One synthetic signal per engine that exists or is being built, covering every category.
const pgActivity = spec('postgres.activity_text', {
  pid: 'client_metadata',
  usename: 'identity_metadata',
  datname: 'object_names',
  query: 'query_text',
  state: null,
});
const mssqlText = spec('mssql.query_stats', { text: 'query_text', calls: null });
const oracleText = spec('oracle.sql', { sql_text: 'query_text' });
const redisSlowlog = spec('redis.slowlog', { id: null, args: 'slowlog_args', client_addr: 'client_metadata', client_name: 'client_metadata' });
const mongoCurrentOp = spec('mongodb.current_op', { opid: null, command: 'current_ops', ns: 'object_names', client: 'client_metadata' });
const mongoQueryStats = spec('mongodb.query_stats', { shape: 'query_text', user: 'identity_metadata' });
const pgSettings = spec('postgres.settings', { name: null, setting: 'config_posture' });
const pgHba = spec('postgres.hba_rules', { database: 'object_names', user_name: 'identity_metadata', address: 'client_metadata' });

describe('applyPolicy: every category, across engines', () => {
  it('collect ships every field as read', () => {
    const row = { pid: 7, usename: 'alice', datname: 'shop', query: "SELECT 'x'", state: 'active' };
    expect(applyPolicy(pgActivity, [row], { policy: all('collect'), engine: 'postgres' })).toEqual({ value: [row] });
  });

  it('exclude removes the keys and says so; untagged fields never pass', () => {
    const row = { pid: 7, usename: 'alice', datname: 'shop', query: 'q', state: 'active', sneaky: 'untagged' };
    const out = applyPolicy(pgActivity, [row], { policy: all('exclude'), engine: 'postgres' });
    expect(out.value).toEqual([{ state: 'active' }]);
    expect(out.policy).toEqual({ pid: 'exclude', usename: 'exclude', datname: 'exclude', query: 'exclude' });
  });

  it('redact: SQL per dialect, names hashed stably, lists of names kept in order', () => {
    const ctx = { policy: all('redact'), engine: 'postgres' as const, names };
    const a = applyPolicy(
      pgActivity,
      [{ pid: 7, usename: 'alice', datname: 'shop', query: "SELECT * FROM t WHERE a = 'secret' AND b IN (1,2)", state: 'idle' }],
      ctx,
    );
    const b = applyPolicy(pgActivity, [{ pid: 7, usename: 'alice', datname: 'shop', query: 'SELECT $tag$ unterminated', state: 'idle' }], ctx);
    const [ra] = a.value as Array<Record<string, unknown>>;
    const [rb] = b.value as Array<Record<string, unknown>>;
    expect(ra).toEqual({
      pid: names.hash('client_metadata', '7'),
      usename: names.hash('identity_metadata', 'alice'),
      datname: names.hash('object_names', 'shop'),
      query: 'SELECT * FROM t WHERE a = ? AND b IN (?)',
      state: 'idle',
    });
    expect(rb!['usename']).toBe(ra!['usename']); // stable across cycles for the same key
    expect(rb!['query']).toBeNull(); // cannot be tokenised: dropped, never raw
    expect(a.policy).toEqual({ pid: 'redact', usename: 'redact', datname: 'redact', query: 'redact' });
    expect(applyPolicy(mssqlText, { text: "SELECT N'x', 0xFF FROM [t] WHERE id IN (1, 2)", calls: 3 }, { ...ctx, engine: 'mssql' }).value).toEqual({
      text: 'SELECT ?, ? FROM [t] WHERE id IN (?)',
      calls: 3,
    });
    expect(applyPolicy(oracleText, { sql_text: "SELECT q'[a]' FROM dual WHERE x = :1" }, { ...ctx, engine: 'oracle' }).value).toEqual({
      sql_text: 'SELECT ? FROM dual WHERE x = :1',
    });
    const hba = applyPolicy(pgHba, [{ database: ['all', 'shop'], user_name: ['alice'], address: '10.0.0.0' }], ctx).value as Array<Record<string, unknown>>;
    expect(hba[0]).toEqual({
      database: [names.hash('object_names', 'all'), names.hash('object_names', 'shop')],
      user_name: [names.hash('identity_metadata', 'alice')],
      address: names.hash('client_metadata', '10.0.0.0'),
    });
  });

  it('redact: Redis slow-log arguments reduced, binary arguments included', () => {
    const ctx = { policy: all('redact'), engine: 'redis' as const, names };
    const out = applyPolicy(redisSlowlog, [{ id: 12, args: ['AUTH', 'default', 'hunter2'], client_addr: '127.0.0.1:50000', client_name: 'app' }], ctx);
    const [row] = out.value as Array<Record<string, unknown>>;
    expect(row!['args']).toEqual({ command: 'AUTH', arg_count: 2, arg_lengths: [7, 7] });
    expect(JSON.stringify(out.value)).not.toMatch(/hunter2|127\.0\.0\.1|"app"/);
    const bin = applyPolicy(redisSlowlog, { id: 1, args: [Buffer.from('SET'), Buffer.from([0, 255])] }, ctx).value as Record<string, unknown>;
    expect(bin['args']).toEqual({ command: 'SET', arg_count: 1, arg_lengths: [2] });
    // Something that is not an argument list is dropped, not passed through.
    expect((applyPolicy(redisSlowlog, { id: 1, args: 'SET k v' }, ctx).value as Record<string, unknown>)['args']).toBeNull();
  });

  it('redact: MongoDB current operations and query shapes keep keys and operators only', () => {
    const ctx = { policy: all('redact'), engine: 'mongodb' as const, names };
    const out = applyPolicy(
      mongoCurrentOp,
      { opid: 99, command: { find: 'users', filter: { email: 'bob@example.com', age: { $gt: 30 } } }, ns: 'shop.users', client: '10.1.2.3:5000' },
      ctx,
    ).value as Record<string, unknown>;
    expect(out).toEqual({
      opid: 99,
      command: { find: '?', filter: { email: '?', age: { $gt: '?' } } },
      ns: names.hash('object_names', 'shop.users'),
      client: names.hash('client_metadata', '10.1.2.3:5000'),
    });
    const shape = applyPolicy(mongoQueryStats, { shape: { filter: { a: { $in: [1, 2] } } }, user: 'bob' }, ctx).value as Record<string, unknown>;
    expect(shape['shape']).toEqual({ filter: { a: { $in: '?' } } });
    // A query text string for an engine without an SQL dialect cannot be normalised: dropped.
    expect((applyPolicy(mongoQueryStats, { shape: 'db.users.find({a: 1})', user: 'bob' }, ctx).value as Record<string, unknown>)['shape']).toBeNull();
  });

  it('redact: configuration values replaced by a marker, the setting name kept', () => {
    const out = applyPolicy(
      pgSettings,
      [
        { name: 'ssl', setting: 'on' },
        { name: 'x', setting: null },
      ],
      { policy: all('redact'), engine: 'postgres' },
    );
    expect(out.value).toEqual([
      { name: 'ssl', setting: '?' },
      { name: 'x', setting: null },
    ]);
  });

  it('refuses to redact names without a key rather than ship them', () => {
    expect(() => applyPolicy(pgHba, [{ database: ['x'] }], { policy: all('redact'), engine: 'postgres' })).toThrow(/no name key/);
  });

  it('annotates every catalog field with its category and action', () => {
    const notes = annotate(postgresCatalog as AnySignalSpec<unknown>[], resolvePolicy({ client_metadata: 'exclude' }));
    const fieldCount = postgresCatalog.reduce((n, s) => n + Object.keys(s.fields).length, 0);
    expect(notes).toHaveLength(fieldCount);
    expect(notes).toContainEqual({ signalId: 'postgres.activity', field: 'client_addr', category: 'client_metadata', action: 'exclude' });
    expect(notes).toContainEqual({ signalId: 'postgres.activity', field: 'state', category: null, action: 'collect' });
  });
});

describe('the read context and the runner', () => {
  it('tells each read the policy, and does not read a signal whose every field is excluded', async () => {
    const seen: ReadContext[] = [];
    const readsOf = (id: string, fields: Record<string, Category | null>) =>
      defineSignal<unknown, Record<string, unknown>>({
        id,
        family: 'activity',
        description: '',
        requires: [],
        shape: 'rows',
        read: async (_s, ctx) => {
          seen.push(ctx);
          return [];
        },
        fields,
      });
    const ops = readsOf('t.ops', { op: 'current_ops' });
    const mixed = readsOf('t.mixed', { op: 'current_ops', secs: null });
    const outcomes = await runSignals([ops, mixed], {}, { timeoutMs: 1000, mapError: () => unavailable('error', 'x') });
    expect(outcomes[0]!.result).toEqual({ status: 'unavailable', reason: 'disabled', detail: 'every field is excluded by the policy (current_ops)' });
    expect(outcomes[1]!.result.status).toBe('ok');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.excluded('current_ops')).toBe(true);
    expect(seen[0]!.excluded('query_text')).toBe(false);
  });

  it('builds a payload whose bytes carry the policy per signal', () => {
    const ctx = {
      agent: { id: 'a', version: '0.1.0', host: 'h' },
      target: { id: 'r', engine: 'redis' as const, name: 'r' },
      collectedAt: new Date('2026-01-01T00:00:00Z'),
    };
    const p = buildPayload(
      ctx,
      [{ spec: redisSlowlog, result: { status: 'ok', value: [{ id: 1, args: ['GET', 'k'], client_addr: 'x', client_name: 'y' }] }, durationMs: 1 }],
      (s, v) => applyPolicy(s, v, { policy: resolvePolicy({ client_metadata: 'exclude' }), engine: 'redis' }),
    );
    expect(serializePayload(p)).toBe(
      '{"schema":"logstag.payload/v2","agent":{"id":"a","version":"0.1.0","host":"h"},"target":{"id":"r","engine":"redis","name":"r"},"collectedAt":"2026-01-01T00:00:00.000Z","sequence":1,"families":["server_stats","activity","query_stats","waits_locks","replication","schema","security_posture","config","slowlog","cloud"],"signals":[{"id":"redis.slowlog","family":"activity","status":"ok","mode":"full","value":[{"id":1,"args":{"command":"GET","arg_count":1,"arg_lengths":[1]}}],"policy":{"args":"redact","client_addr":"exclude","client_name":"exclude"}}]}',
    );
  });
});

describe('NameKeyStore', () => {
  const sealing = (): Vault & { sealed: string[] } => {
    const sealed: string[] = [];
    return {
      backend: 'os-keychain',
      sealed,
      seal: async (p) => {
        sealed.push(p);
        return `blob:${Buffer.from(p).toString('hex')}`;
      },
      open: async (b) => Buffer.from(b.slice(5), 'hex').toString(),
    };
  };

  it('keeps the key sealed by the vault when it works, and returns the same key afterwards', async () => {
    const home = mkdtempSync(join(tmpdir(), 'namekey-'));
    const vault = sealing();
    const key = await new NameKeyStore(home, () => vault).load();
    expect(key).toHaveLength(32);
    const onDisk = readFileSync(join(home, 'name-key.sealed'), 'utf8');
    expect(onDisk).not.toContain(key.toString('base64'));
    expect(statSync(join(home, 'name-key.sealed')).mode & 0o777).toBe(0o600);
    expect(await new NameKeyStore(home, () => vault).load()).toEqual(key);
  });

  it('falls back to a 0600 file when the vault is unavailable, and refuses it when too open', async () => {
    const home = mkdtempSync(join(tmpdir(), 'namekey-'));
    const none = (): Vault => {
      throw new VaultError('unavailable', 'no keychain');
    };
    const store = new NameKeyStore(home, none);
    const [k1, k2] = await Promise.all([store.load(), store.load()]);
    expect(k1).toEqual(k2);
    expect(statSync(join(home, 'name-key')).mode & 0o777).toBe(0o600);
    expect(await new NameKeyStore(home, none).load()).toEqual(k1);
    writeFileSync(join(home, 'name-key'), `${k1.toString('base64')}\n`, { mode: 0o644 });
    const { chmodSync } = await import('node:fs');
    chmodSync(join(home, 'name-key'), 0o644);
    await expect(new NameKeyStore(home, none).load()).rejects.toThrow(/readable by other users/);
  });

  it('never replaces a sealed key it cannot open', async () => {
    const home = mkdtempSync(join(tmpdir(), 'namekey-'));
    await new NameKeyStore(home, () => sealing()).load();
    const broken: Vault = {
      backend: 'os-keychain',
      seal: async () => 'x',
      open: async () => Promise.reject(new VaultError('foreign', 'created on another host')),
    };
    await expect(new NameKeyStore(home, () => broken).load()).rejects.toThrow(/cannot be opened: created on another host/);
  });
});
