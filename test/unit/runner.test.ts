import { describe, expect, it } from 'vitest';
import { runSignals } from '../../collectors/core/runner.js';
import { defineSignal, SignalUnavailable, unavailable, type AnySignalSpec } from '../../collectors/core/signal.js';

type S = { calls: string[] };
const spec = (id: string, read: (s: S) => Promise<Record<string, unknown>[]>, extra: Partial<AnySignalSpec<S>> = {}): AnySignalSpec<S> =>
  defineSignal<S, Record<string, unknown>>({ id, family: 'server_stats', description: id, requires: [], shape: 'rows', read, fields: {}, ...extra });

const mapError = (err: unknown) => unavailable('error', `mapped: ${(err as Error).message}`);

describe('runSignals', () => {
  it('returns ok rows, object rows, and tri-state failures per signal', async () => {
    const session: S = { calls: [] };
    const out = await runSignals(
      [
        spec('a', async () => [{ x: 1 }]),
        spec('b', async () => [{ v: '15' }], { shape: 'object' }),
        spec('c', async () => [], { shape: 'object' }),
        spec('d', async () => {
          throw new SignalUnavailable('permission', 'masked', 'GRANT x TO y;');
        }),
        spec('e', async () => {
          throw new Error('boom');
        }),
      ],
      session,
      { timeoutMs: 1000, mapError },
    );
    expect(out.map((o) => o.result)).toEqual([
      { status: 'ok', value: [{ x: 1 }] },
      { status: 'ok', value: { v: '15' } },
      { status: 'unavailable', reason: 'error', detail: 'the server returned no row' },
      { status: 'unavailable', reason: 'permission', detail: 'masked', fix: 'GRANT x TO y;' },
      { status: 'unavailable', reason: 'error', detail: 'mapped: boom' },
    ]);
  });

  it('times a hung signal out and does not queue the rest behind it', async () => {
    let laterRead = false;
    const out = await runSignals(
      [
        spec('hang', () => new Promise(() => {})),
        spec('after', async () => {
          laterRead = true;
          return [{}];
        }),
      ],
      { calls: [] },
      { timeoutMs: 50, mapError },
    );
    expect(out[0]!.result).toMatchObject({ status: 'unavailable', reason: 'timeout' });
    expect(out[1]!.result).toMatchObject({ status: 'unavailable', reason: 'timeout' });
    expect(laterRead).toBe(false);
  });

  it('never reads opt-in signals the operator has not enabled', async () => {
    let read = 0;
    const r = async () => {
      read++;
      return [{}];
    };
    const out = await runSignals([spec('op', r, { optIn: 'operator' }), spec('lic', r, { optIn: 'license' })], { calls: [] }, { timeoutMs: 100, mapError });
    expect(read).toBe(0);
    expect(out.map((o) => o.result.status === 'unavailable' && o.result.reason)).toEqual(['disabled', 'not_licensed']);
    const enabled = await runSignals([spec('op', r, { optIn: 'operator' })], { calls: [] }, { timeoutMs: 100, mapError, isOptedIn: () => true });
    expect(enabled[0]!.result.status).toBe('ok');
    expect(read).toBe(1);
  });
});
