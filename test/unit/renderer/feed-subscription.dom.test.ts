// @vitest-environment happy-dom
// One feed subscription per window, however many listeners (the Live feed, the charts, the
// dashboard's feed): the agent sends each entry to the window once. The bridge here is a
// stand-in shaped as the preload's window.logstag (call → { ok, result | error }, onEvent).
/// <reference lib="dom" />
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FeedEvent } from '../../../contract/api.js';
import { subscribeFeed, type FeedHandlers } from '../../../renderer/src/api.js';

afterEach(() => vi.unstubAllGlobals());

function bridge(answer: (method: string) => Promise<unknown>) {
  const calls: Array<{ method: string; params: unknown }> = [];
  const listeners = new Set<(e: FeedEvent) => void>();
  vi.stubGlobal('logstag', {
    call: async (method: string, params: unknown) => (calls.push({ method, params }), answer(method)),
    onEvent: (cb: (e: FeedEvent) => void) => (listeners.add(cb), () => listeners.delete(cb)),
  });
  const emit = (subscription: string, entry: number) => {
    for (const cb of [...listeners]) cb({ subscription, entry: { entry } } as unknown as FeedEvent);
  };
  return { calls, listeners, emit };
}
const ok = (result: unknown) => Promise.resolve({ ok: true, result });
const settle = () => new Promise((r) => setTimeout(r, 0));
function listener() {
  const seen: number[] = [];
  const live: string[] = [];
  const failed: string[] = [];
  const h: FeedHandlers = { event: (e) => seen.push(e.entry.entry), live: (id) => live.push(id), failed: (m) => failed.push(m) };
  return { h, seen, live, failed };
}

describe('the window’s one feed subscription', () => {
  it('two listeners: one feed.subscribe, every entry to both once, one feed.unsubscribe after the last leaves', async () => {
    const b = bridge((m) => ok(m === 'feed.subscribe' ? { subscription: 's1' } : { unsubscribed: true }));
    const a = listener();
    const c = listener();
    const stopA = subscribeFeed(a.h);
    b.emit('s1', 0); // before the answer: held, then delivered
    const stopC = subscribeFeed(c.h);
    await settle();
    b.emit('s1', 1);
    b.emit('other', 2); // another window's subscription: not ours
    expect(b.calls.filter((x) => x.method === 'feed.subscribe')).toHaveLength(1);
    expect(b.listeners.size).toBe(1);
    expect(a.seen).toEqual([0, 1]);
    expect(c.seen).toEqual([0, 1]);
    expect([a.live, c.live]).toEqual([['s1'], ['s1']]);
    // A listener that comes later is told the id and gets the entries from then on.
    const d = listener();
    const stopD = subscribeFeed(d.h);
    expect(d.live).toEqual(['s1']);
    b.emit('s1', 3);
    expect(d.seen).toEqual([3]);
    stopA();
    stopD();
    expect(b.calls.filter((x) => x.method === 'feed.unsubscribe')).toHaveLength(0);
    b.emit('s1', 4);
    expect(c.seen).toEqual([0, 1, 3, 4]);
    stopC();
    expect(b.calls.filter((x) => x.method === 'feed.unsubscribe')).toEqual([{ method: 'feed.unsubscribe', params: { subscription: 's1' } }]);
    expect(b.listeners.size).toBe(0);
  });

  it('every listener gone before the agent answered: the subscription is ended when the answer comes', async () => {
    let answer!: (v: unknown) => void;
    const b = bridge((m) => (m === 'feed.subscribe' ? new Promise((r) => (answer = r)) : ok({ unsubscribed: true })));
    const a = listener();
    subscribeFeed(a.h)();
    answer({ ok: true, result: { subscription: 's2' } });
    await settle();
    expect(b.calls.map((x) => x.method)).toEqual(['feed.subscribe', 'feed.unsubscribe']);
    expect(a.live).toEqual([]);
  });

  it('a refused subscription tells every listener; the next listener asks again', async () => {
    let refuse = true;
    const b = bridge((m) =>
      m === 'feed.subscribe' && refuse ? Promise.resolve({ ok: false, error: { code: 'internal', message: 'no feed here' } }) : ok({ subscription: 's3' }),
    );
    const a = listener();
    const c = listener();
    const stopA = subscribeFeed(a.h);
    const stopC = subscribeFeed(c.h);
    await settle();
    expect([a.failed, c.failed]).toEqual([['no feed here'], ['no feed here']]);
    stopA();
    stopC();
    refuse = false;
    const d = listener();
    const stopD = subscribeFeed(d.h);
    await settle();
    expect(d.live).toEqual(['s3']);
    expect(b.calls.filter((x) => x.method === 'feed.subscribe')).toHaveLength(2);
    stopD();
  });
});
