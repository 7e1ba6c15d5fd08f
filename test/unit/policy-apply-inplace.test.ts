import { describe, expect, it } from 'vitest';
import { CATEGORIES, type Category } from '../../collectors/core/category.js';
import { buildPayload, serializePayload } from '../../collectors/core/payload.js';
import { type EffectivePolicy, resolvePolicy } from '../../collectors/core/policy.js';
import { applyPolicy } from '../../collectors/core/redact/apply.js';
import { NameHasher } from '../../collectors/core/redact/names.js';
import { type AnySignalSpec, defineSignal } from '../../collectors/core/signal.js';

/*
 * The policy no longer copies every row: a row it leaves as read is shipped as the very
 * object read. The attack is on that shortcut: a field the catalog does not tag, a row that
 * is not a plain object, a policy that redacts one field — none of them may ship as read.
 */

const names = new NameHasher(Buffer.alloc(32, 3));
const all = (action: 'collect' | 'redact' | 'exclude'): EffectivePolicy => resolvePolicy(Object.fromEntries(CATEGORIES.map((c) => [c, action])));
const spec = (fields: Record<string, Category | null>): AnySignalSpec<unknown> =>
  defineSignal<unknown, Record<string, unknown>>({
    id: 'fake.tables',
    family: 'schema',
    description: '',
    requires: [],
    shape: 'rows',
    read: async () => [],
    fields,
  });
const tables = spec({ schema: 'object_names', name: 'object_names', rows: null });
const collect = { policy: all('collect'), engine: 'postgres' as const, names };

describe('applyPolicy ships rows as read only when the policy leaves them as read', () => {
  it('keeps the rows (and the array) it was given when every field is collected and tagged', () => {
    const rows = [
      { schema: 'public', name: 't1', rows: 5 },
      { schema: 'public', name: 't2', rows: null },
    ];
    const out = applyPolicy(tables, rows, collect);
    expect(out.value).toBe(rows);
    expect(out.policy).toBeUndefined();
  });

  it('still drops a field the catalog does not tag, from that row, on a copy (the read row is untouched)', () => {
    const rows = [
      { schema: 'public', name: 't1', rows: 5 },
      { schema: 'public', name: 't2', rows: 1, password: 'hunter2' },
    ];
    const out = applyPolicy(tables, rows, collect).value as Record<string, unknown>[];
    expect(out).not.toBe(rows);
    expect(out[0]).toBe(rows[0]);
    expect(out[1]).toEqual({ schema: 'public', name: 't2', rows: 1 });
    expect(rows[1]).toHaveProperty('password', 'hunter2');
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  it('drops an untagged field of a single-object value too', () => {
    const out = applyPolicy(tables, { schema: 's', name: 'n', rows: 1, secret: 'x' }, collect).value;
    expect(out).toEqual({ schema: 's', name: 'n', rows: 1 });
  });

  it('copies a row that is not a plain object (a class instance, a null-prototype object with an inherited untagged field)', () => {
    class Row {
      schema = 's';
      name = 'n';
      rows = 1;
    }
    const inherited = Object.assign(Object.create({ secret: 'x' }) as object, { schema: 's', name: 'n', rows: 1 });
    const rows = [new Row(), inherited];
    const out = applyPolicy(tables, rows, collect).value as object[];
    expect(out[0]).not.toBe(rows[0]);
    expect(Object.getPrototypeOf(out[0])).toBe(Object.prototype);
    expect(out[1]).not.toBe(rows[1]);
    expect(out[1]).toEqual({ schema: 's', name: 'n', rows: 1 });
  });

  it.each([
    ['redacts', 'redact'],
    ['excludes', 'exclude'],
  ] as const)('copies every row when the policy %s a field, and never alters the row as read', (_n, action) => {
    const rows = [{ schema: 'public', name: 'orders', rows: 5 }];
    const out = applyPolicy(tables, rows, { ...collect, policy: resolvePolicy({ object_names: action }) });
    const row = (out.value as Record<string, unknown>[])[0]!;
    expect(row).not.toBe(rows[0]);
    expect(rows[0]).toEqual({ schema: 'public', name: 'orders', rows: 5 });
    expect(JSON.stringify(out.value)).not.toContain('orders');
    expect(out.policy).toEqual({ schema: action, name: action });
  });

  it('a payload built from rows shipped as read freezes them: a later change to a row cannot alter what the spool and the preview already hold', () => {
    const rows = [{ schema: 'public', name: 't1', rows: 5 }];
    const p = buildPayload(
      { agent: { id: 'a', version: '1', host: 'h' }, target: { id: 't', engine: 'postgres', name: 't' }, collectedAt: new Date('2026-12-06T00:00:00Z') },
      [{ spec: tables, result: { status: 'ok', value: rows }, durationMs: 1 }],
      (s, v) => applyPolicy(s, v, collect),
    );
    const before = serializePayload(p);
    expect(() => {
      rows[0]!.name = 'changed';
    }).toThrow(TypeError);
    expect(JSON.stringify(p)).toBe(before);
  });
});
