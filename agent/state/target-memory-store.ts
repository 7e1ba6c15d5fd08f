import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { FileReadError, readBoundedFile } from '../../collectors/core/bounded-read.js';
import { join } from 'node:path';
import { type JsonValue, StagedMemory, type TargetMemoryStore as MemoryStore } from '../../collectors/core/memory.js';

/**
 * Where collectors' per-target state lives between cycles and agent restarts:
 * one small JSON file per target (mode 0600), replaced atomically so a crash
 * mid-write keeps the previous version. A cycle works on a staged copy; the
 * caller commits it only once the cycle's payload is safely stored, so an entry
 * that never left the machine is read again (at-least-once, never lost).
 */
export class TargetMemoryStore implements MemoryStore {
  constructor(readonly dir: string) {}

  file(targetId: string): string {
    // Target ids are already file-name safe (target.ts); encode anyway, it costs nothing.
    return join(this.dir, `${encodeURIComponent(targetId)}.json`);
  }

  async load(targetId: string): Promise<StagedMemory> {
    const file = this.file(targetId);
    let text: string;
    try {
      text = (await readBoundedFile(file, { what: `the state of target ${targetId}`, maxBytes: 4 * 1024 * 1024 })).toString('utf8');
    } catch (err) {
      if (err instanceof FileReadError && err.code === 'ENOENT') return new StagedMemory();
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; values?: unknown };
      if (parsed.version === 1 && typeof parsed.values === 'object' && parsed.values !== null && !Array.isArray(parsed.values)) {
        // Parsed from the file just now and referenced nowhere else: adopted without a copy.
        return StagedMemory.adopt(parsed.values as Record<string, JsonValue>);
      }
    } catch {
      // fall through: a damaged file is set aside, not fatal
    }
    // Losing the state only means re-reading what the server still holds (duplicates, not gaps).
    await rename(file, `${file}.damaged-${Date.now()}`).catch(() => {});
    return new StagedMemory();
  }

  async commit(targetId: string, memory: StagedMemory): Promise<void> {
    if (!memory.dirty) return;
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.dirReady = true;
    }
    await replaceFile(this.file(targetId), `{"version":1,"values":${memory.serialize()}}\n`);
  }

  private dirReady = false;
}

let tmpCounter = 0;

/**
 * Replaces `file` atomically and durably: a new 0600 file beside it (created
 * exclusively), written and fsynced, then renamed over the old one, so a crash
 * leaves the previous or the next version, never half of one. (What
 * write-file-atomic does, without its per-write realpath, chown and chmod: this
 * runs once per target and cycle.)
 */
async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(text, 'utf8');
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
