import { describe, expect, it } from 'vitest';
import { buildPayload, checkPayload, isJsonValue, PayloadSchema, serializePayload, writePayload, type Payload } from '../../collectors/core/payload.js';
import { defineSignal, FAMILIES, type AnySignalSpec } from '../../collectors/core/signal.js';
import type { SignalOutcome } from '../../collectors/core/runner.js';

/*
 * buildPayload checks what it built in place (checkPayload) instead of letting zod copy every
 * value (PayloadSchema, z.json()). The attack: a payload the schema refuses that the in-place
 * check would let through. PayloadSchema is the reference: every payload here, hand-written or
 * generated, must get the same answer from both (the few documented cases where the check is
 * stricter are asserted on their own).
 */

const v2 = {
  schema: 'logstag.payload/v2',
  agent: { id: 'a1', version: '0.1.0', host: 'jump-1' },
  target: { id: 'pg', engine: 'postgres', name: 'Main' },
  collectedAt: '2026-12-06T10:00:00.000Z',
  sequence: 3,
  families: ['server_stats', 'query_stats', 'schema'],
  signals: [
    { id: 'postgres.server', family: 'server_stats', status: 'ok', mode: 'full', value: { version: '15.18', up: 12.5, ok: true, none: null } },
    {
      id: 'postgres.query_stats',
      family: 'query_stats',
      status: 'ok',
      mode: 'delta',
      base: { sequence: 2, collectedAt: '2026-12-06T09:59:45.000Z' },
      digest: `sha256:${'a'.repeat(64)}`,
      value: { added: [{ queryid: '1', calls: 3 }], changed: [], removed: [] },
      policy: { query: 'redact' },
    },
    {
      id: 'postgres.tables',
      family: 'schema',
      status: 'ok',
      mode: 'unchanged',
      base: { sequence: 1, collectedAt: '2026-12-06T09:50:00.000Z' },
      digest: `sha256:${'b'.repeat(64)}`,
    },
    { id: 'postgres.io', family: 'server_stats', status: 'unavailable', reason: 'unsupported', detail: 'pg_stat_io: PostgreSQL 16', fix: 'upgrade' },
  ],
};

const both = (p: unknown): { schema: boolean; check: boolean } => {
  let check = true;
  try {
    checkPayload(p);
  } catch {
    check = false;
  }
  return { schema: PayloadSchema.safeParse(p).success, check };
};

const withSignal = (i: number, patch: Record<string, unknown>, drop: string[] = []): unknown => {
  const s: Record<string, unknown> = { ...v2.signals[i]!, ...patch };
  for (const k of drop) delete s[k];
  return { ...v2, signals: v2.signals.map((x, j) => (j === i ? s : x)) };
};

const sparse: unknown[] = [1, 2];
sparse[4] = 5;
class Row {
  a = 1;
}
const nullProto = Object.assign(Object.create(null) as object, { a: 1 });

