import { describe, expect, it } from 'vitest';
import { StagedMemory, type JsonValue } from '../../collectors/core/memory.js';

/*
 * The payload path reads the shipped state through view() (no copy) and stores it with a
 * deep-frozen value (no JSON round trip). The attack: a stored value that changes behind the
 * memory's back, or one that is not what a file would hold.
 */
const deepFreeze = <T>(v: T): T => {
  if (typeof v === 'object' && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
};

describe('StagedMemory: views without copies, never a value that can change', () => {
  it('view() is the stored value, frozen: it cannot be changed through the view', () => {
    const m = new StagedMemory({ k: { rows: [{ a: 1 }] } });
    const v = m.view('k') as { rows: { a: number }[] };
    expect(v).toEqual({ rows: [{ a: 1 }] });
    expect(() => {
      v.rows[0]!.a = 2;
    }).toThrow(TypeError);
    expect(m.get('k')).toEqual({ rows: [{ a: 1 }] });
    // get() still hands out a copy a collector may change freely.
    const g = m.get('k') as { rows: { a: number }[] };
    g.rows[0]!.a = 3;
    expect(m.view('k')).toEqual({ rows: [{ a: 1 }] });
  });

  it('a value that is not frozen is copied in: the caller changing it later changes nothing stored', () => {
    const m = new StagedMemory();
    const value = { rows: [{ a: 1 }] };
    m.set('k', value);
    value.rows[0]!.a = 99;
    value.rows.push({ a: 5 });
    expect(m.view('k')).toEqual({ rows: [{ a: 1 }] });
    expect(m.snapshot()).toEqual({ k: { rows: [{ a: 1 }] } });
  });

  it('a deep-frozen JSON value is kept as it is (it cannot change); one frozen only at the top is copied', () => {
    const m = new StagedMemory();
    const frozen = deepFreeze({ rows: [{ a: 1 }] });
    m.set('k', frozen);
    expect(m.view('k')).toBe(frozen);
    const shallow = Object.freeze({ rows: [{ a: 1 }] });
    m.set('s', shallow);
    expect(m.view('s')).not.toBe(shallow);
    shallow.rows[0]!.a = 2;
    expect(m.view('s')).toEqual({ rows: [{ a: 1 }] });
  });

  it('what is kept is what a file would hold: -0, undefined fields and Dates go through JSON even when frozen', () => {
    const m = new StagedMemory();
    m.set('z', deepFreeze({ n: -0, u: undefined, d: new Date(0) }) as unknown as JsonValue);
    const z = m.view('z') as Record<string, unknown>;
    expect(Object.is(z.n, 0)).toBe(true);
    expect('u' in z).toBe(false);
    expect(z.d).toBe('1970-01-01T00:00:00.000Z');
    expect(m.view('missing')).toBeUndefined();
  });
});
