// The renderer's pure logic: step validation of the wizard (the contract's own
// schema), the settings form, the readiness checklist states, and the live feed's
// bounded buffer, filters and virtual window.
import { describe, expect, it } from 'vitest';
import { FeedBuffer, filterRows, toRow, visibleRange } from '../../../renderer/src/lib/feed-model.js';
import { feedEntryOf } from '../../../contract/feed.js';
import { coverage, modeLabel, periodOf } from '../../../renderer/src/lib/preview-model.js';
import type { Preview } from '../../../contract/api.js';
import { readinessItems, type PermissionOutcome } from '../../../renderer/src/lib/readiness.js';
import { destinationForm, validateDestination } from '../../../renderer/src/lib/settings-form.js';
import { emptyForm, validateTargetForm } from '../../../renderer/src/lib/target-form.js';
import { patchFor, validateStep, verdictMessage } from '../../../renderer/src/lib/wizard.js';

const pgForm = () => ({ ...emptyForm(), id: 'db1', host: 'db.example', user: 'monitor', database: 'app' });

describe('wizard step validation', () => {
  it("reports only the current step's fields", () => {
    const f = emptyForm();
    expect(validateStep('engine', f)).toEqual({});
    const conn = validateStep('connection', f);
    expect(Object.keys(conn).sort()).toEqual(['database', 'host', 'id']);
    expect(conn.user).toBeUndefined();
    expect(validateStep('connection', { ...f, id: 'x', host: 'h', database: 'd' })).toEqual({});
  });
  it("uses the schema's rules: id charset, port range, TLS, env names", () => {
    expect(validateStep('connection', { ...pgForm(), id: 'bad id!' }).id).toMatch(/letters, digits/);
    expect(validateStep('connection', { ...pgForm(), port: '0' }).port).toMatch(/1 to 65535/);
    expect(validateStep('connection', { ...pgForm(), engine: 'mongodb', tlsMode: 'prefer' }).tlsMode).toMatch(/no opportunistic TLS/);
    expect(validateStep('connection', { ...pgForm(), tlsMode: 'verify-full', caFile: '/etc/ca.pem' })).toEqual({});
    expect(validateStep('credentials', { ...pgForm(), user: '' }).user).toBe('is required');
    expect(validateStep('credentials', { ...pgForm(), passwordMode: 'env', passwordEnv: '9X' }).passwordEnv).toMatch(/environment variable name/);
    expect(validateStep('credentials', { ...pgForm(), passwordMode: 'store', password: '' }).password).toMatch(/required/);
    expect(validateStep('credentials', { ...pgForm(), intervalSeconds: '5' }).intervalSeconds).toMatch(/10 to 86400/);
  });
  it('redis needs no database; oracle needs a service', () => {
    expect(validateStep('connection', { ...emptyForm(), engine: 'redis', id: 'r', host: 'h', port: '6379' })).toEqual({});
    expect(validateStep('connection', { ...emptyForm(), engine: 'oracle', id: 'o', host: 'h', port: '1521' }).service).toMatch(/required for Oracle/);
  });
  it('builds the target with TLS and the update patch without id/engine/policy', () => {
    const r = validateTargetForm({ ...pgForm(), tlsMode: 'verify-ca', caFile: '/ca.pem', passwordMode: 'env', passwordEnv: 'PW' });
    expect(r.target).toMatchObject({ id: 'db1', engine: 'postgres', tls: { mode: 'verify-ca', caFile: '/ca.pem' }, password: { env: 'PW' } });
    const patch = patchFor(r.target!);
    expect(patch).not.toHaveProperty('id');
    expect(patch).not.toHaveProperty('engine');
    expect(patch).toMatchObject({ host: 'db.example', tls: { mode: 'verify-ca' } });
  });
  it('words every connection verdict', () => {
    for (const v of ['ok', 'unreachable', 'tls', 'authentication', 'timeout', 'config'] as const) expect(verdictMessage(v).text.length).toBeGreaterThan(10);
    expect(verdictMessage('ok').tone).toBe('ok');
    expect(verdictMessage('authentication').text).toMatch(/Authentication failed/);
  });
});

