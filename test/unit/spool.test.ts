import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { open as openFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { frameRecord, parseRecord, RECORD_HEADER_BYTES, Spool } from '../../agent/delivery/spool.js';

const open: Spool[] = [];
const tmp = () => mkdtempSync(join(tmpdir(), 'lsa-spool-'));
async function openSpool(dir: string, maxBytes = 10 * 1024 * 1024, extra: { segmentBytes?: number; readOnly?: boolean } = {}): Promise<Spool> {
  const s = await Spool.open(dir, { maxBytes, ...extra });
  open.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const body = (i: number, size = 100) => JSON.stringify({ i, pad: 'x'.repeat(Math.max(0, size - 20)) });
const segments = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
async function drain(s: Spool): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const b = await s.peek(7, 64 * 1024);
    if (b.records.length === 0) return seen;
    seen.push(...b.records.map((r) => (JSON.parse(r.body.toString()) as { i: number }).i));
    await s.ack(b);
  }
}

describe('record framing', () => {
  it('round-trips and rejects any flipped bit', () => {
    const rec = frameRecord(42, 1_700_000_000_000, Buffer.from('{"a":1}'));
    const r = parseRecord(rec, 0);
    expect(r).toMatchObject({ seq: 42, spooledAt: 1_700_000_000_000, end: rec.length });
    expect(typeof r === 'object' && r.body.toString()).toBe('{"a":1}');
    for (let byte = 0; byte < rec.length; byte++) {
      const bad = Buffer.from(rec);
      bad[byte]! ^= 0x10;
      expect(parseRecord(bad, 0), `byte ${byte}`).not.toMatchObject({ seq: 42 });
    }
  });

  it('a record cut anywhere is "short" (incomplete), never a record', () => {
    const rec = frameRecord(7, 1, Buffer.from('payload body'));
    for (let len = 1; len < rec.length; len++) expect(parseRecord(rec.subarray(0, len), 0)).toBe('short');
  });
});

