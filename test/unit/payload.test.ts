import { describe, expect, it } from 'vitest';
import { buildPayload, PAYLOAD_SCHEMA, PayloadSchema, PayloadV1Schema } from '../../collectors/core/payload.js';
import { defineSignal, unavailable } from '../../collectors/core/signal.js';

const valid = {
  schema: 'logstag.payload/v1',
  agent: { id: 'a1', version: '0.1.0', host: 'jump-1' },
  target: { id: 'pg', engine: 'postgres', name: 'Main' },
  collectedAt: '2026-11-26T10:00:00.000Z',
  signals: [
    { id: 'postgres.server', family: 'server_stats', status: 'ok', value: { version: '15.18' } },
    { id: 'postgres.activity', family: 'activity', status: 'unavailable', reason: 'permission', detail: 'masked', fix: 'GRANT pg_read_all_stats TO m;' },
  ],
};

describe('payload v1', () => {
  it('accepts a well-formed payload', () => {
    expect(PayloadV1Schema.safeParse(valid).success).toBe(true);
  });

  it.each([
    ['a wrong schema tag', { ...valid, schema: 'logstag.payload/v3' }],
    ['v2 fields under the v1 tag', { ...valid, sequence: 1, families: ['server_stats', 'activity'] }],
    ['an ok signal without value', { ...valid, signals: [{ id: 'x', family: 'config', status: 'ok' }] }],
    ['an unavailable signal without reason', { ...valid, signals: [{ id: 'x', family: 'config', status: 'unavailable', detail: 'd' }] }],
    ['an unknown reason', { ...valid, signals: [{ id: 'x', family: 'config', status: 'unavailable', reason: 'nope', detail: 'd' }] }],
    ['a value on an unavailable signal', { ...valid, signals: [{ id: 'x', family: 'config', status: 'unavailable', reason: 'error', detail: 'd', value: 0 }] }],
    ['a duplicate signal id', { ...valid, signals: [valid.signals[0], valid.signals[0]] }],
    ['a non-ISO time', { ...valid, collectedAt: 'yesterday' }],
    ['an unknown engine', { ...valid, target: { ...valid.target, engine: 'mysql' } }],
    ['an extra top-level field', { ...valid, extra: 1 }],
    ['an unknown policy action', { ...valid, signals: [{ ...valid.signals[0], policy: { version: 'hide' } }] }],
    ['a policy on an unavailable signal', { ...valid, signals: [{ ...valid.signals[1], policy: { x: 'exclude' } }] }],
  ])('rejects %s', (_name, p) => {
    expect(PayloadV1Schema.safeParse(p).success).toBe(false);
  });

  it('builds from outcomes and refuses values that are not JSON', () => {
    const spec = defineSignal<unknown, { t: unknown }>({
      id: 's',
      family: 'config',
      description: '',
      requires: [],
      shape: 'object',
      read: async () => [],
      fields: { t: null },
    });
    const ctx = { agent: valid.agent, target: { id: 'pg', engine: 'postgres' as const, name: 'pg' }, collectedAt: new Date('2026-11-26T10:00:00Z') };
    const asRead = (_spec: unknown, value: unknown) => ({ value });
    const p = buildPayload(ctx, [{ spec, result: { status: 'ok', value: { t: 1 } }, durationMs: 1 }], asRead);
    expect(p.schema).toBe(PAYLOAD_SCHEMA);
    expect(p.signals[0]).toEqual({ id: 's', family: 'config', status: 'ok', mode: 'full', value: { t: 1 } });
    const withDown = buildPayload(ctx, [{ spec, result: unavailable('timeout', 'slow'), durationMs: 1 }], asRead);
    expect(withDown.signals[0]).toEqual({ id: 's', family: 'config', status: 'unavailable', reason: 'timeout', detail: 'slow' });
    expect(() => buildPayload(ctx, [{ spec, result: { status: 'ok', value: { t: new Date() } }, durationMs: 1 }], asRead)).toThrow();
    // The policy's account of a signal travels with it, and only as the schema names it.
    const shaped = buildPayload(ctx, [{ spec, result: { status: 'ok', value: { t: 1 } }, durationMs: 1 }], () => ({ value: {}, policy: { t: 'exclude' } }));
    expect(shaped.signals[0]).toEqual({ id: 's', family: 'config', status: 'ok', mode: 'full', value: {}, policy: { t: 'exclude' } });
    expect(() =>
      buildPayload(ctx, [{ spec, result: { status: 'ok', value: { t: 1 } }, durationMs: 1 }], () => ({ value: {}, policy: { t: 'hide' as 'exclude' } })),
    ).toThrow();
  });
});