describe('settings form', () => {
  it('requires https, a key for a new destination, a valid proxy and env name', () => {
    const f = destinationForm(null);
    expect(f.keyMode).toBe('value');
    const r1 = validateDestination({ ...f, url: 'http://ingest.example.com' }, null);
    expect(r1.errors?.url).toMatch(/https/);
    expect(r1.errors?.keyValue).toMatch(/required/);
    expect(validateDestination({ ...f, url: 'https://i.example', keyMode: 'env', keyEnv: '1X' }, null).errors?.keyEnv).toMatch(/variable name/);
    expect(validateDestination({ ...f, url: 'https://i.example', keyValue: 'k', proxyUrl: 'ftp://p' }, null).errors?.proxyUrl).toMatch(/proxy URL/);
    const ok = validateDestination({ ...f, url: 'https://i.example', keyValue: 'k', proxyUrl: 'http://p:3128' }, null);
    expect(ok.destination).toMatchObject({ url: 'https://i.example', apiKey: { value: 'k' }, proxy: { url: 'http://p:3128' } });
  });
  it('keeps the stored key when asked (apiKey omitted)', () => {
    const view = { url: 'https://i.example', apiKey: 'vault' as const, allowPrivateAddress: false, maxBatchesPerSecond: 2, maxBytesPerSecond: 1048576 };
    const f = destinationForm(view);
    expect(f.keyMode).toBe('keep');
    const r = validateDestination(f, view);
    expect(r.destination).toBeDefined();
    expect(r.destination).not.toHaveProperty('apiKey');
  });
});

type Target = Parameters<typeof readinessItems>[0][number];
const target = (id: string, over: Partial<Target> = {}): Target => ({
  id,
  engine: 'postgres',
  name: id,
  host: 'h',
  port: 5432,
  user: `u_${id}`,
  database: 'd',
  intervalSeconds: 60,
  password: 'env',
  policy: {},
  ...over,
});
const report = (admin: boolean, missing: number): PermissionOutcome => ({
  report: {
    identity: { user: 'u', isAdministrator: admin, reasons: [], serverVersion: '15' },
    items: Array.from({ length: 3 }, (_, i) => ({
      grant: `g${i}`,
      status: i < missing ? ('missing' as const) : ('granted' as const),
      signals: [],
      detail: '',
    })),
    script: '',
  },
});
const settings = (over: Partial<NonNullable<Parameters<typeof readinessItems>[2]>> = {}) => ({ paused: false, destination: null, policy: {}, ...over });
const state = (items: ReturnType<typeof readinessItems>, id: string) => items.find((i) => i.id === id)?.state;

describe('readiness checklist states', () => {
  it('is waiting, never green, with no targets; unknowable items are "not checked"', () => {
    const items = readinessItems([], new Map(), settings());
    expect(state(items, 'identity')).toBe('pending');
    expect(state(items, 'least-privilege')).toBe('pending');
    expect(state(items, 'destination')).toBe('fail');
    for (const id of ['config-permissions', 'rotation', 'network', 'workspace-access']) expect(state(items, id)).toBe('not_checked');
    expect(items.filter((i) => i.state === 'pass')).toEqual([]);
  });
  it('fails on an administrator and on missing grants; waits when a check errored', () => {
    const ts = [target('a'), target('b')];
    const items = readinessItems(
      ts,
      new Map([
        ['a', report(true, 0)],
        ['b', report(false, 2)],
      ]),
      settings(),
    );
    expect(state(items, 'identity')).toBe('fail');
    expect(items.find((i) => i.id === 'identity')?.detail).toMatch(/used by: a/);
    expect(state(items, 'least-privilege')).toBe('fail');
    expect(items.find((i) => i.id === 'least-privilege')?.detail).toMatch(/b \(2 missing\)/);
    const pending = readinessItems(
      ts,
      new Map<string, PermissionOutcome>([
        ['a', report(false, 0)],
        ['b', { error: 'unreachable' }],
      ]),
      settings(),
    );
    expect(state(pending, 'identity')).toBe('pending');
    expect(state(pending, 'least-privilege')).toBe('pending');
  });
  it('passes when every check passes; destination must be https; categories need a policy', () => {
    const ts = [target('a', { policy: { query_text: 'redact' } })];
    const https = settings({
      destination: { url: 'https://i.example', apiKey: 'vault', allowPrivateAddress: false, maxBatchesPerSecond: 2, maxBytesPerSecond: 1 },
    });
    const items = readinessItems(ts, new Map([['a', report(false, 0)]]), https);
    for (const id of ['identity', 'least-privilege', 'secrets', 'destination', 'categories']) expect(state(items, id)).toBe('pass');
    const http = settings({
      destination: { url: 'http://127.0.0.1:8080', apiKey: 'env', allowPrivateAddress: false, maxBatchesPerSecond: 2, maxBytesPerSecond: 1 },
    });
    expect(state(readinessItems(ts, new Map(), http), 'destination')).toBe('fail');
    expect(state(readinessItems([target('x')], new Map(), settings()), 'categories')).toBe('fail');
    expect(state(readinessItems([target('x')], new Map(), settings({ policy: { client_metadata: 'exclude' } })), 'categories')).toBe('pass');
    expect(state(readinessItems([target('x')], new Map(), null), 'destination')).toBe('not_checked');
  });
});

