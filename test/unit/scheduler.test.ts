import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../electron/agent/scheduler.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('scheduler', () => {
  it('bounds concurrency and never runs two cycles of one target at once', async () => {
    let active = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const skipped: string[] = [];
    const s = new Scheduler({
      concurrency: 2,
      runCycle: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => release.push(r));
        active--;
      },
      onSkip: (id) => skipped.push(id),
    });
    for (const id of ['a', 'b', 'c', 'd']) void s.trigger(id);
    void s.trigger('a');
    await tick();
    expect(active).toBe(2);
    expect(skipped).toEqual(['a']);
    while (release.length) {
      release.shift()!();
      await tick();
    }
    expect(peak).toBe(2);
    await s.stop();
  });

  it('a failing or slow target does not hold up another target', async () => {
    const done: string[] = [];
    const s = new Scheduler({
      concurrency: 2,
      runCycle: async (id) => {
        if (id === 'slow') await new Promise(() => {});
        if (id === 'bad') throw new Error('down');
        done.push(id);
      },
    });
    void s.trigger('slow');
    await s.trigger('bad');
    await s.trigger('good');
    expect(done).toEqual(['good']);
  });

  it('pausing stops new cycles until resumed', async () => {
    let runs = 0;
    const s = new Scheduler({ concurrency: 1, runCycle: async () => void runs++ });
    s.pause();
    await s.trigger('a');
    expect(runs).toBe(0);
    s.resume();
    await s.trigger('a');
    expect(runs).toBe(1);
  });
});