const v2 = {
  ...valid,
  schema: 'logstag.payload/v2',
  sequence: 7,
  families: ['server_stats', 'activity', 'schema'],
  signals: [
    { id: 'postgres.server', family: 'server_stats', status: 'ok', mode: 'full', value: { version: '15.18' } },
    { id: 'postgres.activity', family: 'activity', status: 'unavailable', reason: 'permission', detail: 'masked' },
    {
      id: 'postgres.tables',
      family: 'schema',
      status: 'ok',
      mode: 'unchanged',
      base: { sequence: 6, collectedAt: '2026-11-26T09:59:00.000Z' },
      digest: `sha256:${'a'.repeat(64)}`,
    },
  ],
};

describe('payload v2', () => {
  it('accepts a well-formed payload', () => {
    expect(PayloadSchema.parse(v2)).toEqual(v2);
  });

  const [server, activity, tables] = v2.signals;
  it.each([
    ['no sequence', { ...v2, sequence: undefined }],
    ['no families', { ...v2, families: undefined }],
    ['a signal of a family it does not cover', { ...v2, families: ['server_stats', 'activity'] }],
    ['a family listed twice', { ...v2, families: [...v2.families, 'schema'] }],
    ['an ok signal without mode', { ...v2, signals: [{ ...server, mode: undefined }, activity, tables] }],
    ['an unchanged signal with a value', { ...v2, signals: [server, activity, { ...tables, value: [] }] }],
    ['an unchanged signal without base', { ...v2, signals: [server, activity, { ...tables, base: undefined }] }],
    ['an unchanged signal without digest', { ...v2, signals: [server, activity, { ...tables, digest: undefined }] }],
    ['a delta without value', { ...v2, signals: [server, activity, { ...tables, mode: 'delta' }] }],
    ['a base that is not earlier', { ...v2, signals: [server, activity, { ...tables, base: { ...tables!.base!, sequence: 7 } }] }],
    ['a full value with a base', { ...v2, signals: [{ ...server, base: tables!.base }, activity, tables] }],
    ['a baseline on a delta', { ...v2, signals: [server, activity, { ...tables, mode: 'delta', value: {}, baseline: 'reset' }] }],
    ['a malformed digest', { ...v2, signals: [server, activity, { ...tables, digest: 'md5:00' }] }],
  ])('rejects %s', (_name, p) => {
    expect(PayloadSchema.safeParse(p).success).toBe(false);
  });

  it('says which families it covers: those given, and every family of a signal it carries', () => {
    const spec = defineSignal<unknown, { t: unknown }>({
      id: 's',
      family: 'config',
      description: '',
      requires: [],
      shape: 'object',
      read: async () => [],
      fields: { t: null },
    });
    const ctx = { agent: valid.agent, target: { id: 'pg', engine: 'postgres' as const, name: 'pg' }, collectedAt: new Date('2026-11-26T10:00:00Z') };
    const p = buildPayload(
      { ...ctx, sequence: 3, families: ['activity'] },
      [{ spec, result: { status: 'ok', value: { t: 1 } }, durationMs: 1 }],
      (_s, value) => ({ value }),
    );
    expect(p).toMatchObject({ sequence: 3, families: ['activity', 'config'] });
  });
});