type Status = NonNullable<Parameters<typeof readinessItems>[3]>;
const status = (creds: Status['targets'][number]['credentials'][], over: Partial<Status> = {}): Status => ({
  agent: { id: 'a', version: '0', host: 'h' },
  paused: false,
  delivery: null,
  targets: creds.map((credentials, i) => ({ id: `t${i}`, engine: 'postgres', state: 'ok', credentials })),
  configPermissions: [],
  ...over,
});
const detail = (items: ReturnType<typeof readinessItems>, id: string) => items.find((i) => i.id === id)?.detail ?? '';

describe('readiness: rotation and configuration permissions from status.get', () => {
  const ts = [target('t0', { name: 'Main', password: 'vault' }), target('t1', { name: 'Cache', password: 'env' })];
  const ok = { state: 'ok' as const, setAt: '2026-10-01T00:00:00.000Z', dueAt: '2026-12-30T00:00:00.000Z' };
  it('passes when every credential is within its period, and names the next due date', () => {
    const items = readinessItems(ts.slice(0, 1), new Map(), settings(), status([ok]));
    expect(state(items, 'rotation')).toBe('pass');
    expect(detail(items, 'rotation')).toMatch(/next is due 2026-12-30/);
  });
  it('asks for action on an overdue or due credential, and cannot tell for a password from the environment', () => {
    const overdue = { state: 'overdue' as const, setAt: '2026-01-01T00:00:00.000Z', dueAt: '2026-04-01T00:00:00.000Z' };
    const items = readinessItems(
      ts,
      new Map(),
      settings(),
      status([overdue, { state: 'unknown' }], { destinationApiKey: { state: 'due', dueAt: '2026-12-01T00:00:00.000Z' } }),
    );
    expect(state(items, 'rotation')).toBe('fail');
    expect(detail(items, 'rotation')).toMatch(/Overdue for rotation: Main \(password\), was due 2026-04-01/);
    expect(detail(items, 'rotation')).toMatch(/Due for rotation soon: the destination API key, by 2026-12-01/);
    expect(detail(items, 'rotation')).toMatch(/cannot tell when these were set: Cache \(password\): from an environment variable/);
    const unknownOnly = readinessItems(ts, new Map(), settings(), status([ok, { state: 'unknown' }]));
    expect(state(unknownOnly, 'rotation')).toBe('unknown');
  });
  it('fails with the fix when the configuration is open to others; says "not checked" without the data', () => {
    const open = status([ok], {
      configPermissions: [{ path: '/h/state.json', problem: '/h/state.json can be read by other users (mode 0644); run: chmod 600 "/h/state.json"' }],
    });
    const items = readinessItems(ts, new Map(), settings(), open);
    expect(state(items, 'config-permissions')).toBe('fail');
    expect(detail(items, 'config-permissions')).toMatch(/chmod 600 "\/h\/state.json"/);
    expect(state(readinessItems(ts, new Map(), settings(), status([ok])), 'config-permissions')).toBe('pass');
    const { configPermissions: _c, ...older } = status([ok]);
    expect(state(readinessItems(ts, new Map(), settings(), older), 'config-permissions')).toBe('not_checked');
    expect(state(readinessItems(ts, new Map(), settings(), null), 'rotation')).toBe('not_checked');
  });
});

const event = (target: string, i: number) => ({
  payload: {
    target: { id: target, name: target.toUpperCase(), engine: 'postgres' },
    collectedAt: new Date(1_700_000_000_000 + i).toISOString(),
    signals: [{ id: 's', status: 'ok', value: [{ query: 'SELECT $1', usename: 'h:0123456789abcdef' }] }],
  },
  annotations: [
    { signalId: 's', field: 'query', category: 'query_text', action: 'collect' },
    { signalId: 's', field: 'usename', category: 'identity_metadata', action: 'redact' },
    { signalId: 's', field: 'state', category: null, action: 'collect' },
  ],
});

/** A cycle as the window gets it: the agent's feed entry (contract/feed.ts), keyed as a row. */
const rowOf = (key: number, cycle: unknown) => toRow(key, feedEntryOf(key, cycle as Parameters<typeof feedEntryOf>[1], 0));

