import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import writeFileAtomic from 'write-file-atomic';

/**
 * The durable spool: every payload is written here, and fsynced, before any send.
 *
 * Layout of the spool directory:
 * - `<first seq, 16 digits>.seg`: append-only segment files of framed records;
 *   the name is the sequence number of the segment's first record.
 * - `state.json`: spool id, the last sequence number the service acknowledged
 *   (the cursor), and the dropped-payload counters; replaced atomically.
 * - `spool.lock`: pid of the process that owns the spool (one writer at a time).
 *
 * A record (little-endian):
 *   u32 magic "LSR1" | u32 body length | u32 CRC-32 (of length, seq, time and body)
 *   | u64 seq | u64 spooled-at (ms since epoch) | body
 *
 * On open, a partial record at the end of the last segment (a crash mid-write)
 * fails its length or CRC check: it is cut off and never read. A damaged record
 * anywhere else is skipped when read (resynchronising on the next valid record)
 * and counted as lost. When the size cap is reached the oldest whole segment is
 * removed and the unsent payloads in it are counted as dropped; the counter is
 * persisted before the file is removed, so a loss is never forgotten.
 */

const MAGIC = 0x3152534c; // "LSR1" read as little-endian u32
const MAGIC_BYTES = Buffer.from('LSR1', 'latin1');
export const RECORD_HEADER_BYTES = 28;
/** A length field above this is damage, not a record (payloads are far smaller). */
const MAX_RECORD_BODY = 64 * 1024 * 1024;
const STATE_FILE = 'state.json';
const LOCK_FILE = 'spool.lock';
const SEGMENT_RE = /^(\d{16})\.seg$/;

export class SpoolError extends Error {
  override name = 'SpoolError';
}

export interface SpoolOptions {
  /** Cap on the bytes of all segment files together. */
  maxBytes: number;
  /** Rotation size; default maxBytes/8 within [64 KiB, 8 MiB], so a drop removes at most ~1/8 of the spool. */
  segmentBytes?: number;
  /** Opens without writing anything (no truncation, no lock): for reading a spool another process owns. */
  readOnly?: boolean;
  now?: () => number;
}

export interface SpooledRecord {
  seq: number;
  /** Idempotency key: `<spool id>:<seq>`, unique across restarts and spool re-creation. */
  key: string;
  spooledAt: number;
  body: Buffer;
}

interface Position {
  /** Sequence number expected next. */
  seq: number;
  /** First seq (name) of the segment the offset refers to. */
  segment: number;
  offset: number;
}

export interface SpoolBatch {
  records: SpooledRecord[];
  /** Sum of the record bodies. */
  bytes: number;
  /** Where reading continues once this batch is acknowledged. */
  readonly next: Position;
}

export interface DropReport {
  /** Payloads dropped and not yet reported to the service. */
  count: number;
  /** Payloads dropped since this spool was created (monotonic, so a re-sent report is harmless). */
  total: number;
  /** When the first unreported drop happened. */
  since: string | null;
}

export interface SpoolStats {
  /** Payloads written and not yet acknowledged by the service. */
  backlog: number;
  /** Bytes on disk from the first unacknowledged record on (right after the first ack of a run; until then it may include acknowledged records of the same segment). */
  backlogBytes: number;
  /** Bytes of all segment files. */
  bytes: number;
  /** When the oldest unacknowledged payload was spooled (ms since epoch), null if none. */
  oldestUnsentAt: number | null;
  dropped: DropReport;
  /** Partial records from a crash that were cut off at open (never acknowledged, never sent). */
  tornRecordsDiscarded: number;
}

interface State {
  v: 1;
  spoolId: string;
  ackedSeq: number;
  dropped: { total: number; reported: number; since: string | null };
}

interface Segment {
  first: number;
  size: number;
}

interface Parsed {
  seq: number;
  spooledAt: number;
  body: Buffer;
  /** Offset just past this record. */
  end: number;
}

const segmentName = (first: number): string => `${String(first).padStart(16, '0')}.seg`;

