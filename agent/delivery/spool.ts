import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import writeFileAtomic from 'write-file-atomic';
import { syncDir } from '../state/durable-fs.js';

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
 * A new segment starts with a meta record (seq 0, body `{"spool","acked","hwm"}`)
 * so the spool id and a lower bound of the cursor survive the loss of state.json.
 *
 * On open every segment is read and checked (docs/spool.md has the whole table):
 * whatever is missing between the acknowledged cursor and the last sequence
 * number known written (damaged records, a truncated or cut end, a deleted,
 * replaced or unreadable segment) is counted as dropped with its cause and
 * logged. Sequence numbers are never reused: `hwm` in state.json is reserved
 * ahead of every append and only grows, and after anything but a clean stop the
 * spool resumes above it, so an idempotency key names one payload forever.
 * When the size cap is reached the oldest whole segment is removed and the
 * unsent payloads in it are counted as dropped; the counter is persisted before
 * the file is removed, so a loss is never forgotten.
 */

const MAGIC = 0x3152534c; // "LSR1" read as little-endian u32
const MAGIC_BYTES = Buffer.from('LSR1', 'latin1');
export const RECORD_HEADER_BYTES = 28;
/** A length field above this is damage, not a record (payloads are far smaller). */
const MAX_RECORD_BODY = 64 * 1024 * 1024;
const STATE_FILE = 'state.json';
const QUARANTINE_DIR = 'quarantine';
/** Sequence numbers reserved in state.json ahead of the appends (one state write per this many payloads). */
const RESERVE = 4096;
/** Loss causes kept in state.json for `status`. */
const MAX_LOSSES = 20;
/** Settled seq ranges kept (older ones are below the cursor and pruned). */
const MAX_SETTLED = 512;
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
  /** Plain-words lines about damage found and losses counted. */
  log?: (line: string) => void;
}

/** One loss the spool counted, with its cause (kept for `status`). */
export interface LossRecord {
  at: string;
  count: number;
  /** Sequence numbers (keys `<spool id>:<seq>`) concerned, e.g. "12-15". */
  seqs: string;
  cause: string;
}

/** A payload the service refused (too large or malformed), kept for the operator. */
export interface QuarantineEntry {
  key: string;
  seq: number;
  spooledAt: string;
  refusedAt: string;
  status: number;
  reason: string;
  payload: string;
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
  /** Incomplete or damaged record ends cut off the last segment at open (each counted as dropped). */
  tornRecordsDiscarded: number;
  /** The most recent losses with their causes. */
  losses: LossRecord[];
  /** Payloads the service refused, kept in the quarantine (`spool --quarantine`). */
  quarantined: number;
}

interface State {
  /** 1: written by an older agent (no reservation, no settled ranges); always saved as 2. */
  v: 1 | 2;
  spoolId: string;
  ackedSeq: number;
  /** Highest seq that may have been handed out: reserved ahead of appends, only grows. */
  hwm: number;
  /** Every seq up to this one was durably written (exact when saved). */
  written: number;
  /** Saved by a clean close: nothing was appended after `written`. */
  clean: boolean;
  dropped: { total: number; reported: number; since: string | null };
  /** Seq ranges whose absence is explained (counted lost, removed by the cap, never used): never counted again. */
  settled: Array<[number, number]>;
  losses: LossRecord[];
  quarantined: number;
}

interface Segment {
  first: number;
  size: number;
  /** Offset of the first payload record (past the meta record). */
  start: number;
  /** Seqs of the valid payload records, as ascending runs. */
  runs: Array<[number, number]>;
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
  /** The last seq durably written by this process (or known written at open). */
  private durable = 0;
  private cursor: Position | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  private torn = 0;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  /** Appends wake the shipper through this. */
  onAppend: (() => void) | undefined;
  /**
   * Told of every acknowledged batch once the cursor is saved past it: the seqs,
   * and whether the service refused them for good (`lost`) instead of accepting them.
   */
  onAck: ((seqs: readonly number[], refused: boolean) => void) | undefined;
  /** Told of a payload moved to the quarantine (refused by the service). */
  onQuarantine: ((seq: number) => void) | undefined;

