// Damage to what is already on disk (a flipped byte, a truncation, a deleted, replaced or
// unreadable segment, a lost or damaged state.json, a cursor past the spool): every payload
// that was reported spooled is either delivered with its original key or counted as dropped
// with a cause, the log says so in plain words, and no key ever names two different payloads.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRecord, Spool } from '../../agent/delivery/spool.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lsa-dmg-'));
const segs = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
const opened: Spool[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const OPTS = { maxBytes: 10 * 1024 * 1024, segmentBytes: 1024 };
let serial = 0;
const payload = (tag: string) => JSON.stringify({ tag, n: ++serial, pad: 'p'.repeat(120) });

/** The service: keeps each key once (first arrival wins), like the ingest server. */
class Service {
  readonly byKey = new Map<string, string>();
  duplicates = 0;
  conflicts: string[] = [];
  take(records: Array<{ key: string; body: Buffer }>): void {
    for (const r of records) {
      const body = r.body.toString();
      const had = this.byKey.get(r.key);
      if (had === undefined) this.byKey.set(r.key, body);
      else if (had === body) this.duplicates++;
      else this.conflicts.push(r.key);
    }
  }
}

async function open(dir: string, log: string[] = []): Promise<Spool> {
  const s = await Spool.open(dir, { ...OPTS, log: (l) => log.push(l) });
  opened.push(s);
  return s;
}

async function drainTo(s: Spool, svc: Service): Promise<void> {
  for (;;) {
    const b = await s.peek(4, 1e6);
    if (b.records.length === 0) return;
    svc.take(b.records);
    await s.ack(b, { dropsReported: s.dropReport().total });
  }
}

interface Built {
  dir: string;
  /** key -> body of every payload reported spooled. */
  reported: Map<string, string>;
  svc: Service;
}

/** n payloads reported spooled; the first `acked` delivered; then a clean close or a crash (a copy of the open spool). */
async function build(n: number, acked = 0, crash = false): Promise<Built> {
  const dir = tmp();
  const s = await Spool.open(dir, OPTS);
  const reported = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const body = payload('old');
    reported.set((await s.append(body)).key, body);
  }
  const svc = new Service();
  while (acked > 0) {
    const b = await s.peek(Math.min(4, acked), 1e6);
    svc.take(b.records);
    await s.ack(b);
    acked -= b.records.length;
  }
  if (crash) {
    const copy = tmp();
    cpSync(dir, copy, { recursive: true });
    await s.close();
    return { dir: copy, reported, svc };
  }
  await s.close();
  return { dir, reported, svc };
}

/**
 * After the damage: open, append new payloads, deliver everything. Checks the promise:
 * each reported payload delivered under its key or counted dropped; no key names two payloads.
 */
async function settle(b: Built, log: string[] = []): Promise<{ missing: string[]; dropped: number; log: string[]; spool: Spool }> {
  const s = await open(b.dir, log);
  const fresh = new Map<string, string>();
  for (let i = 0; i < 3; i++) {
    const body = payload('new');
    const { key } = await s.append(body);
    expect(b.reported.has(key), `key ${key} given to a new payload was already reported for another`).toBe(false);
    fresh.set(key, body);
  }
  await drainTo(s, b.svc);
  expect(b.svc.conflicts, 'a key delivered with two different payloads').toEqual([]);
  for (const [k, body] of [...b.reported, ...fresh]) {
    const got = b.svc.byKey.get(k);
    if (got !== undefined) expect(got, k).toBe(body);
  }
  for (const [k] of fresh) expect(b.svc.byKey.has(k), `new payload ${k} delivered`).toBe(true);
  const missing = [...b.reported.keys()].filter((k) => !b.svc.byKey.has(k));
  const dropped = s.dropReport().total;
  expect(dropped, `missing ${missing.join(' ')}; log: ${log.join(' | ')}`).toBeGreaterThanOrEqual(missing.length);
  if (missing.length > 0) expect(log.join('\n')).toMatch(/lost|missing|damaged|unreadable/);
  expect(log.join('\n')).not.toMatch(/never reported/);
  return { missing, dropped, log, spool: s };
}

/** Offsets of the payload records (seq >= 1) in a segment file. */
function recordOffsets(file: string): Array<{ at: number; end: number; seq: number }> {
  const buf = readFileSync(file);
  const out = [];
  for (let p = 0; p < buf.length;) {
    const r = parseRecord(buf, p);
    if (typeof r !== 'object') break;
    if (r.seq >= 1) out.push({ at: p, end: r.end, seq: r.seq });
    p = r.end;
  }
  return out;
}

