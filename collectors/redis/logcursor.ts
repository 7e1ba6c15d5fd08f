import type { JsonValue, TargetMemory } from '../core/memory.js';
import type { RawLogEntry } from './parse.js';

/**
 * Reads only the entries of a server log (SLOWLOG, COMMANDLOG <type>) that were
 * not shipped before, without ever resetting the log: the agent remembers the
 * highest entry id it shipped, per server run. Entry ids grow for the life of
 * the server process (SLOWLOG RESET does not rewind them) and start again at 0
 * after a restart, which the run_id from INFO server reveals; ids going
 * backwards under the same run_id (a failover to another server reporting an
 * unknown run id) are treated the same way.
 */
export interface LogCursor {
  runId: string;
  lastId: number;
}

export type CursorState = 'first_cycle' | 'resumed' | 'server_restarted';

export interface LogRead {
  /** New entries, oldest first. */
  entries: RawLogEntry[];
  /** The log's length as the server reported it; undefined when LEN was not allowed. */
  lengthReported: number | undefined;
  state: CursorState;
  /**
   * Entries newer than the last shipped one that are gone from the log (it
   * rotated faster than the agent read it) or were beyond the per-cycle cap.
   * null when unknown: on the first cycle nothing was shipped before.
   */
  missed: number | null;
  /** The cursor to remember once this cycle's payload is safely stored. */
  next: LogCursor;
}

export interface LogSource {
  /** undefined when the identity may not ask (the read then assumes a full log). */
  length(): Promise<number | undefined>;
  /** The `count` newest entries, in any order. */
  newest(count: number): Promise<RawLogEntry[]>;
}

/** First read size when resuming: a steady log needs one small read per cycle. */
const FIRST_READ = 128;

export async function readNewEntries(source: LogSource, cursor: LogCursor | undefined, runId: string, cap: number): Promise<LogRead> {
  const lengthReported = await source.length();
  let state: CursorState = cursor === undefined ? 'first_cycle' : cursor.runId === runId ? 'resumed' : 'server_restarted';
  let lastId = state === 'resumed' ? cursor!.lastId : -1;
  const limit = Math.min(lengthReported ?? cap, cap);
  if (limit === 0) return { entries: [], lengthReported, state, missed: state === 'resumed' ? 0 : null, next: { runId, lastId } };

  const byIdDesc = (es: RawLogEntry[]): RawLogEntry[] => [...es].sort((a, b) => b.id - a.id);
  let count = state === 'resumed' ? Math.min(FIRST_READ, limit) : limit;
  let got = byIdDesc(await source.newest(count));
  if (state === 'resumed' && got.length > 0 && got[0]!.id < lastId) {
    // Ids went backwards without a run_id change: start over as after a restart.
    state = 'server_restarted';
    lastId = -1;
    count = limit;
    got = byIdDesc(await source.newest(count));
  }
  // Read further back only while everything read so far is new and the log holds more.
  while (state === 'resumed' && got.length === count && count < limit && got.at(-1)!.id > lastId + 1) {
    count = Math.min(count * 4, limit);
    got = byIdDesc(await source.newest(count));
  }
  const fresh = got.filter((e) => e.id > lastId).reverse();
  const oldest = fresh[0];
  let missed: number | null = null;
  if (state === 'resumed') missed = oldest === undefined ? 0 : oldest.id - lastId - 1;
  else if (state === 'server_restarted' && oldest !== undefined) missed = oldest.id; // ids restart at 0
  const newestId = got[0]?.id ?? lastId;
  return { entries: fresh, lengthReported, state, missed, next: { runId, lastId: Math.max(lastId, newestId) } };
}

export function loadCursor(memory: TargetMemory, key: string): LogCursor | undefined {
  const v = memory.get(key);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const { runId, lastId } = v as Record<string, JsonValue>;
  return typeof runId === 'string' && typeof lastId === 'number' && Number.isInteger(lastId) ? { runId, lastId } : undefined;
}

export function saveCursor(memory: TargetMemory, key: string, cursor: LogCursor): void {
  memory.set(key, { runId: cursor.runId, lastId: cursor.lastId });
}