  /** Every seq up to this one is settled: acknowledged, refused or dropped. */
  get ackedSeq(): number {
    return this.state.ackedSeq;
  }

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
      const read = await readState(dir);
      const spool = new Spool(dir, read.state ?? freshState(), opts);
      await spool.load(read);
      return spool;
    } catch (err) {
      if (!opts.readOnly) releaseLock(dir);
      throw err;
    }
  }

  private path(first: number): string {
    return join(this.dir, segmentName(first));
  }

  private say(line: string): void {
    this.opts.log?.(`spool: ${line}`);
  }

  /**
   * Reads and checks every segment against state.json (or recovers the state from
   * the segments), counts whatever is missing with its cause, and chooses the next
   * sequence number so that none is ever handed out twice.
   */
  private async load(read: StateRead): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (this.opts.readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    const firsts = names.flatMap((n) => {
      const m = SEGMENT_RE.exec(n);
      return m ? [Number(m[1])] : [];
    });
    firsts.sort((a, b) => a - b);
    const scans = new Map<number, Scan>();
    const unreadable: Array<{ first: number; code: string }> = [];
    this.segments = [];
    for (const first of firsts) {
      let buf: Buffer;
      try {
        buf = await readFile(this.path(first));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        unreadable.push({ first, code: code === 'EISDIR' ? 'EISDIR: not a file' : code });
        continue;
      }
      const scan = scanSegment(buf);
      scans.set(first, scan);
      this.segments.push({ first, size: buf.length, start: scan.start, runs: scan.runs });
    }
    for (const u of unreadable)
      this.say(`segment ${segmentName(u.first)} is unreadable (${u.code}); it is left in place and the payloads it held are counted lost`);
    const maxSeq = this.segments.reduce((m, s) => Math.max(m, s.runs.at(-1)?.[1] ?? 0), 0);
    const last = this.segments.at(-1);
    const lastScan = last === undefined ? undefined : scans.get(last.first)!;
    const metas = [...scans.values()].flatMap((s) => (s.meta ? [s.meta] : []));
    const tail = lastScan?.tail;
    /** Upper bound of the seqs an unparseable end could hold (every record is at least 29 bytes). */
    const tailBound = tail === undefined ? 0 : Math.ceil(tail.bytes / (RECORD_HEADER_BYTES + 1));
    const namesFloor = Math.max(last === undefined ? 0 : last.first - 1, ...unreadable.map((u) => u.first));
    const lowerCursor = (limit: number): number =>
      Math.min(limit, Math.max(this.segments[0] === undefined ? 0 : this.segments[0].first - 1, ...metas.map((m) => Math.min(m.acked, limit))));

    let s = this.state;
    if (read.state === undefined) {
      // state.json missing or damaged: recover what the segments say; resend rather than hide.
      const meta = metas.at(-1);
      const acked = lowerCursor(maxSeq);
      const hwm = Math.max(maxSeq + tailBound, namesFloor, ...metas.map((m) => m.hwm));
      s = { ...freshState(), spoolId: meta?.spool ?? s.spoolId, ackedSeq: acked, hwm, written: acked, quarantined: await countQuarantine(this.dir) };
      const what = read.problem ?? `${STATE_FILE} is missing`;
      if (this.segments.length === 0 && unreadable.length === 0) {
        if (read.problem !== undefined) this.say(`${what}; the spool is empty, a new state is written`);
      } else if (meta !== undefined) {
        this.say(
          `${what}: the spool id ${meta.spool} was recovered from the segment headers and the cursor set to ${acked}; payloads from seq ${acked + 1} on are sent again with their original keys (the service discards those it already has)`,
        );
      } else {
        this.say(
          `${what} and no segment names the spool id (segments written by an older agent): new spool id ${s.spoolId}; the payloads on disk (seq ${acked + 1}-${maxSeq}) are sent under keys ${s.spoolId}:<seq>, so the service may count those it already had twice`,
        );
      }
      if (read.problem !== undefined && !this.opts.readOnly) {
        await rename(join(this.dir, STATE_FILE), join(this.dir, `${STATE_FILE}.damaged-${this.now()}`)).catch(() => {});
      }
    } else {
      const ceiling = s.v === 2 ? s.hwm : Math.max(maxSeq, namesFloor);
      if (s.ackedSeq > ceiling) {
        const back = lowerCursor(maxSeq);
        this.say(
          `${STATE_FILE}: the acknowledged cursor ${s.ackedSeq} is past the end of the spool (last sequence number ${ceiling}); it is set back to ${back} and payloads from seq ${back + 1} on are sent again with their original keys`,
        );
        s = { ...s, ackedSeq: back, clean: false };
      }
    }

    // The end of the last segment: a record cut short or damaged is cut off and counted below.
    if (last !== undefined && tail !== undefined) {
      this.torn++;
      if (!this.opts.readOnly) {
        const fh = await open(this.path(last.first), 'r+');
        await fh.truncate(tail.at);
        await fh.sync();
        await fh.close();
      }
      last.size = tail.at;
    }

    // Everything between the cursor and the last seq known written that is not on disk is lost: count it, with its cause.
    const lastKnown = Math.max(s.written, maxSeq);
    const settled = s.settled.map((r) => [...r] as [number, number]);
    // An older agent counted cap drops without settling them: the gap before the oldest segment is already counted.
    if (s.v === 1 && this.segments[0] !== undefined) addRange(settled, s.ackedSeq + 1, this.segments[0].first - 1);
    const present: Array<[number, number]> = [];
    for (const seg of this.segments) for (const r of seg.runs) addRange(present, r[0], r[1]);
    const losses: Array<{ a: number; b: number; cause: string }> = [];
    for (const [a, b] of uncovered(
      [...present, ...settled].sort((x, y) => x[0] - y[0]),
      s.ackedSeq + 1,
      lastKnown,
    )) {
      losses.push({ a, b, cause: this.causeOf(a, unreadable, scans) });
    }
    // An unparseable end may hold records past lastKnown (after a crash `written` lags): counted too.
    let floor = Math.max(lastKnown, namesFloor, s.ackedSeq);
    if (tail !== undefined && last !== undefined) {
      const counted = Math.max(0, s.written - maxSeq);
      const extra = Math.max(0, tail.records - counted);
      if (extra > 0) {
        const where = segmentName(last.first);
        losses.push({
          a: floor + 1,
          b: floor + extra,
          cause: tail.complete
            ? `damaged on disk at the end of segment ${where}`
            : `an incomplete record at the end of segment ${where} (a write cut by a crash, never reported spooled, or a spooled record truncated on disk)`,
        });
        floor += extra;
      }
    }
    // After anything but a clean stop, resume above every seq that may have been handed out.
    if (!s.clean) floor = Math.max(floor, s.hwm, maxSeq + tailBound);
    for (const l of losses) addRange(settled, l.a, l.b);
    if (floor > s.ackedSeq) addRange(settled, s.ackedSeq + 1, floor); // the rest of the range: present, or never used
    this.nextSeq = floor + 1;
    // Seqs up to the floor are used (written, lost or skipped): a clean stop saves them as written, so none comes back.
    this.durable = floor;
    // The first reservation is taken with the state write every open makes anyway (none in the append path).
    s = { ...s, v: 2, hwm: Math.max(s.hwm, this.opts.readOnly ? floor : floor + RESERVE), clean: false, settled: subtract(settled, present) };
    for (const l of losses) s = this.withLoss(s, l.b - l.a + 1, l.a, l.b, l.cause);
    if (this.opts.readOnly) {
      this.state = s;
      return;
    }
    await this.saveState(s);
    // Segments wholly acknowledged (a crash between saving the cursor and removing them).
    while (this.segments.length > 1 && this.segments[1]!.first - 1 <= s.ackedSeq) await this.removeSegment(0);
    const end = this.segments.at(-1);
    if (end !== undefined && end.runs.length === 0 && end.first !== this.nextSeq) {
      await unlink(this.path(end.first));
      this.segments.pop();
    }
    if (this.segments.length === 0) await this.createSegment(this.nextSeq);
    else this.active = await open(this.path(this.segments.at(-1)!.first), 'r+');
    // A lower cap than last time applies at once.
    await this.makeRoom(0);
  }

  /** Plain words for where seqs from `a` on went missing. */
  private causeOf(a: number, unreadable: Array<{ first: number; code: string }>, scans: Map<number, Scan>): string {
    let holder: Segment | undefined;
    for (const seg of this.segments) if (seg.first <= a) holder = seg;
    const u = unreadable.filter((x) => x.first <= a && (holder === undefined || x.first > holder.first)).at(-1);
    if (u !== undefined) return `segment ${segmentName(u.first)} is unreadable (${u.code})`;
    if (holder === undefined) return 'missing from the spool directory (the segment that held them was deleted)';
    const scan = scans.get(holder.first);
    if (scan !== undefined && (scan.damaged || scan.tail !== undefined)) return `damaged on disk in segment ${segmentName(holder.first)}`;
    if (holder === this.segments.at(-1))
      return `missing from the end of the spool (segment ${segmentName(holder.first)} truncated, or a later segment deleted)`;
    return `missing from the spool (a deleted segment after ${segmentName(holder.first)})`;
  }

  /** The state with one more loss counted (and its cause logged). */
  private withLoss(s: State, n: number, a: number, b: number, cause: string): State {
    if (n <= 0) return s;
    const at = new Date(this.now()).toISOString();
    const seqs = a === b ? `${a}` : `${a}-${b}`;
    this.say(`${n} payload(s) lost (seq ${seqs}, keys ${s.spoolId}:<seq>): ${cause}; counted as dropped`);
    const d = s.dropped;
    return {
      ...s,
      dropped: { ...d, total: d.total + n, since: d.since ?? at },
      losses: [...s.losses, { at, count: n, seqs, cause }].slice(-MAX_LOSSES),
    };
  }

  private async createSegment(first: number): Promise<void> {
    const file = this.path(first);
    this.active = await open(file, 'w+', 0o600);
    // The meta record: the spool id and a cursor lower bound survive the loss of state.json.
    const meta = frameRecord(0, this.now(), Buffer.from(JSON.stringify({ spool: this.state.spoolId, acked: this.state.ackedSeq, hwm: this.state.hwm })));
    await this.active.write(meta, 0, meta.length, 0);
    await this.active.sync();
    await syncDir(this.dir);
    this.segments.push({ first, size: meta.length, start: meta.length, runs: [] });
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
    return this.exclusive(() => this.writeRecords(bodies));
  }

  /**
   * Writes the bodies under the spool's lock. `onDurable` hears of every record
   * made durable before an error (a later write of the same call failed): those
   * are spooled, whatever the error says about the rest.
   */
  private async writeRecords(
    bodies: readonly (Buffer | string)[],
    onDurable?: (written: Array<{ seq: number; key: string }>) => void,
  ): Promise<Array<{ seq: number; key: string }>> {
    if (this.closed) throw new SpoolError('the spool is closed');
    const at = this.now();
    const out: Array<{ seq: number; key: string }> = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** Sequence number after the last durable record of this call. */
    let durableNext = this.nextSeq;
    /** Records of this call made durable so far (out[0..durableCount)). */
    let durableCount = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      // Reserve ahead in state.json: a seq above hwm is never written before hwm covers it.
      if (this.nextSeq - 1 > this.state.hwm) await this.saveState({ ...this.state, hwm: this.nextSeq - 1 + RESERVE });
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
      addRange(seg.runs, durableNext, this.nextSeq - 1);
      durableNext = this.nextSeq;
      this.durable = this.nextSeq - 1;
      durableCount = out.length;
      pending = [];
      pendingBytes = 0;
    };
    try {
      for (const b of bodies) {
        const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
        const rec = frameRecord(this.nextSeq, at, body);
        if (rec.length > this.opts.maxBytes) {
          await flush();
          await this.countDropped(1, 'larger than the whole spool cap (never spooled, no key given)');
          throw new SpoolError(`a payload of ${body.length} bytes is larger than the spool cap (${this.opts.maxBytes} bytes); it was dropped`);
        }
        const seg = this.segments.at(-1)!;
        if (
          this.totalBytes() + pendingBytes + rec.length > this.opts.maxBytes ||
          (seg.size - seg.start + pendingBytes > 0 && seg.size + pendingBytes + rec.length > this.segmentBytes)
        ) {
          await flush();
          await this.makeRoom(rec.length);
          const cur = this.segments.at(-1)!;
          if (cur.size > cur.start && cur.size + rec.length > this.segmentBytes) {
            await this.rotate();
            await this.makeRoom(rec.length); // the new segment's meta record counts against the cap too
          }
        }
        pending.push(rec);
        pendingBytes += rec.length;
        out.push({ seq: this.nextSeq, key: `${this.state.spoolId}:${this.nextSeq}` });
        this.nextSeq++;
      }
      await flush();
    } catch (err) {
      onDurable?.(out.slice(0, durableCount));
      throw err;
    }
    this.onAppend?.();
    return out;
  }

  /** Appends arriving while a write is in flight, to be written together by the next one. */
  private joining: { bodies: Array<Buffer | string>; done: Promise<Array<{ ok: { seq: number; key: string } } | { err: unknown }>> } | undefined;

  /**
   * Appends one record and resolves once it is durable (fsynced). Group commit:
   * the appends that arrive while the previous write is in flight are written
   * together with one fsync when it ends, and each still resolves only after
   * that fsync; one record's failure (larger than the cap) is its own.
   */
  async append(body: Buffer | string): Promise<{ seq: number; key: string }> {
    if (this.opts.readOnly) throw new SpoolError('the spool was opened read-only');
    let batch = this.joining;
    if (batch === undefined) {
      const bodies: Array<Buffer | string> = [];
      batch = {
        bodies,
        done: this.exclusive(() => {
          // From here on, later appends form the next batch.
          if (this.joining?.bodies === bodies) this.joining = undefined;
          return this.writeEach(bodies);
        }),
      };
      this.joining = batch;
    }
    const i = batch.bodies.push(body) - 1;
    const r = (await batch.done)[i]!;
    if ('err' in r) throw r.err;
    return r.ok;
  }

  /** Writes a batch of appends; each gets its own outcome. */
  private async writeEach(bodies: readonly (Buffer | string)[]): Promise<Array<{ ok: { seq: number; key: string } } | { err: unknown }>> {
    const out: Array<{ ok: { seq: number; key: string } } | { err: unknown }> = [];
    let run: number[] = [];
    const writeRun = async (): Promise<void> => {
      if (run.length === 0) return;
      const idx = run;
      run = [];
      let durable: Array<{ seq: number; key: string }> = [];
      try {
        const written = await this.writeRecords(
          idx.map((i) => bodies[i]!),
          (w) => (durable = w),
        );
        idx.forEach((i, k) => (out[i] = { ok: written[k]! }));
      } catch (err) {
        // Those made durable before the error are spooled; the others are not.
        idx.forEach((i, k) => (out[i] = k < durable.length ? { ok: durable[k]! } : { err }));
      }
    };
    for (let i = 0; i < bodies.length; i++) {
      const b = bodies[i]!;
      const bytes = RECORD_HEADER_BYTES + (typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : b.length);
      if (bytes > this.opts.maxBytes) {
        // Alone, as appendMany does it: written neighbours first, then the refusal is counted.
        await writeRun();
        try {
          await this.writeRecords([b]);
          out[i] = { err: new SpoolError('unreachable: an oversized record was written') };
        } catch (err) {
          out[i] = { err };
        }
        continue;
      }
      run.push(i);
    }
    await writeRun();
    return out;
  }

  /** Removes oldest whole segments until `incoming` more bytes fit under the cap. */
  private async makeRoom(incoming: number): Promise<void> {
    while (this.totalBytes() + incoming > this.opts.maxBytes) {
      if (this.segments.length > 1) {
        const first = this.segments[0]!;
        const lastSeq = this.segments[1]!.first - 1;
        const from = Math.max(first.first, this.state.ackedSeq + 1);
        const unsent = countAbove(first.runs, this.state.ackedSeq);
        if (from <= lastSeq) {
          // Counted before the file goes, so a crash in between overstates the loss rather than hiding it.
          const settled = this.state.settled.map((r) => [...r] as [number, number]);
          addRange(settled, from, lastSeq);
          await this.saveState(
            this.withLoss({ ...this.state, settled }, unsent, from, lastSeq, 'the spool reached its size cap (spool.maxBytes): the oldest segment was removed'),
          );
        }
        if (unsent > 0) {
          // A batch read from this segment may be in flight; if it is acknowledged, ack() takes it back off the count.
          this.droppedRanges.push([from, lastSeq]);
          if (this.droppedRanges.length > 64) this.droppedRanges.shift();
        }
        await this.removeSegment(0);
      } else if (this.segments[0]!.size > this.segments[0]!.start) {
        await this.rotate();
      } else {
        return;
      }
    }
  }

  private async countDropped(n: number, cause: string): Promise<void> {
    if (n <= 0) return;
    await this.saveState(this.withLoss(this.state, n, this.nextSeq, this.nextSeq, cause));
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
    const acked = next.ackedSeq;
    const state: State = { ...next, written: this.durable, settled: next.settled.filter((r) => r[1] > acked).slice(-MAX_SETTLED) };
    if (this.opts.readOnly) {
      this.state = state;
      return;
    }
    await writeFileAtomic(join(this.dir, STATE_FILE), `${JSON.stringify(state)}\n`, { mode: 0o600, fsync: true });
    this.state = state;
  }

  /** The first unacknowledged position. */
  private startPosition(): Position | undefined {
    const want = this.state.ackedSeq + 1;
    if (this.cursor !== undefined && this.cursor.seq === want && this.segments.some((s) => s.first === this.cursor!.segment)) return this.cursor;
    // Last segment whose first seq <= want; if want was dropped by the cap, the oldest segment.
    let seg = this.segments[0];
    for (const s of this.segments) if (s.first <= want) seg = s;
    if (seg === undefined) return undefined;
    return { seq: Math.max(want, seg.first), segment: seg.first, offset: seg.start };
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
        pos = { seq: Math.max(pos.seq, later.first), segment: later.first, offset: later.start };
        continue;
      }
      const seg = this.segments[idx]!;
      if (pos.offset >= seg.size) {
        const next = this.segments[idx + 1];
        if (next === undefined) break;
        pos = { seq: pos.seq, segment: next.first, offset: next.start };
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
        // (Gaps found at open, removed by the cap or never used are settled: not counted again.)
        if (r.seq > pos.seq) {
          const missing = uncovered(this.state.settled, pos.seq, r.seq - 1).reduce((n, [a, b]) => n + b - a + 1, 0);
          if (missing > 0) this.pendingLost.set(r.seq, { n: missing, a: pos.seq, b: r.seq - 1 });
        }
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
  private readonly pendingLost = new Map<number, { n: number; a: number; b: number }>();

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
    return this.exclusive(() => this.ackNow(batch, opts));
  }

  private async ackNow(batch: SpoolBatch, opts: { dropsReported?: number; lost?: number }): Promise<void> {
    {
      const last = batch.records.at(-1);
      if (last === undefined || last.seq <= this.state.ackedSeq) return;
      // `lost`: records of this batch the service refused for good (they are consumed, and counted).
      let lost = opts.lost ?? 0;
      let base = this.state;
      for (const r of batch.records) {
        const gap = this.pendingLost.get(r.seq);
        this.pendingLost.delete(r.seq);
        if (gap === undefined) continue;
        // Counted through withLoss (cause and log line); the totals below start from there.
        base = this.withLoss(base, gap.n, gap.a, gap.b, 'damaged or removed on disk while the agent ran');
        const settled = base.settled.map((x) => [...x] as [number, number]);
        addRange(settled, gap.a, gap.b);
        base = { ...base, settled };
      }
      if (lost > 0) base = this.withLoss(base, lost, batch.records[0]!.seq, last.seq, 'refused by the service');
      lost = 0;
      // Records counted as dropped by the cap while this batch was in flight were delivered after all;
      // uncounted only while not yet reported, since the service may keep the largest total it saw.
      // (A refused record the cap already counted nets to one count: +1 lost, -1 here.)
      const counted = batch.records.filter((r) => this.droppedRanges.some(([a, b]) => r.seq >= a && r.seq <= b)).length;
      const d = base.dropped;
      const total = Math.max(d.reported, d.total + lost - counted);
      const reported = Math.min(total, Math.max(d.reported, opts.dropsReported ?? d.reported));
      await this.saveState({
        ...base,
        ackedSeq: last.seq,
        dropped: { total, reported, since: reported >= total ? null : (d.since ?? new Date(this.now()).toISOString()) },
      });
      this.cursor = batch.next;
      while (this.segments.length > 1 && this.segments[1]!.first - 1 <= last.seq) await this.removeSegment(0);
      this.onAck?.(
        batch.records.map((r) => r.seq),
        (opts.lost ?? 0) > 0,
      );
    }
  }

  /**
   * A payload the service refused (too large, malformed) is not a loss: it is kept
   * in the quarantine for the operator (`logstag-agent spool --quarantine`),
   * counted, and consumed from the spool. Only for a batch of one record.
   */
  quarantine(batch: SpoolBatch, why: { status: number; reason: string }): Promise<void> {
    if (this.opts.readOnly) return Promise.reject(new SpoolError('the spool was opened read-only'));
    return this.exclusive(async () => {
      const r = batch.records[0];
      if (r === undefined || batch.records.length !== 1) throw new SpoolError('only a batch of one payload is quarantined');
      if (r.seq <= this.state.ackedSeq) return;
      const qdir = join(this.dir, QUARANTINE_DIR);
      await mkdir(qdir, { recursive: true, mode: 0o700 });
      const entry: QuarantineEntry = {
        key: r.key,
        seq: r.seq,
        spooledAt: new Date(r.spooledAt).toISOString(),
        refusedAt: new Date(this.now()).toISOString(),
        status: why.status,
        reason: why.reason,
        payload: r.body.toString('utf8'),
      };
      await writeFileAtomic(join(qdir, `${String(r.seq).padStart(16, '0')}.json`), `${JSON.stringify(entry)}\n`, { mode: 0o600, fsync: true });
      await syncDir(qdir);
      this.state = { ...this.state, quarantined: this.state.quarantined + 1 };
      this.say(
        `payload ${r.key} refused by the service (HTTP ${why.status}) was moved to the quarantine ${join(qdir, `${String(r.seq).padStart(16, '0')}.json`)}`,
      );
      // Before the ack below (which consumes it): this payload was refused, not delivered.
      this.onQuarantine?.(r.seq);
      await this.ackNow(batch, {});
    });
  }

  /** The quarantined payloads of the spool in `dir`, oldest first. */
  static async readQuarantine(dir: string): Promise<QuarantineEntry[]> {
    const qdir = join(dir, QUARANTINE_DIR);
    let names: string[];
    try {
      names = (await readdir(qdir)).filter((n) => /^\d{16}\.json$/.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: QuarantineEntry[] = [];
    for (const n of names) out.push(JSON.parse(await readFile(join(qdir, n), 'utf8')) as QuarantineEntry);
    return out;
  }

  /** What the next batch should tell the service about lost payloads. */
  dropReport(): DropReport {
    const d = this.state.dropped;
    return { count: d.total - d.reported, total: d.total, since: d.since };
  }

  /** Payloads written and not yet acknowledged. */
  backlog(): number {
    // Counted from the records on disk, so a gap in the sequence never inflates it.
    return this.segments.reduce((n, s) => n + countAbove(s.runs, this.state.ackedSeq), 0);
  }

  async stats(): Promise<SpoolStats> {
    const start = this.startPosition();
    const backlog = this.backlog();
    let oldestUnsentAt: number | null = null;
    if (backlog > 0) {
      const b = await this.peek(1, 1);
      oldestUnsentAt = b.records[0]?.spooledAt ?? null;
    }
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
      losses: this.state.losses,
      quarantined: this.state.quarantined,
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
      // A clean stop: nothing is appended after `written`, so the next start continues right after it.
      if (!this.opts.readOnly) await this.saveState({ ...this.state, clean: true }).catch(() => {});
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

interface StateRead {
  /** undefined: missing or damaged (then `problem` says how); the segments are the source. */
  state: State | undefined;
  problem?: string;
}

function freshState(): State {
  return {
    v: 2,
    spoolId: randomUUID(),
    ackedSeq: 0,
    hwm: 0,
    written: 0,
    clean: true,
    dropped: { total: 0, reported: 0, since: null },
    settled: [],
    losses: [],
    quarantined: 0,
  };
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** Reads and checks state.json; a damaged one is reported with the exact problem, never trusted. */
async function readState(dir: string): Promise<StateRead> {
  const file = join(dir, STATE_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: undefined };
    return { state: undefined, problem: `${STATE_FILE} cannot be read (${code}) and is treated as damaged` };
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  } catch (err) {
    return { state: undefined, problem: `${STATE_FILE} is damaged (${(err as Error).message.slice(0, 120)})` };
  }
  const bad = (what: string): StateRead => ({ state: undefined, problem: `${STATE_FILE} is damaged (${what})` });
  if (raw['v'] !== 1 && raw['v'] !== 2) return bad(`unknown version ${JSON.stringify(raw['v'])}`);
  if (typeof raw['spoolId'] !== 'string' || !/^[0-9a-f-]{36}$/.test(raw['spoolId'])) return bad('spoolId is not a UUID');
  if (!isCount(raw['ackedSeq'])) return bad('ackedSeq is not a non-negative integer');
  const d = raw['dropped'] as Record<string, unknown> | undefined;
  if (typeof d !== 'object' || d === null || !isCount(d['total']) || !isCount(d['reported']) || (d['reported'] as number) > (d['total'] as number))
    return bad('dropped counters are not consistent');
  const dropped = { total: d['total'] as number, reported: d['reported'] as number, since: typeof d['since'] === 'string' ? d['since'] : null };
  if (raw['v'] === 1) {
    // An older agent's state: no reservation, so resume above everything on disk (clean: false).
    return {
      state: {
        ...freshState(),
        spoolId: raw['spoolId'],
        ackedSeq: raw['ackedSeq'],
        hwm: raw['ackedSeq'],
        written: raw['ackedSeq'],
        clean: false,
        dropped,
        v: 1,
        settled: [],
      },
    };
  }
  if (!isCount(raw['hwm']) || !isCount(raw['written']) || typeof raw['clean'] !== 'boolean' || !isCount(raw['quarantined']))
    return bad('hwm, written, clean or quarantined missing or invalid');
  if ((raw['written'] as number) > (raw['hwm'] as number))
    return bad(`written ${String(raw['written'])} is above the reserved high-water mark ${String(raw['hwm'])}`);
  const settled = raw['settled'];
  if (!Array.isArray(settled) || !settled.every((r) => Array.isArray(r) && r.length === 2 && isCount(r[0]) && isCount(r[1]) && r[0] <= r[1]))
    return bad('settled ranges are invalid');
  const losses = Array.isArray(raw['losses']) ? (raw['losses'] as LossRecord[]).slice(-MAX_LOSSES) : [];
  return {
    state: {
      v: 2,
      spoolId: raw['spoolId'],
      ackedSeq: raw['ackedSeq'],
      hwm: raw['hwm'] as number,
      written: raw['written'] as number,
      clean: raw['clean'],
      dropped,
      settled: (settled as Array<[number, number]>).slice().sort((x, y) => x[0] - y[0]),
      losses,
      quarantined: raw['quarantined'] as number,
    },
  };
}

async function countQuarantine(dir: string): Promise<number> {
  try {
    return (await readdir(join(dir, QUARANTINE_DIR))).filter((n) => /^\d{16}\.json$/.test(n)).length;
  } catch {
    return 0;
  }
}

interface Scan {
  runs: Array<[number, number]>;
  /** Offset of the first payload record (past the meta record, if any). */
  start: number;
  meta: { spool: string; acked: number; hwm: number } | undefined;
  /** Records were skipped as damaged inside the segment. */
  damaged: boolean;
  /** Bytes after the last valid record that are not one: where they start and what they may be. */
  tail: { at: number; bytes: number; records: number; complete: boolean } | undefined;
}

/** Reads a whole segment: its valid records as seq runs, its meta record, damage inside it and at its end. */
function scanSegment(buf: Buffer): Scan {
  const runs: Array<[number, number]> = [];
  let meta: Scan['meta'];
  let start = 0;
  let damaged = false;
  let lastSeq = 0;
  let pos = 0;
  let validEnd = 0;
  while (pos < buf.length) {
    const r = parseRecord(buf, pos);
    if (typeof r === 'object') {
      if (r.seq === 0 && pos === 0) {
        try {
          const m = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
          if (typeof m['spool'] === 'string' && isCount(m['acked']) && isCount(m['hwm'])) meta = { spool: m['spool'], acked: m['acked'], hwm: m['hwm'] };
        } catch {
          // A meta record that does not parse names nothing.
        }
        start = r.end;
      } else if (r.seq > lastSeq) {
        addRange(runs, r.seq, r.seq);
        lastSeq = r.seq;
      }
      validEnd = pos = r.end;
      continue;
    }
    // Damage followed by valid records is skipped on read; damage at the end is the tail.
    const next = resync(buf, pos, lastSeq + 1);
    if (next === undefined) break;
    damaged = true;
    pos = next;
  }
  let tail: Scan['tail'];
  if (validEnd < buf.length) {
    const rest = buf.subarray(validEnd);
    let magics = 0;
    for (let at = rest.indexOf(MAGIC_BYTES); at >= 0; at = rest.indexOf(MAGIC_BYTES, at + 1)) magics++;
    // A whole record whose CRC fails, or whose length field alone is damaged (the CRC matches the true length).
    const first = parseRecord(rest, 0);
    const lengthOnly = rest.length >= RECORD_HEADER_BYTES && rest.readUInt32LE(0) === MAGIC && crcWithLength(rest) === rest.readUInt32LE(8);
    tail = { at: validEnd, bytes: rest.length, records: Math.max(1, magics), complete: first === 'bad' || lengthOnly };
  }
  return { runs, start, meta, damaged, tail };
}

/** CRC of a record that fills the whole buffer, as if its length field said so. */
function crcWithLength(rec: Buffer): number {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(rec.length - RECORD_HEADER_BYTES, 0);
  return crc32(rec.subarray(12), crc32(len));
}

/** Adds [a, b] to sorted disjoint ranges, merging neighbours. */
function addRange(list: Array<[number, number]>, a: number, b: number): void {
  if (b < a) return;
  const lastR = list.at(-1);
  if (lastR !== undefined && a >= lastR[0]) {
    if (a <= lastR[1] + 1) {
      lastR[1] = Math.max(lastR[1], b);
      return;
    }
    list.push([a, b]);
    return;
  }
  list.push([a, b]);
  list.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of list) {
    const m = merged.at(-1);
    if (m !== undefined && r[0] <= m[1] + 1) m[1] = Math.max(m[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  list.splice(0, list.length, ...merged);
}

/** The parts of [a, b] not covered by the (sorted) ranges. */
function uncovered(list: ReadonlyArray<readonly [number, number]>, a: number, b: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = a;
  for (const [x, y] of list) {
    if (at > b) break;
    if (y < at) continue;
    if (x > b) break;
    if (x > at) out.push([at, x - 1]);
    at = Math.max(at, y + 1);
  }
  if (at <= b) out.push([at, b]);
  return out;
}

/** The ranges minus the seqs in `minus`. */
function subtract(list: Array<[number, number]>, minus: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  return list.flatMap(([a, b]) => uncovered(minus, a, b));
}

/** How many seqs of the runs are above `x`. */
function countAbove(runs: ReadonlyArray<readonly [number, number]>, x: number): number {
  let n = 0;
  for (const [a, b] of runs) if (b > x) n += b - Math.max(a, x + 1) + 1;
  return n;
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
