import { createHash } from 'node:crypto';
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { syncDir } from './durable-fs.js';
import { FileReadError, readBoundedFileSync } from '../../collectors/core/bounded-read.js';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type JsonValue, StagedMemory, type TargetMemoryStore as MemoryStore } from '../../collectors/core/memory.js';

type Slot = 0 | 1;

/** One slot's content, checked: its generation, the writer epoch that wrote it, and its values. */
interface Version {
  slot: Slot;
  generation: number;
  /** The writer epoch (see WriterRecord) that wrote it; 0 for the earlier formats, which were fsynced on every commit. */
  epoch: number;
  /** The earlier formats: the values, parsed. */
  values?: Record<string, JsonValue>;
  /** Version 3: each value's JSON text, parsed when first used. */
  texts?: Array<[string, string]>;
}

/** A memory over a version's values. */
const memoryOf = (v: Version, mayBeStale: boolean): StagedMemory =>
  v.texts !== undefined ? StagedMemory.ofTexts(v.texts, mayBeStale) : StagedMemory.adopt(v.values ?? {}, mayBeStale);

/**
 * `@writer.json`: which store instance (process) writes the slots now, and whether the
 * last one stopped cleanly. Written whole (temporary file, fsync, rename, directory fsync).
 */
interface WriterRecord {
  /** The epoch of the latest writer: a number above every earlier writer's. */
  epoch: number;
  /** True from that writer's first commit until its close() made every slot it wrote durable. */
  open: boolean;
  /** Slots written in an epoch below this are doubted (a writer before it did not close). */
  doubtBelow: number;
}

/** The slot holding a target's newest version, its generation, and whether that version is doubted, as this store last saw them. */
interface Known {
  slot: Slot;
  generation: number;
  mayBeStale: boolean;
}

const MAX_BYTES = 4 * 1024 * 1024;
const CRC_PREFIX = 'crc32:';
const NL = 0x0a;
// "@" never occurs in a target id (collectors/core/target.ts), so no target's slot can be this file.
const WRITER_FILE = '@writer.json';
/** CRC-32 of a slot's lines, as 8 hex digits: what tells a whole slot from one cut short or altered. */
const crcOf = (body: Uint8Array): string => crc32(body).toString(16).padStart(8, '0');

/**
 * Where collectors' per-target state lives between cycles and agent restarts, and
 * how a cycle's changes are kept without a new file per cycle.
 *
 * Each target has two slot files (mode 0600), written in turn: a commit overwrites
 * the slot that does NOT hold the newest version, in place. Each slot holds a header
 * line (`{"version":3,"generation":G,"epoch":E,"keys":[…]}`), each key's value as one
 * line of JSON, and a last line with the CRC-32 of all the bytes before it (`crc32:`
 * and 8 hex digits, as the spool checks its records). A value is parsed when a cycle
 * first uses it, and one the cycle did not change is written back as the line it was
 * read as: the query-statistics baseline (most of a PostgreSQL target's state) is
 * parsed and serialised only on the cycles that ship query statistics. A load takes the slot with the highest generation
 * whose CRC-32 matches, so a write cut short (a killed process, a full disk) leaves
 * the previous version in the other slot, and a half-written slot is never mistaken
 * for state.
 *
 * Durability, and what a power cut can do. A commit is not fsynced: a killed agent
 * loses nothing (its writes are in the kernel's page cache), and at 1,000 targets an
 * fdatasync per cycle was the largest file cost left (docs/many-targets.md). What a
 * power cut can do is lose the latest writes, so the state on disk is older than what
 * was shipped: a delta built on it would not apply to what the consumer holds. So
 * staleness is detected, not prevented:
 * - a writer's first commit raises its epoch in `@writer.json` and marks it open
 *   (durably, before any slot of that epoch is written); every slot records its epoch;
 * - close() (a clean stop) fsyncs every slot the writer wrote, then marks the epoch closed;
 * - a writer that finds the previous epoch still open (it crashed, was killed, or lost
 *   power) doubts every slot of an earlier epoch; a store doubts every slot but its own
 *   while another writer's epoch is open (running now, or stopped without closing), and
 *   when it finds no `@writer.json` or a damaged one.
 * A doubted state loads with `mayBeStale`: its values are kept (cursors re-read, so
 * duplicates, never gaps), but the next payload ships every signal full instead of a
 * delta against it (collectors/core/incremental.ts). The slot it then writes is of
 * the new epoch and trusted.
 *
 * The store remembers which slot it last wrote or read for each target, so a load
 * normally reads one file; any doubt (a check or generation that is not what it
 * wrote, another process writing the same home) reads both. A cycle works on a
 * staged copy; the caller commits it only once the cycle's payload is safely stored,
 * so an entry that never left the machine is read again (at-least-once, never lost).
 * A file of the earlier formats (one `<id>.json` replaced whole by rename; slots of
 * version 2, fsynced per commit) is read as epoch 0 (doubted: no writer record then)
 * and replaced by the slots on the next commit.
 */