describe('checkPayload refuses what PayloadSchema refuses, without copying', () => {
  it('accepts the well-formed v2 payload, and returns the very object', () => {
    expect(both(v2)).toEqual({ schema: true, check: true });
    expect(checkPayload(v2)).toBe(v2);
  });

  it.each<[string, unknown]>([
    ['a wrong schema tag', { ...v2, schema: 'logstag.payload/v3' }],
    ['a v2 payload without sequence', { ...v2, sequence: undefined }],
    ['a v2 payload without families', { ...v2, families: undefined }],
    ['a family listed twice', { ...v2, families: ['schema', 'schema', 'server_stats', 'query_stats'] }],
    ['a signal whose family is not listed', { ...v2, families: ['server_stats', 'query_stats'] }],
    ['a non-integer sequence', { ...v2, sequence: 1.5 }],
    ['a sequence of 0', { ...v2, sequence: 0 }],
    ['a sequence that is a string', { ...v2, sequence: '3' }],
    ['a non-ISO time', { ...v2, collectedAt: 'yesterday' }],
    ['an unknown engine', { ...v2, target: { ...v2.target, engine: 'mysql' } }],
    ['an empty agent id', { ...v2, agent: { ...v2.agent, id: '' } }],
    ['an extra top-level field', { ...v2, extra: 1 }],
    ['an extra target field', { ...v2, target: { ...v2.target, password: 'x' } }],
    ['signals that are not an array', { ...v2, signals: {} }],
    ['a duplicate signal id', { ...v2, signals: [v2.signals[0], v2.signals[0]] }],
    ['an unknown status', withSignal(0, { status: 'maybe' })],
    ['an unknown family', withSignal(0, { family: 'disk' })],
    ['an ok signal without mode (v2)', withSignal(0, {}, ['mode'])],
    ['an unknown mode', withSignal(0, { mode: 'partial' })],
    ['a full signal without value', withSignal(0, {}, ['value'])],
    ['an unchanged signal with a value', withSignal(2, { value: [] })],
    ['a delta without base', withSignal(1, {}, ['base'])],
    ['a delta without digest', withSignal(1, {}, ['digest'])],
    ['a malformed digest', withSignal(1, { digest: 'sha256:xyz' })],
    ['a base that is not earlier', withSignal(1, { base: { sequence: 3, collectedAt: '2026-12-06T09:59:45.000Z' } })],
    ['a base with an extra field', withSignal(1, { base: { sequence: 2, collectedAt: '2026-12-06T09:59:45.000Z', x: 1 } })],
    ['a full value with a base', withSignal(0, { base: { sequence: 1, collectedAt: '2026-12-06T09:50:00.000Z' } })],
    ['a baseline on a delta', withSignal(1, { baseline: 'first' })],
    ['an unknown baseline reason', withSignal(0, { baseline: 'whim' })],
    ['an unknown policy action', withSignal(0, { policy: { version: 'hide' } })],
    ['an unavailable signal without reason', withSignal(3, {}, ['reason'])],
    ['an unavailable signal with an unknown reason', withSignal(3, { reason: 'nope' })],
    ['an unavailable signal with an empty detail', withSignal(3, { detail: '' })],
    ['a value on an unavailable signal', withSignal(3, { value: 0 })],
    ['a policy on an unavailable signal', withSignal(3, { policy: { x: 'exclude' } })],
    ['an extra signal field', withSignal(0, { raw: 'secret' })],
    ['NaN in a value', withSignal(0, { value: { x: Number.NaN } })],
    ['Infinity in a value', withSignal(0, { value: { x: Number.POSITIVE_INFINITY } })],
    ['-Infinity deep in rows', withSignal(0, { value: [{ a: [1, { b: Number.NEGATIVE_INFINITY }] }] })],
    ['undefined in a row', withSignal(0, { value: [{ a: undefined }] })],
    ['undefined in an array', withSignal(0, { value: [1, undefined] })],
    ['a hole in an array', withSignal(0, { value: sparse })],
    ['a Date', withSignal(0, { value: { t: new Date(0) } })],
    ['a bigint', withSignal(0, { value: { n: 10n } })],
    ['a Buffer', withSignal(0, { value: { b: Buffer.from('x') } })],
    ['a Map', withSignal(0, { value: new Map([['a', 1]]) })],
    ['a class instance', withSignal(0, { value: [new Row()] })],
    ['a function', withSignal(0, { value: { f: () => 1 } })],
    ['an object with toJSON', withSignal(0, { value: { toJSON: () => 'x' } })],
    ['a boxed string', withSignal(0, { value: Object('x') as unknown })],
    ['an enumerable symbol key', withSignal(0, { value: { [Symbol('s')]: 1 } })],
    ['a symbol value', withSignal(0, { value: { s: Symbol('s') } })],
  ])('refuses %s', (_name, p) => {
    expect(both(p)).toEqual({ schema: false, check: false });
  });

  it('accepts what the schema accepts at the edges: null prototype, -0, lone surrogates, empty containers', () => {
    for (const value of [nullProto, { z: -0 }, { s: '\ud800' }, [], {}, [[[]]], { a: { b: { c: [null] } } }, 0, '', false, null])
      expect(both(withSignal(0, { value }))).toEqual({ schema: true, check: true });
  });

  it('is stricter than the schema on an own __proto__ key (zod would drop it from its copy; the original would ship it)', () => {
    const value = JSON.parse('{"__proto__": {"admin": true}, "a": 1}') as unknown;
    expect(PayloadSchema.safeParse(withSignal(0, { value })).success).toBe(true);
    expect(() => checkPayload(withSignal(0, { value }))).toThrow();
  });

  it('gives the same answer as the schema on 3,000 generated payloads', () => {
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const leaves: (() => unknown)[] = [
      () => 'text',
      () => Math.floor(rnd() * 1e6),
      () => rnd() * 100,
      () => null,
      () => true,
      () => -0,
      () => Number.MAX_VALUE,
      // What the schema refuses, at a small rate each.
      () => (rnd() < 0.5 ? Number.NaN : Number.POSITIVE_INFINITY),
      () => undefined,
      () => new Date(0),
      () => 1n,
      () => new Row(),
      () => Symbol('x'),
    ];
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 3 || r < 0.4) {
        const good = rnd() < 0.97;
        return good ? pick(leaves.slice(0, 7))() : pick(leaves.slice(7))();
      }
      if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rnd() * 4); i++) o[pick(['a', 'b', 'name', 'x y', '1', 'constructor'])] = value(depth + 1);
      return o;
    };
    const mutate = (p: Record<string, unknown>): unknown => {
      if (rnd() < 0.6) return p;
      const signals = p.signals as Record<string, unknown>[];
      const i = Math.floor(rnd() * signals.length);
      const s = { ...signals[i]! };
      const k = pick(['status', 'mode', 'family', 'reason', 'detail', 'base', 'digest', 'value', 'id', 'policy', 'baseline', 'extra']);
      const choice = rnd();
      if (choice < 0.3) delete s[k];
      else s[k] = choice < 0.6 ? value(1) : pick(['ok', 'full', 'delta', 'unchanged', 'schema', 'error', '', 'first', 0, 1, null]);
      return { ...p, signals: signals.map((x, j) => (j === i ? s : x)) };
    };
    let agreed = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const base = structuredClone({ ...v2, signals: v2.signals.slice(0, 2).concat(v2.signals.slice(3)) }) as Record<string, unknown>;
      (base.signals as Record<string, unknown>[])[0]!.value = value(0);
      const p = mutate(base);
      const r = both(p);
      expect(
        r.check,
        JSON.stringify(p, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)),
      ).toBe(r.schema);
      agreed++;
      if (!r.schema) refused++;
    }
    expect(agreed).toBe(3000);
    // Both answers were exercised.
    expect(refused).toBeGreaterThan(300);
    expect(refused).toBeLessThan(2700);
  });

  it('checks the values in buildPayload: a row with NaN, a Date or undefined never becomes a payload', () => {
    const spec = defineSignal<unknown, Record<string, unknown>>({
      id: 's',
      family: 'config',
      description: '',
      requires: [],
      shape: 'rows',
      read: async () => [],
      fields: { a: null },
    });
    const ctx = { agent: v2.agent, target: { id: 'pg', engine: 'postgres' as const, name: 'pg' }, collectedAt: new Date('2026-12-06T10:00:00Z') };
    const asRead = (_spec: unknown, value: unknown) => ({ value });
    for (const bad of [Number.NaN, new Date(0), undefined, Number.NEGATIVE_INFINITY, 1n])
      expect(() => buildPayload(ctx, [{ spec, result: { status: 'ok', value: [{ a: 1 }, { a: bad }] }, durationMs: 1 }], asRead)).toThrow();
  });
});

