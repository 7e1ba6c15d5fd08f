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

/**
 * Reads each signal of a catalog on one session, one after another (a session is
 * one connection). Every outcome is a tri-state result: a failure becomes
 * `unavailable` with the engine's mapped reason, never a thrown error, never 0.
 * After a client-side timeout the session may still be busy with the abandoned
 * statement, so the remaining signals are reported as timed out rather than
 * queued behind it.
 */
export async function runSignals<S>(catalog: readonly AnySignalSpec<S>[], session: S, opts: RunOptions): Promise<SignalOutcome[]> {
  const outcomes: SignalOutcome[] = [];
  const policy = opts.policy ?? DEFAULT_POLICY;
  const ctx = readContext(policy);
  let abandoned: string | undefined;
  for (const [i, spec] of catalog.entries()) {
    const started = performance.now();
    let result: SignalResult;
    const excluded = fullyExcluded(spec as AnySignalSpec<unknown>, policy);
    if (excluded !== undefined) {
      // Nothing of it would be shipped: not even a statement goes to the server.
      result = unavailable('disabled', `every field is excluded by the policy (${excluded.join(', ')})`);
    } else if (abandoned !== undefined) {
      result = unavailable('timeout', `not read: the session was abandoned after ${abandoned} timed out`);
    } else if (spec.optIn !== undefined && !(opts.isOptedIn?.(spec as AnySignalSpec<unknown>) ?? false)) {
      result =
        spec.optIn === 'license'
          ? unavailable('not_licensed', 'needs a licence the operator has not confirmed for this target')
          : unavailable('disabled', 'opt-in signal: the operator has not enabled it for this target');
    } else {
      try {
        const rows = await withTimeout(spec.read(session, ctx), opts.timeoutMs);
        if (spec.shape === 'object') {
          const row = rows[0];
          result = row === undefined ? unavailable('error', 'the server returned no row') : { status: 'ok', value: row };
        } else {
          result = { status: 'ok', value: rows };
        }
      } catch (err) {
        if (err instanceof ClientTimeout) {
          abandoned = spec.id;
          result = unavailable('timeout', `no answer within ${opts.timeoutMs} ms`);
        } else if (err instanceof SignalUnavailable) {
          result = err.toResult();
        } else {
          result = opts.mapError(err);
        }
      }
    }
    outcomes.push({ spec: spec as AnySignalSpec<unknown>, result, durationMs: performance.now() - started });
    opts.onProgress?.(i + 1, catalog.length, spec.id);
  }
  return outcomes;
}