export class TargetMemoryStore implements MemoryStore {
  private readonly newest = new Map<string, Known>();
  /** @writer.json as last read or written ('damaged': present but not a whole record). */
  private writer: WriterRecord | 'damaged' | undefined | null = null;
  /** This store's epoch while it writes (after its first commit, until close()). */
  private epoch: number | undefined;
  private opening: Promise<number> | undefined;
  /** Slot files written in this epoch, not yet fsynced. */
  private readonly unsynced = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(readonly dir: string) {}

  /** The target's first slot (and the file of the earlier format). */
  file(targetId: string): string {
    return this.slotFile(targetId, 0);
  }

  /**
   * `<id>.json` and `<id>@1.json`. Target ids are file-name safe (collectors/core/target.ts: letters, digits,
   * ".", "_", "-"), so "@" never occurs in one: no target's slot can be another's ("db" and "db.1").
   */
  slotFile(targetId: string, slot: Slot): string {
    return join(this.dir, `${encodeURIComponent(targetId)}${slot === 0 ? '' : '@1'}.json`);
  }

  async load(targetId: string): Promise<StagedMemory> {
    const known = this.newest.get(targetId);
    if (known !== undefined) {
      const v = this.readSlot(targetId, known.slot);
      // What this store wrote or read last, intact: the one read needed.
      if (v !== undefined && v !== 'damaged' && v.generation === known.generation) return memoryOf(v, known.mayBeStale);
    }
    // A slot read while another store (another process on this home) writes it reads as damaged; that
    // writer finishes within milliseconds, so "nothing whole" is believed only when it lasts.
    let slots: Array<Version | 'damaged' | undefined> = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20));
      slots = [this.readSlot(targetId, 0), this.readSlot(targetId, 1)];
      const best = slots.filter((v): v is Version => v !== undefined && v !== 'damaged').sort((x, y) => y.generation - x.generation)[0];
      if (best !== undefined) {
        const mayBeStale = !this.trusts(best.epoch);
        this.newest.set(targetId, { slot: best.slot, generation: best.generation, mayBeStale });
        // Parsed from the file just now and referenced nowhere else: adopted without a copy.
        return memoryOf(best, mayBeStale);
      }
      if (!slots.includes('damaged')) break;
    }
    this.newest.delete(targetId);
    // Nothing readable: damaged slots are set aside (losing the state only means re-reading what the server
    // still holds: duplicates, not gaps), and the target starts afresh.
    for (const [slot, v] of slots.entries())
      if (v === 'damaged') {
        const file = this.slotFile(targetId, slot as Slot);
        await rename(file, `${file}.damaged-${Date.now()}`).catch(() => {});
      }
    return new StagedMemory();
  }

  async commit(targetId: string, memory: StagedMemory): Promise<void> {
    if (!memory.dirty) return;
    const done = this.write(targetId, memory);
    this.inFlight.add(done);
    try {
      await done;
    } finally {
      this.inFlight.delete(done);
    }
  }

  private async write(targetId: string, memory: StagedMemory): Promise<void> {
    const epoch = await this.writerEpoch();
    let known = this.newest.get(targetId);
    if (known === undefined) {
      // Not loaded by this store: find the newest version first, so it is never the one overwritten.
      await this.load(targetId);
      known = this.newest.get(targetId) ?? { slot: 1, generation: 0, mayBeStale: false };
    }
    const slot: Slot = known.slot === 0 ? 1 : 0;
    const generation = known.generation + 1;
    const entries = memory.entryTexts();
    const header = JSON.stringify({ version: 3, generation, epoch, keys: entries.map(([k]) => k) });
    // JSON text never holds a raw newline, so each value is exactly one line.
    const body = entries.length === 0 ? header : `${header}\n${entries.map(([, t]) => t).join('\n')}`;
    const file = this.slotFile(targetId, slot);
    overwrite(file, slotBytes(body));
    this.unsynced.add(file);
    this.newest.set(targetId, { slot, generation, mayBeStale: false });
  }

  /**
   * A clean stop: every slot this store wrote is made durable, then its epoch is marked
   * closed, so the next writer trusts them. A store not closed (a crash, a kill, a power
   * cut) leaves its epoch open, and the next writer doubts what it wrote. Commits after
   * close() open a new epoch.
   */
  async close(): Promise<void> {
    if (this.epoch === undefined && this.opening === undefined) return;
    await Promise.allSettled([...this.inFlight]);
    const epoch = await this.opening;
    const files = [...this.unsynced];
    await Promise.all(files.map((f) => syncFile(f)));
    for (const f of files) this.unsynced.delete(f);
    // Marked closed only if no other writer has started since (its record is left as it is).
    const now = readWriter(this.dir);
    if (epoch !== undefined && now !== undefined && now !== 'damaged' && now.epoch === epoch && now.open) {
      const closed = { ...now, open: false };
      await writeWriter(this.dir, closed);
      this.writer = closed;
    }
    this.epoch = undefined;
    this.opening = undefined;
  }

  /** This store's epoch, opened (durably) at its first commit. */
  private writerEpoch(): Promise<number> {
    const opening = (this.opening ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const before = readWriter(this.dir);
      // Above every epoch before it; the clock only makes a fresh or damaged record's epoch high enough.
      const epoch = Math.max(before === undefined || before === 'damaged' ? 0 : before.epoch + 1, Date.now());
      const cleanBefore = before !== undefined && before !== 'damaged' && !before.open;
      const record: WriterRecord = { epoch, open: true, doubtBelow: cleanBefore ? before.doubtBelow : epoch };
      await writeWriter(this.dir, record);
      this.writer = record;
      this.epoch = epoch;
      return epoch;
    })());
    // Not opened (the directory or the record could not be written): the next commit tries again.
    opening.catch(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    return opening;
  }

  /** Whether a slot written in `epoch` holds what was last shipped (see the class comment). */
  private trusts(epoch: number): boolean {
    if (epoch === this.epoch) return true;
    if (this.writer === null) this.writer = readWriter(this.dir);
    const w = this.writer;
    if (w === undefined || w === 'damaged') return false;
    // Another writer's epoch is open (it runs now, or it stopped without closing): what it wrote may be
    // lost in a power cut, and with it the versions that replaced older slots, so nothing is trusted.
    if (w.open && w.epoch !== this.epoch) return false;
    // Epochs from doubtBelow on closed cleanly (each writer that found its predecessor open raised it).
    return epoch >= w.doubtBelow && epoch <= w.epoch;
  }

  /**
   * A slot's version; undefined when the file does not exist, 'damaged' when it is not a whole version.
   * Read synchronously, like the commit's writes: a few kilobytes, usually still in the page cache.
   */
  private readSlot(targetId: string, slot: Slot): Version | 'damaged' | undefined {
    let bytes: Buffer;
    try {
      bytes = readBoundedFileSync(this.slotFile(targetId, slot), { what: `the state of target ${targetId}`, maxBytes: MAX_BYTES });
    } catch (err) {
      if (err instanceof FileReadError && err.code === 'ENOENT') return undefined;
      // Larger than the bound, or growing while read (a write in progress): not a whole version.
      if (err instanceof FileReadError && err.code === 'EFBIG') return 'damaged';
      throw err;
    }
    return parseSlot(bytes, slot);
  }
}

