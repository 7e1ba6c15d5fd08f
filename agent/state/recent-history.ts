import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { FileReadError, readBoundedFile } from '../../collectors/core/bounded-read.js';
import { type PayloadV1, PayloadV1Schema, serializePayload } from '../../collectors/core/payload.js';

export interface RecentHistoryOptions {
  /** Cycles kept per target (default 120: an hour at a 30 s interval). */
  maxCycles?: number;
  /** Bytes of serialised payloads kept per target (default 2 MiB); the oldest go first. */
  maxBytes?: number;
}

interface Entry {
  payload: PayloadV1;
  bytes: number;
}

/**
 * The agent's own recent history per target: the last cycles' payloads (exactly as
 * previewed and shipped, the policy applied), bounded by count and by bytes, so the
 * window can draw its charts again after a reload or an app restart. Kept in memory
 * and, when `dir` is given, in `<dir>/<target>@history.json` (mode 0600, replaced
 * atomically; a file larger than the bound or damaged is ignored, not fatal).
 */
export class RecentHistory {
  private readonly byTarget = new Map<string, Entry[]>();
  private readonly loaded = new Map<string, Promise<void>>();
  private writes: Promise<void> = Promise.resolve();
  readonly maxCycles: number;
  readonly maxBytes: number;

  constructor(
    readonly dir?: string,
    opts: RecentHistoryOptions = {},
  ) {
    this.maxCycles = opts.maxCycles ?? 120;
    this.maxBytes = opts.maxBytes ?? 2 * 1024 * 1024;
  }

  /**
   * `<target>@history.json`: "@" is not allowed in a target id, so no other target's
   * files (`<id>.json`, `<id>@1.json`) can have this name. The earlier name,
   * `<target>.history.json`, was also the memory file of a target called
   * "<target>.history"; it is read once, when it holds this target's history, and then removed.
   */
  file(targetId: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, `${encodeURIComponent(targetId)}@history.json`);
  }

  private legacyFile(targetId: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, `${encodeURIComponent(targetId)}.history.json`);
  }

  private load(targetId: string): Promise<void> {
    let p = this.loaded.get(targetId);
    if (p === undefined) {
      p = this.read(targetId);
      this.loaded.set(targetId, p);
    }
    return p;
  }

  private async read(targetId: string): Promise<void> {
    const file = this.file(targetId);
    if (file === undefined) return;
    let entries = await this.readFile(file, targetId);
    if (entries === 'absent') {
      // Written by an earlier version: taken only if it is this target's history (another target's memory
      // file may have that name), and removed once read; the entries are saved under the new name next cycle.
      const legacy = this.legacyFile(targetId)!;
      entries = await this.readFile(legacy, targetId);
      if (entries !== 'absent' && entries !== 'other') await rm(legacy, { force: true }).catch(() => {});
    }
    if (entries === 'absent' || entries === 'other') return;
    // Cycles recorded before the file was read come after the file's.
    this.byTarget.set(targetId, this.bound([...entries, ...(this.byTarget.get(targetId) ?? [])]));
  }

  /** A history file's entries of this target; 'absent' (no such file), 'other' (not a history: damaged, or another file). */
  private async readFile(file: string, targetId: string): Promise<Entry[] | 'absent' | 'other'> {
    let text: string;
    try {
      // Twice the payload bound: room for the JSON around them; anything larger is not one this agent wrote.
      text = (await readBoundedFile(file, { what: `the recent history of target ${targetId}`, maxBytes: 2 * this.maxBytes + 4096 })).toString('utf8');
    } catch (err) {
      if (err instanceof FileReadError) return err.code === 'ENOENT' ? 'absent' : 'other';
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; payloads?: unknown };
      if (parsed.version !== 1 || !Array.isArray(parsed.payloads)) return 'other';
      const entries: Entry[] = [];
      for (const raw of parsed.payloads) {
        const p = PayloadV1Schema.safeParse(raw);
        if (p.success && p.data.target.id === targetId) entries.push({ payload: p.data, bytes: Buffer.byteLength(serializePayload(p.data)) });
      }
      return entries;
    } catch {
      // A damaged file: the history starts again (the charts are rebuilt from the next cycles).
      return 'other';
    }
  }

  /** The newest entries within both bounds, oldest first. */
  private bound(entries: Entry[]): Entry[] {
    const kept: Entry[] = [];
    let bytes = 0;
    for (let i = entries.length - 1; i >= 0 && kept.length < this.maxCycles; i--) {
      const e = entries[i]!;
      if (bytes + e.bytes > this.maxBytes) break;
      bytes += e.bytes;
      kept.push(e);
    }
    return kept.reverse();
  }

  /** Adds a finished cycle's payload and saves the target's history. */
  async record(payload: PayloadV1): Promise<void> {
    const id = payload.target.id;
    await this.load(id);
    const bytes = Buffer.byteLength(serializePayload(payload));
    this.byTarget.set(id, this.bound([...(this.byTarget.get(id) ?? []), { payload, bytes }]));
    await this.save(id);
  }

  /** The target's recent payloads, oldest first. */
  async get(targetId: string): Promise<PayloadV1[]> {
    await this.load(targetId);
    return (this.byTarget.get(targetId) ?? []).map((e) => e.payload);
  }

  /** A removed target's history goes with it (memory and file). */
  async forget(targetId: string): Promise<void> {
    this.byTarget.delete(targetId);
    this.loaded.set(targetId, Promise.resolve());
    const file = this.file(targetId);
    if (file !== undefined) {
      const legacy = this.legacyFile(targetId)!;
      const next = this.writes.then(async () => {
        await rm(file, { force: true });
        // The earlier name only when it is this target's history (it may be another target's memory).
        if (Array.isArray(await this.readFile(legacy, targetId))) await rm(legacy, { force: true });
      });
      this.writes = next.catch(() => {});
      await next;
    }
  }

  private save(targetId: string): Promise<void> {
    const file = this.file(targetId);
    if (file === undefined || this.dir === undefined) return Promise.resolve();
    const dir = this.dir;
    // One write at a time, each with the history as it is when it runs.
    const next = this.writes.then(async () => {
      const entries = this.byTarget.get(targetId);
      if (entries === undefined) return;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const body = `{"version":1,"payloads":[${entries.map((e) => serializePayload(e.payload)).join(',')}]}\n`;
      await writeFileAtomic(file, body, { mode: 0o600 });
    });
    this.writes = next.catch(() => {});
    return next;
  }
}
