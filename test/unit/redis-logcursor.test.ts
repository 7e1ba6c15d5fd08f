import { describe, expect, it } from 'vitest';
import { type LogSource, readNewEntries } from '../../collectors/redis/logcursor.js';
import type { RawLogEntry } from '../../collectors/redis/parse.js';

/** A server slow log: ids keep growing, the oldest entries rotate out at maxLen. */
class FakeLog implements LogSource {
  entries: RawLogEntry[] = [];
  nextId = 0;
  reads: number[] = [];
  lenAllowed = true;
  constructor(private readonly maxLen = 128) {}
  add(n: number): void {
    for (let i = 0; i < n; i++) {
      this.entries.unshift({ id: this.nextId++, timestamp: 1, value: 10, argv: ['GET', 'k'], clientAddr: null, clientName: null });
    }
    this.entries.length = Math.min(this.entries.length, this.maxLen);
  }
  restart(): void {
    this.entries = [];
    this.nextId = 0;
  }
  async length(): Promise<number | undefined> {
    return this.lenAllowed ? this.entries.length : undefined;
  }
  async newest(count: number): Promise<RawLogEntry[]> {
    this.reads.push(count);
    return this.entries.slice(0, count);
  }
}

const ids = (es: RawLogEntry[]): number[] => es.map((e) => e.id);

describe('slow-log cursor', () => {
  it('ships each entry once across cycles, oldest first', async () => {
    const log = new FakeLog();
    log.add(3);
    const first = await readNewEntries(log, undefined, 'run-a', 2048);
    expect(ids(first.entries)).toEqual([0, 1, 2]);
    expect(first).toMatchObject({ state: 'first_cycle', missed: null, lengthReported: 3, next: { runId: 'run-a', lastId: 2 } });

    const quiet = await readNewEntries(log, first.next, 'run-a', 2048);
    expect(quiet.entries).toEqual([]);
    expect(quiet).toMatchObject({ state: 'resumed', missed: 0, next: { lastId: 2 } });

    log.add(2);
    const second = await readNewEntries(log, quiet.next, 'run-a', 2048);
    expect(ids(second.entries)).toEqual([3, 4]);
    expect(second.missed).toBe(0);
  });

  it('counts entries that rotated out before the agent read them', async () => {
    const log = new FakeLog(10);
    log.add(5);
    const a = await readNewEntries(log, undefined, 'r', 2048);
    log.add(25); // ids 5..29; the log keeps 20..29
    const b = await readNewEntries(log, a.next, 'r', 2048);
    expect(ids(b.entries)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(b.missed).toBe(15);
  });

  it('starts over when the server restarted (new run_id), and counts what was lost', async () => {
    const log = new FakeLog();
    log.add(50);
    const a = await readNewEntries(log, undefined, 'run-a', 2048);
    log.restart();
    log.add(3);
    const b = await readNewEntries(log, a.next, 'run-b', 2048);
    expect(ids(b.entries)).toEqual([0, 1, 2]);
    expect(b).toMatchObject({ state: 'server_restarted', missed: 0, next: { runId: 'run-b', lastId: 2 } });
  });

  it('starts over when ids go backwards under the same run id', async () => {
    const log = new FakeLog();
    log.add(50);
    const a = await readNewEntries(log, undefined, 'unknown', 2048);
    log.restart();
    log.add(4);
    const b = await readNewEntries(log, a.next, 'unknown', 2048);
    expect(ids(b.entries)).toEqual([0, 1, 2, 3]);
    expect(b.state).toBe('server_restarted');
  });

  it('reads a small page when resuming and reads further back only when needed', async () => {
    const log = new FakeLog(1024);
    log.add(1024);
    const a = await readNewEntries(log, undefined, 'r', 2048);
    expect(a.entries).toHaveLength(1024);
    expect(log.reads).toEqual([1024]);
    log.reads = [];
    log.add(3);
    const b = await readNewEntries(log, a.next, 'r', 2048);
    expect(ids(b.entries)).toEqual([1024, 1025, 1026]);
    expect(log.reads).toEqual([128]);
    log.reads = [];
    log.add(600);
    const c = await readNewEntries(log, b.next, 'r', 2048);
    expect(c.entries).toHaveLength(600);
    expect(c.missed).toBe(0);
    expect(log.reads).toEqual([128, 512, 1024]);
  });

  it('caps one cycle and reports the rest as missed', async () => {
    const log = new FakeLog(1000);
    log.add(10);
    const a = await readNewEntries(log, undefined, 'r', 100);
    expect(a.entries).toHaveLength(10);
    log.add(500);
    const b = await readNewEntries(log, a.next, 'r', 100);
    expect(b.entries).toHaveLength(100);
    expect(b.entries[0]!.id).toBe(410);
    expect(b.missed).toBe(400);
    expect(b.next.lastId).toBe(509);
  });

  it('works without SLOWLOG LEN permission', async () => {
    const log = new FakeLog();
    log.lenAllowed = false;
    log.add(5);
    const a = await readNewEntries(log, undefined, 'r', 2048);
    expect(ids(a.entries)).toEqual([0, 1, 2, 3, 4]);
    expect(a.lengthReported).toBeUndefined();
    log.add(1);
    expect(ids((await readNewEntries(log, a.next, 'r', 2048)).entries)).toEqual([5]);
  });
});