/** Frames one record. */
export function frameRecord(seq: number, spooledAt: number, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(body.length, 4);
  buf.writeBigUInt64LE(BigInt(seq), 12);
  buf.writeBigUInt64LE(BigInt(spooledAt), 20);
  body.copy(buf, RECORD_HEADER_BYTES);
  buf.writeUInt32LE(crc32(buf.subarray(12), crc32(buf.subarray(4, 8))), 8);
  return buf;
}

/**
 * Parses the record at `pos` in `buf`: the record, 'short' when the buffer ends
 * before the record does, or 'bad' when the bytes there are not a valid record.
 */
export function parseRecord(buf: Buffer, pos: number): Parsed | 'short' | 'bad' {
  if (buf.length - pos < RECORD_HEADER_BYTES) {
    // A header cut by the end of the buffer: plausible only if what is there starts like one.
    const n = Math.min(4, buf.length - pos);
    return MAGIC_BYTES.subarray(0, n).equals(buf.subarray(pos, pos + n)) ? 'short' : 'bad';
  }
  if (buf.readUInt32LE(pos) !== MAGIC) return 'bad';
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_BODY) return 'bad';
  const end = pos + RECORD_HEADER_BYTES + len;
  if (end > buf.length) return 'short';
  const crc = crc32(buf.subarray(pos + 12, end), crc32(buf.subarray(pos + 4, pos + 8)));
  if (crc !== buf.readUInt32LE(pos + 8)) return 'bad';
  const seq = Number(buf.readBigUInt64LE(pos + 12));
  const spooledAt = Number(buf.readBigUInt64LE(pos + 20));
  return { seq, spooledAt, body: buf.subarray(pos + RECORD_HEADER_BYTES, end), end };
}