describe('one payload object, one text', () => {
  const spec = defineSignal<unknown, Record<string, unknown>>({
    id: 'fake.rows',
    family: 'schema',
    description: '',
    requires: [],
    shape: 'rows',
    read: async () => [],
    fields: { name: 'object_names', n: null },
  });
  const ctx = { agent: v2.agent, target: { id: 'pg', engine: 'postgres' as const, name: 'pg' }, collectedAt: new Date('2026-12-06T10:00:00Z') };
  const rows = Array.from({ length: 5000 }, (_, i) => ({ name: `t_${i} "quoted" \u2028`, n: i / 3 }));
  const outcomes: SignalOutcome[] = [{ spec: spec as AnySignalSpec<unknown>, result: { status: 'ok', value: rows }, durationMs: 1 }];

  it('buildPayload keeps the rows it was given (no copy) and freezes the payload, so its bytes cannot change after they are made', () => {
    const p = buildPayload(ctx, outcomes, (_s, value) => ({ value }));
    const value = (p.signals[0] as { value: unknown[] }).value;
    expect(value).toBe(rows);
    expect(Object.isFrozen(p) && Object.isFrozen(p.signals) && Object.isFrozen(p.signals[0]) && Object.isFrozen(value) && Object.isFrozen(value[4999])).toBe(
      true,
    );
    const text = serializePayload(p);
    expect(text).toBe(JSON.stringify(p));
    // The same string, not a second serialisation.
    expect(serializePayload(p)).toBe(text);
    expect(() => {
      (value[0] as { n: number }).n = 99;
    }).toThrow(TypeError);
    expect(() => {
      (p as { sequence?: number }).sequence = 7;
    }).toThrow(TypeError);
    expect(serializePayload(p)).toBe(JSON.stringify(p));
  });

  it('writePayload hands over exactly the bytes of serializePayload, in pieces, whatever the piece size', () => {
    for (const size of [1, 7, 100, 4096, 1 << 16]) {
      const p = buildPayload(ctx, outcomes, (_s, value) => ({ value }));
      const pieces: string[] = [];
      writePayload(p, (c) => pieces.push(c), size);
      expect(pieces.join('')).toBe(JSON.stringify(p));
      expect(Math.max(...pieces.map((c) => c.length))).toBeLessThan(size + 4096);
      // Once the text exists, the pieces are its slices.
      serializePayload(p);
      const again: string[] = [];
      writePayload(p, (c) => again.push(c), size);
      expect(again.join('')).toBe(JSON.stringify(p));
    }
    // A payload read back (not built here, not frozen): the same text too, deltas, unchanged and unavailable signals included.
    const read = PayloadSchema.parse(structuredClone(v2)) as Payload;
    const pieces: string[] = [];
    writePayload(read, (c) => pieces.push(c), 5);
    expect(pieces.join('')).toBe(JSON.stringify(read));
    expect(serializePayload(read)).toBe(JSON.stringify(read));
  });

  it('isJsonValue walks no deeper than 256 levels (nothing a collector reads nests that deep)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(isJsonValue(deep)).toBe(false);
    let ok: unknown = 1;
    for (let i = 0; i < 200; i++) ok = { a: ok };
    expect(isJsonValue(ok)).toBe(true);
    expect(FAMILIES.length).toBeGreaterThan(0);
  });
});