describe('damage to the last record that was reported spooled', () => {
  it('a flipped byte: counted as dropped with its cause, and its key is never given to another payload', async () => {
    const b = await build(4);
    const file = join(b.dir, segs(b.dir).at(-1)!);
    const last = recordOffsets(file).at(-1)!;
    const buf = readFileSync(file);
    buf[last.at + 40]! ^= 0x01;
    writeFileSync(file, buf);
    const { missing, dropped, log } = await settle(b);
    expect(missing).toHaveLength(1);
    expect(dropped).toBe(1);
    expect(log.join('\n')).toMatch(/damaged/);
  });

  it('a flipped byte in the length field: counted, key not reused', async () => {
    const b = await build(4);
    const file = join(b.dir, segs(b.dir).at(-1)!);
    const last = recordOffsets(file).at(-1)!;
    const buf = readFileSync(file);
    buf[last.at + 6]! ^= 0x01; // length grows by 64 KiB: looks like a record cut short
    writeFileSync(file, buf);
    const { missing, dropped } = await settle(b);
    expect(missing).toHaveLength(1);
    expect(dropped).toBe(1);
  });

  it('truncated inside the record (after a clean stop): counted, key not reused', async () => {
    const b = await build(4);
    const file = join(b.dir, segs(b.dir).at(-1)!);
    const last = recordOffsets(file).at(-1)!;
    truncateSync(file, last.at + 10);
    const { missing, dropped } = await settle(b);
    expect(missing).toHaveLength(1);
    expect(dropped).toBe(1);
  });

  it('truncated exactly at a record boundary (after a clean stop): counted, keys not reused', async () => {
    const b = await build(4);
    const file = join(b.dir, segs(b.dir).at(-1)!);
    const offs = recordOffsets(file);
    truncateSync(file, offs.at(-2)!.at);
    const { missing, dropped } = await settle(b);
    expect(missing).toHaveLength(2);
    expect(dropped).toBe(2);
  });

  it('a crash, then a flipped byte in the last record: keys are still never reused', async () => {
    const b = await build(4, 1, true);
    const file = join(b.dir, segs(b.dir).at(-1)!);
    const last = recordOffsets(file).at(-1)!;
    const buf = readFileSync(file);
    buf[last.at + 30]! ^= 0x80;
    writeFileSync(file, buf);
    const { missing, dropped } = await settle(b);
    expect(missing).toHaveLength(1);
    expect(dropped).toBe(1);
  });
});

describe('damage to whole segments', () => {
  it('the oldest unsent segment deleted: its payloads counted as dropped', async () => {
    const b = await build(20);
    expect(segs(b.dir).length).toBeGreaterThan(3);
    unlinkSync(join(b.dir, segs(b.dir)[0]!));
    const { missing, dropped } = await settle(b);
    expect(missing.length).toBeGreaterThan(0);
    expect(dropped).toBe(missing.length);
  });

  it('a middle segment deleted: counted', async () => {
    const b = await build(20);
    unlinkSync(join(b.dir, segs(b.dir)[1]!));
    const { missing, dropped } = await settle(b);
    expect(missing.length).toBeGreaterThan(0);
    expect(dropped).toBe(missing.length);
  });

  it('the last segment deleted: counted, and its keys are not reused', async () => {
    const b = await build(20);
    unlinkSync(join(b.dir, segs(b.dir).at(-1)!));
    const { missing, dropped } = await settle(b);
    expect(missing.length).toBeGreaterThan(0);
    expect(dropped).toBe(missing.length);
  });

  it('segments overwritten with garbage (middle and last): counted', async () => {
    const b = await build(20);
    const names = segs(b.dir);
    for (const n of [names[1]!, names.at(-1)!]) writeFileSync(join(b.dir, n), Buffer.alloc(700, 0x5a));
    const { missing, dropped } = await settle(b);
    expect(missing.length).toBeGreaterThan(0);
    expect(dropped).toBe(missing.length);
  });

  it('a segment that is a directory: no internal error, its payloads counted', async () => {
    const b = await build(20);
    const name = segs(b.dir)[1]!;
    rmSync(join(b.dir, name));
    mkdirSync(join(b.dir, name));
    const { missing, dropped, log } = await settle(b);
    expect(missing.length).toBeGreaterThan(0);
    expect(dropped).toBe(missing.length);
    expect(log.join('\n')).toMatch(/unreadable|not a file/);
  });

  it('a gap between segments: status and the unsent list agree on the backlog', async () => {
    const b = await build(20);
    unlinkSync(join(b.dir, segs(b.dir)[1]!));
    const s = await open(b.dir);
    let listed = 0;
    for await (const _ of s.unsent()) listed++;
    expect((await s.stats()).backlog).toBe(listed);
    expect(s.backlog()).toBe(listed);
  });
});

describe('state.json checked, not trusted', () => {
  it('deleted after delivery: the spool id is recovered; nothing delivered is resent under a new key', async () => {
    const b = await build(20, 12);
    const id = [...b.reported.keys()][0]!.split(':')[0];
    unlinkSync(join(b.dir, 'state.json'));
    const log: string[] = [];
    const { missing, spool } = await settle(b, log);
    expect(spool.id).toBe(id);
    expect(missing).toEqual([]);
    // Resent ones (if any) carried their original key: the service saw duplicates, never a second copy under another key.
    expect(b.svc.byKey.size).toBe(20 + 3);
    expect(log.join('\n')).toMatch(/state\.json/);
  });

  it('damaged: reported with the problem; the safe choice (resend with the same keys) is taken', async () => {
    const b = await build(20, 12);
    writeFileSync(join(b.dir, 'state.json'), '{"v":1,"spoolId":"x",');
    const log: string[] = [];
    const { missing } = await settle(b, log);
    expect(missing).toEqual([]);
    expect(b.svc.byKey.size).toBe(23);
    expect(log.join('\n')).toMatch(/state\.json.*damaged/);
  });

  it('an acknowledged cursor past the end of the spool: reported, the unsent payloads are delivered', async () => {
    const b = await build(10, 3);
    const st = JSON.parse(readFileSync(join(b.dir, 'state.json'), 'utf8')) as { ackedSeq: number };
    st.ackedSeq = 1_000_000;
    writeFileSync(join(b.dir, 'state.json'), JSON.stringify(st));
    const log: string[] = [];
    const { missing } = await settle(b, log);
    expect(missing).toEqual([]);
    expect(log.join('\n')).toMatch(/past the end/);
  });
});