describe('live feed model', () => {
  it('reduces a preview to a row, policy-changed fields first, with samples', () => {
    const row = rowOf(1, event('a', 0) as never);
    expect(row.fields.map((f) => [f.field, f.action, f.sample])).toEqual([
      ['usename', 'redact', 'h:0123456789abcdef'],
      ['query', 'collect', 'SELECT $1'],
    ]);
    expect([...new Set(row.fields.map((f) => f.category))].sort()).toEqual(['identity_metadata', 'query_text']);
  });
  it('a field name shared by two signals names its signal; a unique one does not', () => {
    const e = event('a', 0);
    const row = rowOf(1, {
      payload: { ...e.payload, signals: [...e.payload.signals, { id: 'postgres.blocking', status: 'ok', value: [{ usename: 'h:1' }] }] },
      annotations: [...e.annotations, { signalId: 'postgres.blocking', field: 'usename', category: 'identity_metadata', action: 'redact' }],
    });
    expect(row.fields.map((f) => f.label).sort()).toEqual(['blocking.usename', 'query', 's.usename']);
  });

  it('keeps only the last N, newest first', () => {
    const b = new FeedBuffer(100);
    for (let i = 0; i < 5_000; i++) b.push(rowOf(i, event(i % 2 ? 'a' : 'b', i) as never));
    const snap = b.snapshot();
    expect(snap).toHaveLength(100);
    expect(snap[0]?.key).toBe(4_999);
    expect(snap[99]?.key).toBe(4_900);
    expect(b.received).toBe(5_000);
  });
  it('filters by target and category', () => {
    const rows = [rowOf(1, event('a', 1) as never), rowOf(2, event('b', 2) as never)];
    expect(filterRows(rows, { target: 'a', category: '' }).map((r) => r.key)).toEqual([1]);
    expect(filterRows(rows, { target: '', category: 'query_text' })).toHaveLength(2);
    expect(filterRows(rows, { target: '', category: 'client_metadata' })).toHaveLength(0);
  });
  it('renders only the visible window plus overscan', () => {
    expect(visibleRange(0, 600, 60, 2_000, 5)).toEqual({ start: 0, end: 15 });
    expect(visibleRange(60_000, 600, 60, 2_000, 5)).toEqual({ start: 995, end: 1_015 });
    expect(visibleRange(1e9, 600, 60, 2_000, 5)).toEqual({ start: 2_000, end: 2_000 });
    expect(visibleRange(0, 600, 60, 3, 5)).toEqual({ start: 0, end: 3 });
  });
});

describe('preview and feed of payload v2 (deltas, unchanged, families not due)', () => {
  const agent = { id: 'a', version: '0', host: 'h' };
  const payload: Preview['payload'] = {
    schema: 'logstag.payload/v2' as const,
    agent,
    target: { id: 'pg', engine: 'postgres' as const, name: 'pg' },
    collectedAt: '2026-11-26T10:01:00.000Z',
    sequence: 4,
    families: ['query_stats' as const, 'config' as const],
    signals: [
      {
        id: 'postgres.query_stats',
        family: 'query_stats' as const,
        status: 'ok' as const,
        mode: 'delta' as const,
        base: { sequence: 3, collectedAt: '2026-11-26T10:00:00.000Z' },
        digest: `sha256:${'1'.repeat(64)}`,
        value: { added: [], changed: [{ queryid: '7', calls: 2, query: 'SELECT $1' }], removed: [{ queryid: '9' }] },
        policy: { query: 'redact' as const },
      },
      {
        id: 'postgres.settings',
        family: 'config' as const,
        status: 'ok' as const,
        mode: 'unchanged' as const,
        base: { sequence: 1, collectedAt: '2026-11-26T09:50:00.000Z' },
        digest: `sha256:${'2'.repeat(64)}`,
      },
      { id: 'postgres.server', family: 'query_stats' as const, status: 'ok' as const, mode: 'full' as const, baseline: 'reset' as const, value: {} },
    ],
  };
  const schedule = [
    { family: 'activity' as const, seconds: 10, label: '10 s', overridden: false },
    { family: 'query_stats' as const, seconds: 60, label: 'every interval (60 s)', overridden: false },
    { family: 'config' as const, seconds: 600, label: '10 min', overridden: false },
  ];
  const preview = { payload, annotations: [], policy: {} as never, schedule };

  it('labels delta, unchanged and baseline values in plain words', () => {
    expect(modeLabel(payload.signals[0]!)).toBe('Only what changed since payload #3: 0 rows new, 1 row changed (counters as differences), 1 row gone');
    expect(modeLabel(payload.signals[1]!)).toBe('Unchanged since payload #1: not sent again, only its fingerprint');
    expect(modeLabel(payload.signals[2]!)).toMatch(/sent in full: the server's counters were reset/);
  });

  it("says which families were not due (not missing) and each family's period", () => {
    expect(coverage(preview).notDue).toEqual([{ family: 'activity', label: '10 s' }]);
    expect(periodOf(preview, 'config')).toBe('10 min');
  });

  it('the feed lists no field of an unchanged signal (nothing of it left) and samples a delta from what was sent', () => {
    const row = rowOf(1, {
      payload,
      annotations: [
        { signalId: 'postgres.query_stats', field: 'query', category: 'query_text', action: 'redact' },
        { signalId: 'postgres.settings', field: 'setting', category: 'config_posture', action: 'collect' },
      ],
    });
    expect(row.fields.map((f) => [f.signal, f.sample])).toEqual([['postgres.query_stats', 'SELECT $1']]);
  });
});