/** fsync of a directory makes a file creation, rename or removal durable (a no-op where unsupported). */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Spool {
  private segments: Segment[] = [];
  private active: FileHandle | undefined;
  private nextSeq = 1;
  private cursor: Position | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  private torn = 0;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  /** Appends wake the shipper through this. */
  onAppend: (() => void) | undefined;

  private constructor(
    readonly dir: string,
    private state: State,
    private readonly opts: SpoolOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.maxBytes / 8)));
    this.now = opts.now ?? Date.now;
  }

  get id(): string {
    return this.state.spoolId;
  }

  static async open(dir: string, opts: SpoolOptions): Promise<Spool> {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1024) throw new RangeError('spool maxBytes must be an integer of at least 1024');
    if (!opts.readOnly) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      takeLock(dir);
    }
    try {
      const state = await readState(dir, opts.readOnly === true);
      const spool = new Spool(dir, state, opts);
      await spool.load();
      return spool;
    } catch (err) {
      if (!opts.readOnly) releaseLock(dir);
      throw err;
    }
  }

  private path(first: number): string {
    return join(this.dir, segmentName(first));
  }

  private async load(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (this.opts.readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    this.segments = names
      .flatMap((n) => {
        const m = SEGMENT_RE.exec(n);
        return m ? [{ first: Number(m[1]), size: 0 }] : [];
      })
      .sort((a, b) => a.first - b.first);
    for (const s of this.segments) s.size = (await stat(this.path(s.first))).size;
    const acked = this.state.ackedSeq;
    this.nextSeq = acked + 1;
    const last = this.segments.at(-1);
    if (last !== undefined) {
      // Only the last segment can end in a partial record: earlier ones were complete and fsynced before rotation.
      const { lastSeq, validEnd } = await this.scanTail(last);
      this.nextSeq = Math.max(this.nextSeq, last.first, lastSeq + 1);
      if (validEnd < last.size) {
        this.torn++;
        if (!this.opts.readOnly) {
          const fh = await open(this.path(last.first), 'r+');
          await fh.truncate(validEnd);
          await fh.sync();
          await fh.close();
        }
        last.size = validEnd;
      }
    }
    if (this.opts.readOnly) return;
    // Segments wholly acknowledged (a crash between saving the cursor and removing them).
    while (this.segments.length > 1 && this.segments[1]!.first - 1 <= acked) await this.removeSegment(0);
    const tail = this.segments.at(-1);
    if (tail !== undefined && tail.size === 0 && tail.first !== this.nextSeq) {
      await unlink(this.path(tail.first));
      this.segments.pop();
    }
    if (this.segments.length === 0) await this.createSegment(this.nextSeq);
    else this.active = await open(this.path(this.segments.at(-1)!.first), 'r+');
    // A lower cap than last time applies at once.
    await this.makeRoom(0);
  }

  /** Reads the whole segment and finds where the last valid record ends. */
  private async scanTail(seg: Segment): Promise<{ lastSeq: number; validEnd: number }> {
    const buf = await readFile(this.path(seg.first));
    let pos = 0;
    let lastSeq = seg.first - 1;
    let validEnd = 0;
    while (pos < buf.length) {
      const r = parseRecord(buf, pos);
      if (typeof r === 'object') {
        lastSeq = r.seq;
        validEnd = pos = r.end;
        continue;
      }
      // Damage followed by valid records is corruption to skip on read; only a damaged tail is cut off.
      const next = resync(buf, pos, lastSeq + 1);
      if (next === undefined) break;
      pos = next;
    }
    return { lastSeq, validEnd };
  }

  private async createSegment(first: number): Promise<void> {
    const file = this.path(first);
    this.active = await open(file, 'w+', 0o600);
    await this.active.sync();
    await syncDir(this.dir);
    this.segments.push({ first, size: 0 });
  }

  private async rotate(): Promise<void> {
    await this.active?.close();
    this.active = undefined;
    await this.createSegment(this.nextSeq);
  }

  /** Serialises every state change (appends, acks, drops) within this process. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work);
    this.lock = run.catch(() => {});
    return run;
  }

  private totalBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }

  /**
   * Writes the bodies as consecutive records with one fsync (group commit) and
   * resolves only once they are durable: the caller may then report them spooled.
   */
  appendMany(bodies: readonly (Buffer | string)[]): Promise<Array<{ seq: number; key: string }>> {
    if (this.opts.readOnly) return Promise.reject(new SpoolError('the spool was opened read-only'));
    return this.exclusive(async () => {
      if (this.closed) throw new SpoolError('the spool is closed');
      const at = this.now();
      const out: Array<{ seq: number; key: string }> = [];
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      /** Sequence number after the last durable record of this call. */
      let durableNext = this.nextSeq;
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return;
        const seg = this.segments.at(-1)!;
        const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        try {
          await this.active!.write(data, 0, data.length, seg.size);
          await this.active!.datasync();
        } catch (err) {
          // Not durable (disk full, I/O error): these seqs were never reported spooled, so reuse them,
          // and cut any bytes that did land so the segment ends on a whole record.
          this.nextSeq = durableNext;
          await this.active!.truncate(seg.size).catch(() => {});
          throw err;
        }
        seg.size += data.length;
        durableNext = this.nextSeq;
        pending = [];
        pendingBytes = 0;
      };
      for (const b of bodies) {
        const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
        const rec = frameRecord(this.nextSeq, at, body);
        if (rec.length > this.opts.maxBytes) {
          await flush();
          await this.countDropped(1);
          throw new SpoolError(`a payload of ${body.length} bytes is larger than the spool cap (${this.opts.maxBytes} bytes); it was dropped`);
        }
        const seg = this.segments.at(-1)!;
        if (this.totalBytes() + pendingBytes + rec.length > this.opts.maxBytes || (seg.size + pendingBytes > 0 && seg.size + pendingBytes + rec.length > this.segmentBytes)) {
          await flush();
          await this.makeRoom(rec.length);
          const cur = this.segments.at(-1)!;
          if (cur.size > 0 && cur.size + rec.length > this.segmentBytes) await this.rotate();
        }
        pending.push(rec);
        pendingBytes += rec.length;
        out.push({ seq: this.nextSeq, key: `${this.state.spoolId}:${this.nextSeq}` });
        this.nextSeq++;
      }
      await flush();
      this.onAppend?.();
      return out;
    });
  }

  async append(body: Buffer | string): Promise<{ seq: number; key: string }> {
    return (await this.appendMany([body]))[0]!;
  }

  /** Removes oldest whole segments until `incoming` more bytes fit under the cap. */
  private async makeRoom(incoming: number): Promise<void> {
    while (this.totalBytes() + incoming > this.opts.maxBytes) {
      if (this.segments.length > 1) {
        const first = this.segments[0]!;
        const lastSeq = this.segments[1]!.first - 1;
        const from = Math.max(first.first, this.state.ackedSeq + 1);
        const unsent = Math.max(0, lastSeq - from + 1);
        // Counted before the file goes, so a crash in between overstates the loss rather than hiding it.
        await this.countDropped(unsent);
        if (unsent > 0) {
          // A batch read from this segment may be in flight; if it is acknowledged, ack() takes it back off the count.
          this.droppedRanges.push([from, lastSeq]);
          if (this.droppedRanges.length > 64) this.droppedRanges.shift();
        }
        await this.removeSegment(0);
      } else if (this.segments[0]!.size > 0) {
        await this.rotate();
      } else {
        return;
      }
    }
  }

  private async countDropped(n: number): Promise<void> {
    if (n <= 0) return;
    const d = this.state.dropped;
    await this.saveState({ ...this.state, dropped: { ...d, total: d.total + n, since: d.since ?? new Date(this.now()).toISOString() } });
  }

  private async removeSegment(index: number): Promise<void> {
    const [seg] = this.segments.splice(index, 1);
    if (seg === undefined) return;
    await unlink(this.path(seg.first)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await syncDir(this.dir);
    if (this.cursor?.segment === seg.first) this.cursor = undefined;
  }

  private async saveState(next: State): Promise<void> {
    await writeFileAtomic(join(this.dir, STATE_FILE), `${JSON.stringify(next)}\n`, { mode: 0o600, fsync: true });
    this.state = next;
  }

  /** The first unacknowledged position. */
  private startPosition(): Position | undefined {
    const want = this.state.ackedSeq + 1;
    if (this.cursor !== undefined && this.cursor.seq === want && this.segments.some((s) => s.first === this.cursor!.segment)) return this.cursor;
    // Last segment whose first seq <= want; if want was dropped by the cap, the oldest segment.
    let seg = this.segments[0];
    for (const s of this.segments) if (s.first <= want) seg = s;
    if (seg === undefined) return undefined;
    return { seq: Math.max(want, seg.first), segment: seg.first, offset: 0 };
  }

  /**
   * Reads up to `maxRecords` unacknowledged records (and about `maxBytes` of
   * bodies; always at least one) in order, without consuming them: the caller
   * acknowledges the batch after the service accepted it.
   */
  peek(maxRecords: number, maxBytes: number): Promise<SpoolBatch> {
    return this.read(this.startPosition(), maxRecords, maxBytes);
  }

  private async read(from: Position | undefined, maxRecords: number, maxBytes: number): Promise<SpoolBatch> {
    const records: SpooledRecord[] = [];
    let bytes = 0;
    if (from === undefined) return { records, bytes, next: { seq: this.nextSeq, segment: this.nextSeq, offset: 0 } };
    let pos = from;
    let full = false;
    while (records.length < maxRecords && !full) {
      const idx = this.segments.findIndex((s) => s.first === pos.segment);
      if (idx < 0) {
        // Removed by the cap while we read (its loss is already counted): continue with the next one.
        const later = this.segments.find((s) => s.first > pos.segment);
        if (later === undefined) break;
        pos = { seq: Math.max(pos.seq, later.first), segment: later.first, offset: 0 };
        continue;
      }
      const seg = this.segments[idx]!;
      if (pos.offset >= seg.size) {
        const next = this.segments[idx + 1];
        if (next === undefined) break;
        pos = { seq: pos.seq, segment: next.first, offset: 0 };
        continue;
      }
      const base = pos.offset;
      const window = Math.min(seg.size - base, Math.max(64 * 1024, Math.min(maxBytes, 4 * 1024 * 1024) + RECORD_HEADER_BYTES));
      let buf: Buffer;
      try {
        buf = await this.readAt(seg.first, base, window);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile; handled above
        throw err;
      }
      let p = 0;
      while (p < buf.length && records.length < maxRecords) {
        let r = parseRecord(buf, p);
        if (r === 'short') {
          if (p > 0) break; // the next window starts with this record
          // One record larger than the window: read exactly that record.
          const len = buf.length >= 8 && buf.readUInt32LE(0) === MAGIC ? buf.readUInt32LE(4) : -1;
          if (len >= 0 && len <= MAX_RECORD_BODY && base + RECORD_HEADER_BYTES + len <= seg.size) {
            buf = await this.readAt(seg.first, base, RECORD_HEADER_BYTES + len);
            r = parseRecord(buf, 0);
          }
          // Committed bytes that do not hold a whole record are damage.
          if (r === 'short') r = 'bad';
        }
        if (r === 'bad') {
          // Damage inside a committed segment: skip to the next valid record, or to the segment's end.
          const rest = await this.readAt(seg.first, base + p, seg.size - base - p);
          const at = resync(rest, 0, pos.seq);
          p = at === undefined ? seg.size - base : p + at;
          break;
        }
        if (r.seq < pos.seq) {
          // Already acknowledged: the start of a partly acknowledged segment after a restart.
          p = r.end;
          continue;
        }
        if (records.length > 0 && bytes + r.body.length > maxBytes) {
          full = true;
          break;
        }
        // A gap in the sequence is records lost to damage; counted once, when this batch is acknowledged.
        if (r.seq > pos.seq) this.pendingLost.set(r.seq, r.seq - pos.seq);
        records.push({ seq: r.seq, key: `${this.state.spoolId}:${r.seq}`, spooledAt: r.spooledAt, body: Buffer.from(r.body) });
        bytes += r.body.length;
        pos = { ...pos, seq: r.seq + 1 };
        p = r.end;
        if (bytes >= maxBytes) {
          full = true;
          break;
        }
      }
      pos = { ...pos, segment: seg.first, offset: base + p };
    }
    return { records, bytes, next: pos };
  }

  /** Seq ranges the cap removed while this process ran (for the in-flight case in ack). */
  private readonly droppedRanges: Array<[number, number]> = [];

  /** Gaps (seq of the record after the gap -> records missing before it) found by read(). */
  private readonly pendingLost = new Map<number, number>();

  private async readAt(first: number, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const fh = first === this.segments.at(-1)?.first && this.active !== undefined ? this.active : await open(this.path(first), 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      if (fh !== this.active) await fh.close();
    }
  }

  /** Marks the batch as accepted by the service: its records are never read again. */
  ack(batch: SpoolBatch, opts: { dropsReported?: number; lost?: number } = {}): Promise<void> {
    return this.exclusive(async () => {
      const last = batch.records.at(-1);
      if (last === undefined || last.seq <= this.state.ackedSeq) return;
      // `lost`: records of this batch the service refused for good (they are consumed, and counted).
      let lost = opts.lost ?? 0;
      for (const r of batch.records) {
        lost += this.pendingLost.get(r.seq) ?? 0;
        this.pendingLost.delete(r.seq);
      }
      // Records counted as dropped by the cap while this batch was in flight were delivered after all;
      // uncounted only while not yet reported, since the service may keep the largest total it saw.
      // (A refused record the cap already counted nets to one count: +1 lost, -1 here.)
      const counted = batch.records.filter((r) => this.droppedRanges.some(([a, b]) => r.seq >= a && r.seq <= b)).length;
      const d = this.state.dropped;
      const total = Math.max(d.reported, d.total + lost - counted);
      const reported = Math.min(total, Math.max(d.reported, opts.dropsReported ?? d.reported));
      await this.saveState({
        ...this.state,
        ackedSeq: last.seq,
        dropped: { total, reported, since: reported >= total ? null : (d.since ?? new Date(this.now()).toISOString()) },
      });
      this.cursor = batch.next;
      while (this.segments.length > 1 && this.segments[1]!.first - 1 <= last.seq) await this.removeSegment(0);
    });
  }

  /** What the next batch should tell the service about lost payloads. */
  dropReport(): DropReport {
    const d = this.state.dropped;
    return { count: d.total - d.reported, total: d.total, since: d.since };
  }

  /** Payloads written and not yet acknowledged. */
  backlog(): number {
    const start = this.startPosition();
    return Math.max(0, this.nextSeq - (start?.seq ?? this.nextSeq));
  }

  async stats(): Promise<SpoolStats> {
    const start = this.startPosition();
    const firstUnacked = start?.seq ?? this.nextSeq;
    let oldestUnsentAt: number | null = null;
    if (firstUnacked < this.nextSeq) {
      const b = await this.peek(1, 1);
      oldestUnsentAt = b.records[0]?.spooledAt ?? null;
    }
    const backlog = this.backlog();
    let backlogBytes = 0;
    if (backlog > 0 && start !== undefined) {
      for (const seg of this.segments) if (seg.first >= start.segment) backlogBytes += seg.size;
      backlogBytes = Math.max(0, backlogBytes - start.offset);
    }
    return {
      backlog,
      backlogBytes,
      bytes: this.totalBytes(),
      oldestUnsentAt,
      dropped: this.dropReport(),
      tornRecordsDiscarded: this.torn,
    };
  }

  /** Every unacknowledged record in order (for `logstag-agent spool`), without consuming them. */
  async *unsent(): AsyncGenerator<SpooledRecord> {
    let pos = this.startPosition();
    for (;;) {
      const b = await this.read(pos, 256, 4 * 1024 * 1024);
      if (b.records.length === 0) return;
      yield* b.records;
      pos = b.next;
    }
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.active?.close();
      this.active = undefined;
      if (!this.opts.readOnly) releaseLock(this.dir);
    });
  }
}