describe('spool', () => {
  it('replays in order after a restart, continuing after the acknowledged cursor', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    const keys = [];
    for (let i = 1; i <= 10; i++) keys.push((await s.append(body(i))).key);
    expect(keys[0]).toBe(`${s.id}:1`);
    const b = await s.peek(4, 1e6);
    expect(b.records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const before = await s.stats();
    await s.ack(b);
    const after = await s.stats();
    expect(after.backlog).toBe(6);
    // Exactly the four acknowledged records (header + body each) are no longer backlog.
    expect(before.backlogBytes - after.backlogBytes).toBe(b.records.reduce((n, r) => n + RECORD_HEADER_BYTES + r.body.length, 0));
    await s.close();

    const again = await openSpool(dir);
    expect(again.id).toBe(s.id);
    expect((await again.stats()).backlog).toBe(6);
    expect(await drain(again)).toEqual([5, 6, 7, 8, 9, 10]);
    expect((await again.stats()).backlogBytes).toBe(0);
    expect((await again.append(body(11))).seq).toBe(11);
  });

  it('an unacknowledged batch is read again (a failed send loses nothing)', async () => {
    const s = await openSpool(tmp());
    for (let i = 1; i <= 3; i++) await s.append(body(i));
    const first = await s.peek(10, 1e6);
    const second = await s.peek(10, 1e6);
    expect(second.records.map((r) => r.seq)).toEqual(first.records.map((r) => r.seq));
  });

  it('batches respect the byte budget but always hold at least one record', async () => {
    const s = await openSpool(tmp());
    for (let i = 1; i <= 5; i++) await s.append(body(i, 1000));
    expect((await s.peek(100, 2500)).records).toHaveLength(2);
    expect((await s.peek(100, 10)).records).toHaveLength(1);
  });

  it('rotates segments and removes fully acknowledged ones', async () => {
    const dir = tmp();
    const s = await openSpool(dir, 1024 * 1024, { segmentBytes: 1024 });
    for (let i = 1; i <= 30; i++) await s.append(body(i, 300));
    expect(segments(dir).length).toBeGreaterThan(5);
    expect(await drain(s)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(segments(dir)).toHaveLength(1);
  });

  it('a partial record left by a crash, cut at any byte, is detected, cut off and never read', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    for (let i = 1; i <= 3; i++) await s.append(body(i));
    await s.close();
    const seg = join(dir, segments(dir)[0]!);
    const good = readFileSync(seg);
    const torn = frameRecord(4, Date.now(), Buffer.from(body(4)));
    for (const cut of [1, 3, 4, 8, RECORD_HEADER_BYTES - 1, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + 5, torn.length - 1]) {
      writeFileSync(seg, Buffer.concat([good, torn.subarray(0, cut)]));
      const r = await openSpool(dir);
      expect(statSync(seg).size, `cut ${cut}`).toBe(good.length);
      expect((await r.stats()).tornRecordsDiscarded).toBe(1);
      const b = await r.peek(100, 1e6);
      expect(b.records.map((x) => x.seq)).toEqual([1, 2, 3]);
      await r.close();
    }
    // The cut record may have been reported spooled (a truncation looks the same): its seq is never given again,
    // and it was counted as dropped.
    const r = await openSpool(dir);
    expect((await r.append(body(4))).seq).toBeGreaterThan(4);
    expect(r.dropReport().total).toBe(1); // the same cut record each time: counted once
    expect(await drain(r)).toEqual([1, 2, 3, 4]);
  });

  it('a damaged record in the middle is skipped (never sent) and counted as lost', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    for (let i = 1; i <= 5; i++) await s.append(body(i));
    await s.close();
    const seg = join(dir, segments(dir)[0]!);
    const buf = readFileSync(seg);
    const rec = frameRecord(1, 0, Buffer.from(body(1))).length;
    const meta = buf.length - 5 * rec; // the segment's meta record comes first
    buf[meta + rec * 2 + RECORD_HEADER_BYTES + 3]! ^= 0xff; // inside record 3's body
    writeFileSync(seg, buf);
    const r = await openSpool(dir);
    expect(await drain(r)).toEqual([1, 2, 4, 5]);
    expect(r.dropReport()).toMatchObject({ count: 1, total: 1 });
  });

  it('the cap drops the oldest whole segments, counts the loss, persists and reports it', async () => {
    const dir = tmp();
    const max = 8 * 1024;
    const s = await openSpool(dir, max, { segmentBytes: 1024 });
    for (let i = 1; i <= 100; i++) {
      await s.append(body(i, 200));
      const total = segments(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
      expect(total).toBeLessThanOrEqual(max);
    }
    const st = await s.stats();
    expect(st.dropped.total).toBe(100 - st.backlog);
    expect(st.dropped.count).toBe(st.dropped.total);
    expect(st.dropped.since).not.toBeNull();
    await s.close();

    const again = await openSpool(dir, max, { segmentBytes: 1024 });
    expect(again.dropReport().total).toBe(st.dropped.total);
    const kept = await drain(again);
    // What is left is the newest data, in order, ending with the last payload.
    expect(kept).toEqual(Array.from({ length: st.backlog }, (_, i) => 101 - st.backlog + i));
    const b = await again.peek(1, 1);
    expect(b.records).toHaveLength(0);
    await again.append(body(101));
    const last = await again.peek(10, 1e6);
    await again.ack(last, { dropsReported: st.dropped.total });
    expect(again.dropReport()).toEqual({ count: 0, total: st.dropped.total, since: null });
  });

  it('acknowledged payloads are not counted as dropped when their segment goes', async () => {
    const dir = tmp();
    const s = await openSpool(dir, 8 * 1024, { segmentBytes: 1024 });
    for (let i = 1; i <= 100; i++) {
      await s.append(body(i, 200));
      await s.ack(await s.peek(100, 1e6));
    }
    expect(s.dropReport().total).toBe(0);
  });

  it('a batch in flight when the cap removes its segment, then acknowledged, is not counted as lost', async () => {
    const s = await openSpool(tmp(), 8 * 1024, { segmentBytes: 1024 });
    for (let i = 1; i <= 4; i++) await s.append(body(i, 200));
    const inFlight = await s.peek(3, 1e6);
    for (let i = 5; i <= 60; i++) await s.append(body(i, 200));
    const counted = s.dropReport().total;
    expect(counted).toBeGreaterThan(inFlight.records.length);
    await s.ack(inFlight);
    expect(s.dropReport().total).toBe(counted - inFlight.records.length);
    // What is read next is the oldest payload still on disk, after the acknowledged ones.
    const next = await s.peek(1, 1e6);
    expect(next.records[0]!.seq).toBeGreaterThan(inFlight.records.at(-1)!.seq);
    const backlog = s.backlog();
    expect(s.dropReport().total + backlog + inFlight.records.length).toBe(60);
  });

  it('a payload larger than the whole cap is refused and counted', async () => {
    const s = await openSpool(tmp(), 2048);
    await expect(s.append('x'.repeat(4096))).rejects.toThrow(/larger than the spool cap/);
    expect(s.dropReport().total).toBe(1);
  });

  it('group commit: appends arriving during an fsync share the next one, and none resolves before its record is durable', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    // Every fsync of the spool's segment is watched: what it makes durable is the file's length when it began.
    const probe = await openFile(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    const real = proto.datasync;
    let syncs = 0;
    let durableBytes = 0;
    const spy = vi.spyOn(proto, 'datasync').mockImplementation(async function (this: { stat(): Promise<{ size: number }> }) {
      syncs++;
      const { size } = await this.stat();
      await new Promise((r) => setTimeout(r, 15));
      await real.call(this);
      durableBytes = Math.max(durableBytes, size);
    });
    try {
      const violations: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const r = await s.append(body(i));
          // At resolution the record must lie within what a finished fsync covered.
          const seg = readFileSync(join(dir, segments(dir).at(-1)!)).subarray(0, durableBytes);
          const seqs: number[] = [];
          for (let pos = 0; ;) {
            const p = parseRecord(seg, pos);
            if (p === 'short' || p === 'bad') break;
            seqs.push(p.seq);
            pos = p.end;
          }
          if (!seqs.includes(r.seq)) violations.push(r.seq);
          return r.seq;
        }),
      );
      expect(violations).toEqual([]);
      expect(new Set(results).size).toBe(60);
      // One fsync per payload before; now the first goes alone and the rest share a handful.
      expect(syncs).toBeLessThanOrEqual(5);
    } finally {
      spy.mockRestore();
    }
    expect(await drain(s)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('group commit: a payload larger than the cap fails alone; the others of its batch are spooled', async () => {
    const s = await openSpool(tmp(), 8192);
    const outcomes = await Promise.allSettled([s.append(body(0)), s.append(body(1)), s.append('x'.repeat(10_000)), s.append(body(3))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/larger than the spool cap/);
    expect(s.dropReport().total).toBe(1);
    expect(await drain(s)).toEqual([0, 1, 3]);
  });

  it('one process owns a spool directory; a lock left by a dead process is taken over', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    await s.close();
    writeFileSync(join(dir, 'spool.lock'), `${process.ppid}\n`);
    await expect(Spool.open(dir, { maxBytes: 1e6 })).rejects.toThrow(/in use by another agent process/);
    writeFileSync(join(dir, 'spool.lock'), '999999999\n');
    await openSpool(dir);
  });

  it('a read-only view sees the unsent payloads without changing anything', async () => {
    const dir = tmp();
    const s = await openSpool(dir);
    for (let i = 1; i <= 4; i++) await s.append(body(i));
    await s.ack(await s.peek(1, 1e6));
    appendFileSync(join(dir, segments(dir)[0]!), Buffer.from('LSR1 partial'));
    const ro = await openSpool(dir, 1e6, { readOnly: true });
    const seen = [];
    for await (const r of ro.unsent()) seen.push(r.seq);
    expect(seen).toEqual([2, 3, 4]);
    // The writer's file was not truncated by the reader.
    expect(
      readFileSync(join(dir, segments(dir)[0]!))
        .subarray(-12)
        .toString(),
    ).toBe('LSR1 partial');
  });

  it('property: any interleaving of appends, acks and restarts delivers every payload once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant('append' as const), fc.constant('ack' as const), fc.constant('restart' as const)), { maxLength: 60 }),
        async (ops) => {
          const dir = tmp();
          let s = await Spool.open(dir, { maxBytes: 1e7, segmentBytes: 700 });
          let n = 0;
          const delivered: number[] = [];
          for (const op of ops) {
            if (op === 'append') await s.append(body(++n, 150));
            else if (op === 'ack') {
              const b = await s.peek(3, 1e6);
              delivered.push(...b.records.map((r) => (JSON.parse(r.body.toString()) as { i: number }).i));
              await s.ack(b);
            } else {
              await s.close();
              s = await Spool.open(dir, { maxBytes: 1e7, segmentBytes: 700 });
            }
          }
          delivered.push(...(await drain(s)));
          await s.close();
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
      { numRuns: 40 },
    );
  });
});