function readWriter(dir: string): WriterRecord | 'damaged' | undefined {
  let text: string;
  try {
    text = readBoundedFileSync(join(dir, WRITER_FILE), { what: 'the target state writer record', maxBytes: 4096 }).toString('utf8');
  } catch (err) {
    if (err instanceof FileReadError && err.code === 'ENOENT') return undefined;
    return 'damaged';
  }
  try {
    const r = JSON.parse(text) as Partial<WriterRecord> & { version?: unknown };
    if (r.version === 1 && Number.isSafeInteger(r.epoch) && typeof r.open === 'boolean' && Number.isSafeInteger(r.doubtBelow))
      return { epoch: r.epoch!, open: r.open, doubtBelow: r.doubtBelow! };
  } catch {
    // Falls through: not a whole record.
  }
  return 'damaged';
}

async function writeWriter(dir: string, r: WriterRecord): Promise<void> {
  await writeFileAtomic(join(dir, WRITER_FILE), `${JSON.stringify({ version: 1, ...r })}\n`, { mode: 0o600, fsync: true });
  await syncDir(dir);
}

/** fdatasync of a slot file (opened without following a symbolic link put in its place). */
async function syncFile(file: string): Promise<void> {
  const fh = await open(file, constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** A slot's text as a version, or 'damaged' (cut short, altered, or not this format). */
export function parseSlot(bytes: Buffer, slot: Slot): Version | 'damaged' {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === NL ? bytes.length - 1 : bytes.length;
  const cut = end > 0 ? bytes.lastIndexOf(NL, end - 1) : -1;
  let check: 'crc32' | 'sha256' | undefined;
  if (cut >= 0) {
    // The slot formats: the JSON line(s), then the check of exactly the bytes before it.
    const body = bytes.subarray(0, cut);
    const trailer = bytes.toString('latin1', cut + 1, end);
    if (trailer === `${CRC_PREFIX}${crcOf(body)}`) check = 'crc32';
    else if (trailer === `sha256:${createHash('sha256').update(body).digest('hex')}`) check = 'sha256';
    else return 'damaged';
  } else if (slot !== 0) return 'damaged';
  try {
    const text = bytes.toString('utf8', 0, cut >= 0 ? cut : end);
    if (check === 'crc32') {
      // Version 3: a header line naming the keys, then each value's JSON on a line of its own.
      const lines = text.split('\n');
      const header = JSON.parse(lines[0]!) as { version?: unknown; generation?: unknown; epoch?: unknown; keys?: unknown };
      const keys = header.keys;
      if (
        header.version !== 3 ||
        !Number.isSafeInteger(header.generation) ||
        (header.generation as number) <= 0 ||
        !Number.isSafeInteger(header.epoch) ||
        (header.epoch as number) <= 0 ||
        !Array.isArray(keys) ||
        !keys.every((k) => typeof k === 'string') ||
        new Set(keys).size !== keys.length ||
        lines.length !== keys.length + 1
      )
        return 'damaged';
      const texts = (keys as string[]).map((k, i): [string, string] => [k, lines[i + 1]!]);
      return { slot, generation: header.generation as number, epoch: header.epoch as number, texts };
    }
    const parsed = JSON.parse(text) as { version?: unknown; generation?: unknown; values?: unknown };
    if (typeof parsed.values !== 'object' || parsed.values === null || Array.isArray(parsed.values)) return 'damaged';
    let generation: number;
    // Version 2: the slots as they were when every commit was fsynced (checked with SHA-256).
    if (check === 'sha256' && Number.isSafeInteger(parsed.generation) && (parsed.generation as number) > 0 && parsed.version === 2)
      generation = parsed.generation as number;
    // The earlier format: one file replaced whole by rename, so never half-written; older than any slot.
    else if (check === undefined && parsed.version === 1) generation = 0;
    else return 'damaged';
    return { slot, generation, epoch: 0, values: parsed.values as Record<string, JsonValue> };
  } catch {
    return 'damaged';
  }
}

/** A slot's bytes: its lines, then `crc32:` and the CRC-32 of those lines' bytes. One buffer, encoded once. */
function slotBytes(body: string): Buffer {
  const n = Buffer.byteLength(body, 'utf8');
  const out = Buffer.allocUnsafe(n + 1 + CRC_PREFIX.length + 8 + 1);
  out.write(body, 0, n, 'utf8');
  out.write(`\n${CRC_PREFIX}${crcOf(out.subarray(0, n))}\n`, n, 'latin1');
  return out;
}

/**
 * Overwrites `file` in place (created 0600 if missing): the bytes from offset 0, then
 * the length cut to them. A crash in between leaves a slot whose CRC-32 does not
 * match, which a load passes over. Not fsynced (close() does that; see the class
 * comment). Synchronous: a slot is a few kilobytes written to the page cache, and each
 * asynchronous call was a round trip through libuv's thread pool (docs/many-targets.md).
 */
function overwrite(file: string, bytes: Buffer): void {
  // Created if missing, never truncated on open (the old bytes stay until the new ones are written), and a
  // symbolic link put in its place is refused rather than followed (O_NOFOLLOW; Windows has none).
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, done);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