/** Offset of the next valid record at or after `from + 1` in `buf` whose seq is >= minSeq. */
function resync(buf: Buffer, from: number, minSeq: number): number | undefined {
  let at = buf.indexOf(MAGIC_BYTES, from + 1);
  while (at >= 0) {
    const r = parseRecord(buf, at);
    if (typeof r === 'object' && r.seq >= minSeq) return at;
    at = buf.indexOf(MAGIC_BYTES, at + 1);
  }
  return undefined;
}

async function readState(dir: string, readOnly: boolean): Promise<State> {
  const file = join(dir, STATE_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SpoolError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (text === undefined) {
    const fresh: State = { v: 1, spoolId: randomUUID(), ackedSeq: 0, dropped: { total: 0, reported: 0, since: null } };
    if (!readOnly) await writeFileAtomic(file, `${JSON.stringify(fresh)}\n`, { mode: 0o600, fsync: true });
    return fresh;
  }
  try {
    const s = JSON.parse(text) as State;
    if (s.v !== 1 || typeof s.spoolId !== 'string' || !Number.isSafeInteger(s.ackedSeq) || typeof s.dropped?.total !== 'number') throw new Error('layout');
    return s;
  } catch {
    throw new SpoolError(`${file} is damaged; move the spool directory aside to start a new spool (its segments can still be read)`);
  }
}

/** One writer per spool directory; a lock left by a dead process (kill -9) is taken over. */
function takeLock(dir: string): void {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new SpoolError(`the spool ${dir} is in use by another agent process (pid ${pid})`);
      }
      unlinkSync(file);
    }
  }
  throw new SpoolError(`cannot lock the spool ${dir}`);
}

function releaseLock(dir: string): void {
  try {
    const file = join(dir, LOCK_FILE);
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}
