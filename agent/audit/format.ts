import { createHash } from 'node:crypto';
import type { AuditEntry, PolicyChangeEntry } from '../../collectors/core/audit.js';

/**
 * The on-disk formats of the audit ledger (docs/audit-ledger.md). Shared by the
 * writer (ledger.ts) and the reader (reader.ts), so that what one writes the
 * other reads with the same checks.
 *
 * - statements.jsonl: one line per distinct statement text ever sent,
 *   `{"id": <digest>, "text": <exact text>}`; the id is the first 16 hex digits
 *   of the SHA-256 of the text (longer when two texts share a prefix).
 * - audit.jsonl (live): one line per statement as it is sent, appended
 *   synchronously: `{"time","target","engine","cycle","sid","ms","outcome","code"?,"rows"?}`,
 *   and policy changes as `{"kind":"policy_change",…}`. Lines written by earlier
 *   versions (`{"time","targetId","engine","statement",…}`) are still read.
 * - audit-<from>-<to>-<cycle>.jsonl.gz (segments): the live file once rotated,
 *   compacted to one record per cycle and gzip-compressed (see SegmentHeader).
 */

/** Digest prefix lengths tried in turn: a longer id only when two texts share the shorter one. */
export const ID_LENGTHS = [16, 32, 64] as const;

export const digestOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** True when `id` is a prefix of the text's digest: a hand-edited text no longer matches its id. */
export const idMatches = (id: string, text: string): boolean => ID_LENGTHS.includes(id.length as 16) && digestOf(text).startsWith(id);

/** One statement line of the live file. */
export interface LiveStatement {
  time: string;
  target: string;
  engine: string;
  cycle: number;
  sid: string;
  ms: number;
  outcome: AuditEntry['outcome'];
  code?: string;
  rows?: number;
}

export interface StatementText {
  id: string;
  text: string;
}

/** What one line of a live (or legacy) ledger file is. */
export type LiveLine = { kind: 'statement'; value: LiveStatement } | { kind: 'legacy'; value: AuditEntry } | { kind: 'policy'; value: PolicyChangeEntry };

const OUTCOMES = new Set(['ok', 'error', 'refused']);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTime = (v: unknown): v is string => isStr(v) && Number.isFinite(Date.parse(v));
const optStr = (v: unknown): boolean => v === undefined || isStr(v);
const optNum = (v: unknown): boolean => v === undefined || isNum(v);

/** Parses one line of a live or legacy file; undefined when it is not a well-formed ledger line. */
export function parseLiveLine(line: string): LiveLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o['kind'] === 'policy_change') {
    return isTime(o['time']) && isStr(o['actor']) && isStr(o['scope']) ? { kind: 'policy', value: o as unknown as PolicyChangeEntry } : undefined;
  }
  if (!isTime(o['time']) || !isStr(o['engine']) || !isNum(o['durationMs'] ?? o['ms']) || !OUTCOMES.has(o['outcome'] as string)) return undefined;
  if (!optStr(o['code']) || !optNum(o['rows'])) return undefined;
  if (isLiveStatement(o)) return { kind: 'statement', value: o as unknown as LiveStatement };
  if (isStr(o['statement']) && isStr(o['targetId']) && isNum(o['durationMs'])) return { kind: 'legacy', value: o as unknown as AuditEntry };
  return undefined;
}

/**
 * True when `o` is a statement line of the live file: what parseLiveLine accepts
 * as one. The writer asks this of each line it writes (as an object, before it
 * is serialised), so that its in-memory copy of the live file keeps exactly the
 * lines a reader of the file would.
 */
export function isLiveStatement(o: Record<string, unknown>): boolean {
  return liveStatementEnd(o) !== undefined;
}

/** When the statement of a live statement line ended (ms since the epoch); undefined when `o` is not one (isLiveStatement). */
export function liveStatementEnd(o: Record<string, unknown>): number | undefined {
  const end = isStr(o['time']) ? Date.parse(o['time']) : NaN;
  return Number.isFinite(end) &&
    isStr(o['engine']) &&
    OUTCOMES.has(o['outcome'] as string) &&
    optStr(o['code']) &&
    optNum(o['rows']) &&
    isStr(o['sid']) &&
    isStr(o['target']) &&
    isNum(o['cycle']) &&
    Number.isSafeInteger(o['cycle']) &&
    isNum(o['ms'])
    ? end
    : undefined;
}

export function parseStatementLine(line: string): StatementText | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { id, text } = v as Record<string, unknown>;
    return isStr(id) && isStr(text) ? { id, text } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A segment (after gunzip) is JSON lines:
 *   {"segment":1,"from":ms,"to":ms,"first":c,"cycles":n}  header
 *   {"t":i,"id":"pg-1","engine":"postgres"}               targets, by index
 *   {"p":i,"s":["<sid>",…]}                               plans: the statement ids of a cycle, in order
 *   [dc,t,dt,p,[ms,…],[[i,"error","57014"],…]?]           one record per cycle
 *   {"kind":"policy_change",…}                            policy changes, verbatim
 * dc: cycle number minus the previous record's (the first: minus `first`); dt: start (ms) minus the same
 * target's previous start in this segment (the first: minus `from`); ms: each
 * statement's duration rounded to the millisecond; the optional last element
 * lists the statements whose outcome was not "ok" (index, outcome, code).
 */
export interface SegmentHeader {
  segment: 1;
  from: number;
  to: number;
  /** The first record's cycle number (its dc is relative to it). */
  first: number;
  cycles: number;
}

/**
 * One compacted cycle: [cycle delta, target index, start delta (ms), plan index, cycle duration (ms),
 * slow statements as [index, ms] pairs, failed statements as [index, outcome, code?]]. A statement's own
 * duration is kept only when it reached SLOW_STATEMENT_MS or failed: the durations of fast statements are
 * noise that would cost most of the ledger's bytes (docs/audit-ledger.md). An earlier layout kept every
 * duration as an array in place of the cycle duration; the reader accepts both.
 */
export type CycleRecordLine = [number, number, number, number, number | number[], [number, number][]?, ([number, string] | [number, string, string])[]?];

/** A statement at least this slow keeps its own duration once compacted. */
export const SLOW_STATEMENT_MS = 100;

export const SEGMENT_RE = /^audit-(\d+)-(\d+)-(\d+)\.jsonl\.gz$/;
export const segmentName = (from: number, to: number, firstCycle: number): string => `audit-${from}-${to}-${firstCycle}.jsonl.gz`;
export const LEGACY_RE = /^audit\.(\d+)\.jsonl$/;

/** One statement of a cycle as the reader returns it. */
export interface CycleStatement {
  id: string;
  /** The exact text sent; undefined when the statements file lacks it or it fails its digest. */
  text: string | undefined;
  outcome: AuditEntry['outcome'];
  code?: string;
  /**
   * Milliseconds: exact (3 decimals) in the live file; once compacted, rounded to 1 ms for a statement
   * that took at least SLOW_STATEMENT_MS or failed, and absent for a faster one (`fasterThanMs` says so).
   */
  durationMs?: number;
  /** Set instead of durationMs for a compacted fast statement: it took less than this. */
  fasterThanMs?: number;
  rows?: number;
  /** When it finished: exact in the live file; absent once compacted. */
  time?: string;
}

/** One cycle: which statements were sent to which target, when. */
export interface CycleView {
  cycle: number;
  target: string;
  engine: string;
  /** When the cycle's first statement started (ms since the epoch). */
  startedAt: number;
  statements: CycleStatement[];
  /** live: the current file (exact times); segment: compacted; legacy: a file from an earlier version. */
  source: 'live' | 'segment' | 'legacy';
}
