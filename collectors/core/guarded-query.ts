import type { AuditEntry, AuditSink } from './audit.js';
import { ReadOnlyViolation } from './read-only.js';

/** One statement or command a session is about to send. */
export interface GuardedCall<T> {
  audit: AuditSink;
  targetId: string;
  engine: string;
  /** What the ledger shows (whitespace is collapsed unless `verbatim`). */
  statement: string;
  /** Keep the statement text as given (e.g. a rendered command document). */
  verbatim?: boolean;
  /** The engine's read-only guard: throws ReadOnlyViolation to refuse. Runs before anything else. */
  guard(): void;
  /** A session that can no longer send (closed, or found read-write): the call is refused and audited as such. */
  refusedBecause?(): string | undefined;
  /** The error thrown for refusedBecause(). */
  refusalError?(why: string): Error;
  /** Sends it. Only reached once the guard and the session state agreed. */
  send(): Promise<T>;
  /** Row count for the ledger. */
  rows?(value: T): number | undefined;
  /** Engine error code for the ledger (never the message: it can echo data). */
  errorCode(err: unknown): string;
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Collapsed texts by the text as given: sessions send the same few statements every cycle. */
const collapsed = new Map<string, string>();
/** Beyond this many distinct texts, new ones are collapsed on every call (never evicted: the map stays small). */
const COLLAPSED_MAX = 4096;

/**
 * The statement as the ledger shows it, whitespace collapsed. Remembered per text, so a
 * statement sent every cycle is collapsed once, and every record of it shares one string.
 */
export function ledgerText(statement: string): string {
  let text = collapsed.get(statement);
  if (text === undefined) {
    text = statement.replace(/\s+/g, ' ').trim();
    if (collapsed.size < COLLAPSED_MAX) collapsed.set(statement, text);
  }
  return text;
}

/**
 * The one guarded, audited door every engine's session uses: the statement is
 * checked with the engine's guard, refused ones are recorded as refused and never
 * sent, sent ones are recorded with their outcome, row count and duration. A
 * session cannot send without this record because its driver is reachable only
 * through here.
 */
export async function guardedQuery<T>(call: GuardedCall<T>): Promise<T> {
  const started = performance.now();
  const statement = call.verbatim === true ? call.statement : ledgerText(call.statement);
  const record = (outcome: AuditEntry['outcome'], extra: { code?: string; rows?: number }): void =>
    call.audit.record({
      time: new Date().toISOString(),
      targetId: call.targetId,
      engine: call.engine,
      statement,
      durationMs: round3(performance.now() - started),
      outcome,
      ...extra,
    });
  try {
    call.guard();
  } catch (err) {
    record('refused', { code: 'read_only_guard' });
    throw err instanceof ReadOnlyViolation ? err : new ReadOnlyViolation(err instanceof Error ? err.message : String(err));
  }
  const why = call.refusedBecause?.();
  if (why !== undefined) {
    record('refused', { code: why });
    throw call.refusalError?.(why) ?? new Error(`the session refused to send: ${why}`);
  }
  let value: T;
  try {
    value = await call.send();
  } catch (err) {
    record('error', { code: call.errorCode(err) });
    throw err;
  }
  const rows = call.rows?.(value);
  record('ok', rows === undefined ? {} : { rows });
  return value;
}
