import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../collectors/core/policy.js';
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

describe('runSignals on a pipelined session', () => {
  const later = <T>(ms: number, v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), ms));
  const pipelined = (): S & { pipelined: true } => ({ calls: [], pipelined: true });

  it('starts every read at once and keeps the catalog order in the outcomes', async () => {
    const started: string[] = [];
    let startedAtFirstAnswer = 0;
    const read = (id: string, ms: number) =>
      spec(id, async () => {
        started.push(id);
        const rows = await later(ms, [{ id }]);
        startedAtFirstAnswer ||= started.length;
        return rows;
      });
    const out = await runSignals([read('a', 30), read('b', 10), read('c', 20)], pipelined(), { timeoutMs: 1000, mapError });
    // All three started before any answered (in turn, b would start only after a's answer).
    expect(startedAtFirstAnswer).toBe(3);
    expect(out.map((o) => o.spec.id)).toEqual(['a', 'b', 'c']);
    expect(out.every((o) => o.result.status === 'ok')).toBe(true);
  });

  it('counts the client-side limit from the last answer: reads queued behind others are not late', async () => {
    // Answers 80 ms apart, 240 ms in all, with a 150 ms limit: never 150 ms without progress.
    const out = await runSignals([spec('a', () => later(80, [{}])), spec('b', () => later(160, [{}])), spec('c', () => later(240, [{}]))], pipelined(), {
      timeoutMs: 150,
      mapError,
    });
    expect(out.map((o) => o.result.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('when nothing answers for the limit, the reads still waiting time out (the first named) and late answers are ignored', async () => {
    const out = await runSignals(
      [
        spec('a', () => later(20, [{}])),
        spec('b', () => later(400, [{ late: true }])),
        spec('c', () => new Promise(() => {})),
        spec('x', async () => [{}], { fields: { secret: 'query_text' } }),
      ],
      pipelined(),
      { timeoutMs: 100, mapError, policy: { ...DEFAULT_POLICY, query_text: 'exclude' } },
    );
    expect(out[0]!.result.status).toBe('ok');
    expect(out[1]!.result).toEqual({ status: 'unavailable', reason: 'timeout', detail: 'no answer within 100 ms' });
    expect(out[2]!.result).toEqual({ status: 'unavailable', reason: 'timeout', detail: 'not read: the session was abandoned after b timed out' });
    // Excluded by the policy: not read at all, as in turn-by-turn reading.
    expect(out[3]!.result).toMatchObject({ status: 'unavailable', reason: 'disabled' });
    await later(350, null);
    expect(out[1]!.result.status).toBe('unavailable');
  });
});
