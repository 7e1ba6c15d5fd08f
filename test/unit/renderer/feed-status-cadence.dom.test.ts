// @vitest-environment happy-dom
// While previews stream, the Live feed asks the window to re-read the agent's status
// (where each payload is: spooled, sent) at most once a second, and once more after
// the last preview, so the last rows' states are read. Each read carries the last
// 500 payloads' states and redraws every row: at four reads a second, a burst of
// previews made late frames on which the rest piled up (docs/live-feed-frames.md).
/// <reference lib="dom" />
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FeedEvent } from '../../../contract/api.js';
import FeedPanel from '../../../renderer/src/lib/FeedPanel.svelte';
import LiveFeed from '../../../renderer/src/lib/LiveFeed.svelte';

let mounted: Record<string, unknown> | undefined;
beforeEach(() =>
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'requestAnimationFrame', 'cancelAnimationFrame', 'performance', 'Date'] }),
);
afterEach(() => {
  if (mounted) unmount(mounted);
  mounted = undefined;
  document.body.innerHTML = '';
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const event = (i: number): FeedEvent => ({
  subscription: 's1',
  entry: {
    entry: i,
    targetId: 't1',
    target: 'Target 1',
    engine: 'postgres',
    collectedAt: new Date(Date.UTC(2026, 11, 6, 7, 0, 0, i)).toISOString(),
    ok: 1,
    unavailable: 0,
    fields: [],
    bytes: 100,
  },
});

/** Mounts a feed component, streams 300 previews 10 ms apart, and returns when the status reads were asked for. */
async function stream(component: typeof LiveFeed | typeof FeedPanel, received: RegExp) {
  const listeners = new Set<(e: FeedEvent) => void>();
  vi.stubGlobal('logstag', {
    call: async (method: string) => ({ ok: true, result: method === 'feed.subscribe' ? { subscription: 's1' } : { unsubscribed: true } }),
    onEvent: (cb: (e: FeedEvent) => void) => (listeners.add(cb), () => listeners.delete(cb)),
  });
  const reads: number[] = [];
  const target = document.createElement('div');
  document.body.append(target);
  mounted = mount(component, { target, props: { onpayload: () => reads.push(performance.now()) } });
  flushSync();
  await vi.advanceTimersByTimeAsync(10); // feed.subscribe answers
  const start = performance.now();
  let lastArrival = start;
  for (let i = 0; i < 300; i++) {
    for (const cb of listeners) cb(event(i));
    lastArrival = performance.now();
    await vi.advanceTimersByTimeAsync(10);
  }
  const lastPreview = performance.now();
  await vi.advanceTimersByTimeAsync(2_000);
  expect(target.textContent).toMatch(received);
  return { reads, start, lastArrival, lastPreview };
}

describe('the dashboard feed: the status re-read while previews stream', () => {
  it('3 s of previews every 10 ms: at most one status read a second, and one after the last preview', async () => {
    const { reads, start, lastArrival } = await stream(FeedPanel, /300 payloads received/);
    const during = reads.filter((t) => t >= start && t <= lastArrival);
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(4);
    for (let k = 1; k < reads.length; k++) expect(reads[k]! - reads[k - 1]!).toBeGreaterThanOrEqual(1_000);
    // The states of the last previews are read too.
    expect(reads.at(-1)!).toBeGreaterThan(lastArrival);
  });
});

describe('Live feed: the status re-read while previews stream', () => {
  it('3 s of previews every 10 ms: at most one status read a second, and one after the last preview', async () => {
    const { reads, start, lastPreview } = await stream(LiveFeed, /300 payloads received/);
    const during = reads.filter((t) => t >= start && t <= lastPreview);
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(4);
    for (let k = 1; k < reads.length; k++) expect(reads[k]! - reads[k - 1]!).toBeGreaterThanOrEqual(1_000);
    // The states of the last previews are read too.
    expect(reads.at(-1)!).toBeGreaterThan(lastPreview);
  });
});
