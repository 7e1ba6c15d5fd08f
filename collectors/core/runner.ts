import type { Category } from './category.js';
import { DEFAULT_POLICY, type EffectivePolicy, readContext } from './policy.js';
import { SignalUnavailable, type AnySignalSpec, type SignalResult, type Unavailable, unavailable } from './signal.js';

export interface SignalOutcome {
  spec: AnySignalSpec<unknown>;
  result: SignalResult;
  durationMs: number;
}

export interface RunOptions {
  /** Client-side ceiling per signal; the engine's own statement timeout should fire first. */
  timeoutMs: number;
  mapError(err: unknown): Unavailable;
  /** Signals the operator has not opted into. */
  isOptedIn?(spec: AnySignalSpec<unknown>): boolean;
  /** The cycle's policy, handed to every read(); DEFAULT_POLICY when not given. */
  policy?: EffectivePolicy;
  onProgress?(done: number, total: number, id: string): void;
}

class ClientTimeout extends Error {}

/** The excluded categories when every field of the signal is sensitive and excluded (nothing left to read), else undefined. */
export function fullyExcluded(spec: AnySignalSpec<unknown>, policy: EffectivePolicy): Category[] | undefined {
  const categories = Object.values(spec.fields as Record<string, Category | null>);
  if (categories.length === 0 || !categories.every((c) => c !== null && policy[c] === 'exclude')) return undefined;
  return [...new Set(categories as Category[])];
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** What a signal's result is without reading it (excluded by the policy, not opted in, the session abandoned), or undefined: read it. */
function notRead(spec: AnySignalSpec<unknown>, policy: EffectivePolicy, opts: RunOptions, abandoned: string | undefined): SignalResult | undefined {
  const excluded = fullyExcluded(spec, policy);
  // Nothing of it would be shipped: not even a statement goes to the server.
  if (excluded !== undefined) return unavailable('disabled', `every field is excluded by the policy (${excluded.join(', ')})`);
  if (abandoned !== undefined) return unavailable('timeout', `not read: the session was abandoned after ${abandoned} timed out`);
  if (spec.optIn !== undefined && !(opts.isOptedIn?.(spec) ?? false))
    return spec.optIn === 'license'
      ? unavailable('not_licensed', 'needs a licence the operator has not confirmed for this target')
      : unavailable('disabled', 'opt-in signal: the operator has not enabled it for this target');
  return undefined;
}

/** A read's rows as the signal's result; a failure as `unavailable` with the engine's reason. */
function resultOf(spec: AnySignalSpec<unknown>, rows: unknown[]): SignalResult {
  if (spec.shape !== 'object') return { status: 'ok', value: rows };
  const row = rows[0];
  return row === undefined ? unavailable('error', 'the server returned no row') : { status: 'ok', value: row };
}

function failureOf(err: unknown, opts: RunOptions): SignalResult {
  return err instanceof SignalUnavailable ? err.toResult() : opts.mapError(err);
}

/**
 * Reads each signal of a catalog on one session. Every outcome is a tri-state
 * result: a failure becomes `unavailable` with the engine's mapped reason, never a
 * thrown error, never 0. A session that sends one statement at a time reads the
 * signals one after another; a pipelined one (ClosableSession.pipelined) starts them
 * all at once (runConcurrently).
 */
export async function runSignals<S>(catalog: readonly AnySignalSpec<S>[], session: S, opts: RunOptions): Promise<SignalOutcome[]> {
  const pipelined = (session as { pipelined?: unknown } | null)?.pipelined === true;
  return pipelined ? runConcurrently(catalog, session, opts) : runInTurn(catalog, session, opts);
}

/**
 * One signal after another. After a client-side timeout the session may still be
 * busy with the abandoned statement, so the remaining signals are reported as timed
 * out rather than queued behind it.
 */
async function runInTurn<S>(catalog: readonly AnySignalSpec<S>[], session: S, opts: RunOptions): Promise<SignalOutcome[]> {
  const outcomes: SignalOutcome[] = [];
  const policy = opts.policy ?? DEFAULT_POLICY;
  const ctx = readContext(policy);
  let abandoned: string | undefined;
  for (const [i, spec] of catalog.entries()) {
    const started = performance.now();
    let result = notRead(spec as AnySignalSpec<unknown>, policy, opts, abandoned);
    if (result === undefined) {
      try {
        result = resultOf(spec as AnySignalSpec<unknown>, await withTimeout(spec.read(session, ctx), opts.timeoutMs));
      } catch (err) {
        if (err instanceof ClientTimeout) {
          abandoned = spec.id;
          result = unavailable('timeout', `no answer within ${opts.timeoutMs} ms`);
        } else {
          result = failureOf(err, opts);
        }
      }
    }
    outcomes.push({ spec: spec as AnySignalSpec<unknown>, result, durationMs: performance.now() - started });
    opts.onProgress?.(i + 1, catalog.length, spec.id);
  }
  return outcomes;
}

/**
 * Every signal's read started at once on a pipelined session: the server still runs
 * the statements one after another, in the order they were sent, but the agent no
 * longer waits a round trip between them. The client-side limit is on progress
 * rather than per signal (a read queued behind slow ones is not late): when no read
 * finishes for `timeoutMs`, the ones still waiting are reported as timed out and the
 * session is abandoned, as in turn-by-turn reading.
 */
async function runConcurrently<S>(catalog: readonly AnySignalSpec<S>[], session: S, opts: RunOptions): Promise<SignalOutcome[]> {
  const policy = opts.policy ?? DEFAULT_POLICY;
  const ctx = readContext(policy);
  const outcomes: Array<SignalOutcome | undefined> = new Array<SignalOutcome | undefined>(catalog.length);
  const started = performance.now();
  const waiting = new Set<number>();
  let done = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const finish = (i: number, result: SignalResult): void => {
    if (outcomes[i] !== undefined) return; // answered after the session was abandoned: too late
    const spec = catalog[i] as AnySignalSpec<unknown>;
    outcomes[i] = { spec, result, durationMs: performance.now() - started };
    waiting.delete(i);
    opts.onProgress?.(++done, catalog.length, spec.id);
    if (waiting.size === 0) {
      clearTimeout(timer);
      allDone();
    } else if (timer !== undefined) arm();
  };
  // The progress clock: restarted whenever a read finishes.
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const late = [...waiting].sort((a, b) => a - b);
      const first = catalog[late[0]!]!.id;
      for (const i of late)
        finish(
          i,
          catalog[i]!.id === first
            ? unavailable('timeout', `no answer within ${opts.timeoutMs} ms`)
            : unavailable('timeout', `not read: the session was abandoned after ${first} timed out`),
        );
    }, opts.timeoutMs);
  };
  for (const [i, spec] of catalog.entries()) {
    const result = notRead(spec as AnySignalSpec<unknown>, policy, opts, undefined);
    if (result !== undefined) {
      finish(i, result);
      continue;
    }
    waiting.add(i);
    let read: Promise<unknown[]>;
    try {
      read = spec.read(session, ctx);
    } catch (err) {
      finish(i, failureOf(err, opts));
      continue;
    }
    read.then(
      (rows) => finish(i, resultOf(spec as AnySignalSpec<unknown>, rows)),
      (err: unknown) => finish(i, failureOf(err, opts)),
    );
  }
  if (waiting.size > 0) {
    arm();
    await finished;
  }
  return outcomes as SignalOutcome[];
}
