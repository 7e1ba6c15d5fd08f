import { createHash } from 'node:crypto';
import { closeSync, constants, fdatasync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { FileReadError, readBoundedFileSync } from '../../collectors/core/bounded-read.js';
import { join } from 'node:path';
import { type JsonValue, StagedMemory, type TargetMemoryStore as MemoryStore } from '../../collectors/core/memory.js';

type Slot = 0 | 1;

/** One slot's content, checked: its generation and values. */
interface Version {
  slot: Slot;
  generation: number;
  values: Record<string, JsonValue>;
}

const MAX_BYTES = 4 * 1024 * 1024;
const DIGEST_PREFIX = 'sha256:';
const digestOf = (body: string): string => createHash('sha256').update(body).digest('hex');

/**
 * Where collectors' per-target state lives between cycles and agent restarts, and
 * how a cycle's changes become durable without a new file per cycle.
 *
 * Each target has two slot files (mode 0600), written in turn: a commit overwrites
 * the slot that does NOT hold the newest version, in place, and fsyncs it. Each slot
 * holds one line of JSON (`{"version":2,"generation":G,"values":…}`) and a second
 * line with the SHA-256 of the first. A load takes the slot with the highest
 * generation whose digest matches, so a write cut short (a crash, a full disk, a
 * power cut before the fsync finished) leaves the previous version in the other
 * slot, and a half-written slot is never mistaken for state. That is the guarantee
 * the former write-a-new-file-and-rename gave, without creating and renaming a file
 * (and updating the directory) on every cycle of every target: at 1,000 targets that
 * was the agent's costliest file work (docs/many-targets.md).
 *
 * The store remembers which slot it last wrote or read for each target, so a load
 * normally reads one file; any doubt (a digest or generation that is not what it
 * wrote, another process writing the same home) reads both. A cycle works on a
 * staged copy; the caller commits it only once the cycle's payload is safely stored,
 * so an entry that never left the machine is read again (at-least-once, never lost).
 * A file of the earlier format (one `<id>.json`, replaced whole by rename) is read as
 * generation 0 and replaced by the slots on the next commit.
 */
export class TargetMemoryStore implements MemoryStore {
  /** The slot holding each target's newest version, and its generation, as this store last saw it. */
  private readonly newest = new Map<string, { slot: Slot; generation: number }>();

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
      const v = await this.readSlot(targetId, known.slot);
      // What this store wrote last, intact: the one read needed.
      if (v !== undefined && v !== 'damaged' && v.generation === known.generation) return StagedMemory.adopt(v.values);
    }
    // A slot read while another store (another process on this home) writes it reads as damaged; that
    // writer finishes within milliseconds, so "nothing whole" is believed only when it lasts.
    let slots: Array<Version | 'damaged' | undefined> = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20));
      slots = await Promise.all([this.readSlot(targetId, 0), this.readSlot(targetId, 1)]);
      const best = slots.filter((v): v is Version => v !== undefined && v !== 'damaged').sort((x, y) => y.generation - x.generation)[0];
      if (best !== undefined) {
        this.newest.set(targetId, { slot: best.slot, generation: best.generation });
        // Parsed from the file just now and referenced nowhere else: adopted without a copy.
        return StagedMemory.adopt(best.values);
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
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.dirReady = true;
    }
    let known = this.newest.get(targetId);
    if (known === undefined) {
      // Not loaded by this store: find the newest version first, so it is never the one overwritten.
      await this.load(targetId);
      known = this.newest.get(targetId) ?? { slot: 1, generation: 0 };
    }
    const slot: Slot = known.slot === 0 ? 1 : 0;
    const generation = known.generation + 1;
    const body = `{"version":2,"generation":${generation},"values":${memory.serialize()}}`;
    await overwrite(this.slotFile(targetId, slot), `${body}\n${DIGEST_PREFIX}${digestOf(body)}\n`);
    this.newest.set(targetId, { slot, generation });
  }

  private dirReady = false;

  /**
   * A slot's version; undefined when the file does not exist, 'damaged' when it is not a whole version.
   * Read synchronously, like the commit's writes: a few kilobytes, usually still in the page cache.
   */
  private async readSlot(targetId: string, slot: Slot): Promise<Version | 'damaged' | undefined> {
    let text: string;
    try {
      text = readBoundedFileSync(this.slotFile(targetId, slot), { what: `the state of target ${targetId}`, maxBytes: MAX_BYTES }).toString('utf8');
    } catch (err) {
      if (err instanceof FileReadError && err.code === 'ENOENT') return undefined;
      // Larger than the bound, or growing while read (a write in progress): not a whole version.
      if (err instanceof FileReadError && err.code === 'EFBIG') return 'damaged';
      throw err;
    }
    return parseSlot(text, slot);
  }
}

/** A slot's text as a version, or 'damaged' (cut short, altered, or not this format). */
export function parseSlot(text: string, slot: Slot): Version | 'damaged' {
  let body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let generation: number | undefined;
  const cut = body.lastIndexOf('\n');
  if (cut >= 0) {
    // The current format: the JSON line, then the digest of exactly that line.
    const digest = body.slice(cut + 1);
    body = body.slice(0, cut);
    if (digest !== `${DIGEST_PREFIX}${digestOf(body)}`) return 'damaged';
  } else if (slot !== 0) return 'damaged';
  try {
    const parsed = JSON.parse(body) as { version?: unknown; generation?: unknown; values?: unknown };
    if (typeof parsed.values !== 'object' || parsed.values === null || Array.isArray(parsed.values)) return 'damaged';
    if (cut >= 0 && parsed.version === 2 && Number.isSafeInteger(parsed.generation) && (parsed.generation as number) > 0)
      generation = parsed.generation as number;
    // The earlier format: one file replaced whole by rename, so never half-written; older than any slot.
    else if (cut < 0 && parsed.version === 1) generation = 0;
    else return 'damaged';
    return { slot, generation, values: parsed.values as Record<string, JsonValue> };
  } catch {
    return 'damaged';
  }
}

/**
 * Overwrites `file` in place (created 0600 if missing) and makes it durable: the
 * bytes from offset 0, the length cut to them, then fdatasync. A crash in between
 * leaves a slot whose digest does not match, which a load passes over.
 *
 * Open, write, truncate and close are synchronous: a slot is a few kilobytes written
 * to the page cache, and each asynchronous call was a round trip through libuv's
 * thread pool (at 1,000 targets, five per cycle; docs/many-targets.md). Only the
 * fdatasync, which waits for the disk, runs off the event loop.
 */
async function overwrite(file: string, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  // Created if missing, never truncated on open (the old bytes stay until the new ones are written), and a
  // symbolic link put in its place is refused rather than followed (O_NOFOLLOW; Windows has none).
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, done);
    ftruncateSync(fd, bytes.length);
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    closeSync(fd);
  }
}
