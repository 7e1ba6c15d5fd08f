import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineBatch } from '../../agent/cli/line-batch.js';

describe('run: per-cycle log lines written together', () => {
  afterEach(() => vi.useRealTimers());

  it('lines wait at most the window, then leave in one write, in order', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const b = new LineBatch((t) => writes.push(t), 100);
    b.add('t1: 40 signals');
    vi.advanceTimersByTime(60);
    b.add('t2: 40 signals');
    b.add('t3: cycle skipped');
    expect(writes).toEqual([]);
    // The window counts from the first waiting line, not the last.
    vi.advanceTimersByTime(40);
    expect(writes).toEqual(['t1: 40 signals\nt2: 40 signals\nt3: cycle skipped']);
    vi.advanceTimersByTime(1000);
    expect(writes).toHaveLength(1);
  });

  it('flush writes what waits at once, so a line written after it never comes first; an empty flush writes nothing', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const b = new LineBatch((t) => writes.push(t), 100);
    b.flush();
    b.add('t1: spooled');
    b.flush();
    writes.push('stopping: …');
    vi.advanceTimersByTime(500);
    expect(writes).toEqual(['t1: spooled', 'stopping: …']);
  });
});
