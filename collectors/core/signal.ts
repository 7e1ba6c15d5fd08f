import { z } from 'zod';
import type { Category } from './category.js';
import type { ReadContext } from './policy.js';

export const FAMILIES = [
  'server_stats',
  'activity',
  'query_stats',
  'waits_locks',
  'replication',
  'schema',
  'security_posture',
  'config',
  'slowlog',
  'cloud',
] as const;
export const FamilySchema = z.enum(FAMILIES);
export type Family = z.infer<typeof FamilySchema>;

/** A family's period: whole seconds, or 'interval' (the target's collection interval). */
export type Period = number | 'interval';

/** Every period is a whole multiple of this (the finest clock the run loop keeps). */
export const BASE_TICK_SECONDS = 1;

/**
 * How each family is collected, declared once: its default period, the shortest
 * period an operator may choose (the target's `schedule`), and how an unchanged
 * value travels (`digest`: slow families ship `unchanged` with a content digest
 * when the value equals the last shipped one). docs/signals.md, `check` and the
 * window show the period from here.
 */
export const FAMILY_SCHEDULE: Readonly<Record<Family, { period: Period; digest: boolean }>> = {
  activity: { period: 10, digest: false },
  waits_locks: { period: 10, digest: false },
  server_stats: { period: 'interval', digest: false },
  query_stats: { period: 'interval', digest: false },
  replication: { period: 'interval', digest: false },
  slowlog: { period: 'interval', digest: false },
  cloud: { period: 'interval', digest: false },
  schema: { period: 600, digest: true },
  security_posture: { period: 600, digest: true },
  config: { period: 600, digest: true },
};

/** A period in words: "10 s", "10 min", "every interval (60 s)". */
export function periodLabel(period: Period, intervalSeconds?: number): string {
  if (period === 'interval') return intervalSeconds === undefined ? 'every interval' : `every interval (${intervalSeconds} s)`;
  if (period >= 60 && period % 60 === 0) return `${period / 60} min`;
  return `${period} s`;
}

/** Why a signal could not be read. Never folded into 0, [] or "healthy". */
export const UNAVAILABLE_REASONS = ['permission', 'not_enabled', 'not_licensed', 'unsupported', 'disabled', 'error', 'timeout'] as const;
export const UnavailableReasonSchema = z.enum(UNAVAILABLE_REASONS);
export type UnavailableReason = z.infer<typeof UnavailableReasonSchema>;

export interface Unavailable {
  status: 'unavailable';
  reason: UnavailableReason;
  /** Plain-words explanation for the operator. Must not echo secrets or data. */
  detail: string;
  /** The exact change that would make the signal readable (a GRANT, a setting). */
  fix?: string;
}
export interface Ok<V> {
  status: 'ok';
  value: V;
}
export type SignalResult<V = unknown> = Ok<V> | Unavailable;

export const ok = <V>(value: V): Ok<V> => ({ status: 'ok', value });
export const unavailable = (reason: UnavailableReason, detail: string, fix?: string): Unavailable =>
  fix === undefined ? { status: 'unavailable', reason, detail } : { status: 'unavailable', reason, detail, fix };

/**
 * Thrown inside a signal's read() when the engine answered without an error but
 * the answer proves the identity could not see it (NULL-masked columns,
 * '<insufficient privilege>' rows, an empty catalog). The runner turns it into
 * an `unavailable` result, exactly like a mapped driver error.
 */
export class SignalUnavailable extends Error {
  constructor(
    readonly reason: UnavailableReason,
    readonly detail: string,
    readonly fix?: string,
  ) {
    super(detail);
    this.name = 'SignalUnavailable';
  }
  toResult(): Unavailable {
    return unavailable(this.reason, this.detail, this.fix);
  }
}

/** A permission the monitoring identity needs, referenced by id from the engine's grants module. */
export type GrantRef = string;

/**
 * Reasons that say a signal does not apply to this setup rather than that the setup is
 * incomplete: an opt-in the operator left off, every field excluded by the policy, a view
 * this server or edition does not have. They never make a target "limited".
 */
export const NOT_APPLICABLE_REASONS: ReadonlySet<UnavailableReason> = new Set(['disabled', 'unsupported']);

/**
 * The signals of a catalog whose absence does not make a least-privilege setup incomplete:
 * opt-in signals, and signals that need only grants the engine lists as optional
 * (superuser-only views a monitoring role is not expected to hold).
 */
export function optionalSignalsOf(
  catalog: readonly { id: string; requires: readonly GrantRef[]; optIn?: string }[],
  optionalGrants: readonly GrantRef[],
): string[] {
  return catalog.filter((s) => s.optIn !== undefined || (s.requires.length > 0 && s.requires.every((r) => optionalGrants.includes(r)))).map((s) => s.id);
}

/**
 * The unavailable signals of a cycle that are gaps in the setup: neither optional nor
 * not-applicable. The target's state, the tray and the status file all count these, so
 * they cannot disagree about whether a correct setup is complete.
 */
export function setupGaps<T extends { id: string; status: string }>(
  signals: readonly T[],
  optionalSignals: readonly string[] = [],
): Extract<T, { status: 'unavailable' }>[] {
  return signals.filter(
    (s): s is Extract<T, { status: 'unavailable' }> =>
      s.status === 'unavailable' && !optionalSignals.includes(s.id) && !('reason' in s && NOT_APPLICABLE_REASONS.has(s.reason as UnavailableReason)),
  );
}

/**
 * The signals of a catalog that need `ref`, in catalog order. Every engine's
 * permission checklist names its items' signals through this, so the checklist
 * cannot drift from what the signals declare.
 */
export function signalsRequiring(catalog: readonly { id: string; requires: readonly GrantRef[] }[], ref: GrantRef): string[] {
  return catalog.filter((s) => s.requires.includes(ref)).map((s) => s.id);
}

export type FieldCategories<Row> = { readonly [K in keyof Row]-?: Category | null };

/**
 * How a signal of cumulative counters ships as differences (collectors/core/incremental.ts):
 * rows are identified by `key`; `counters` only grow between resets, so a changed row
 * ships their differences; a counter that goes down, or a change in any `resetWhen`
 * value (a server restart, a statistics reset, evictions), makes the next value a
 * full baseline. `since` is a per-row reset time (a row whose `since` changed is
 * shipped whole).
 */
export interface DeltaSpec<Row = Record<string, unknown>> {
  key: readonly (keyof Row & string)[];
  counters: readonly (keyof Row & string)[];
  since?: keyof Row & string;
  /**
   * A counter that went down restarts only its row (shipped whole in `added`), not the
   * whole signal: for views whose rows are evicted and re-created one by one (a plan
   * cache entry, a cursor, a collection), where a full baseline at every eviction
   * would ship everything every cycle. Without it the value becomes a full baseline.
   */
  rowReset?: boolean;
  /** Values read in the same cycle by other signals of the catalog; the delta signal pulls them in when it is due. */
  resetWhen?: readonly { signal: string; field: string }[];
}

/**
 * A declarative catalog entry. One entry drives collection, the permission
 * checklist, the grant script, sensitive-field tagging and the docs.
 */
export interface SignalSpec<S = unknown, Row = Record<string, unknown>> {
  id: string;
  family: Family;
  description: string;
  requires: readonly GrantRef[];
  optIn?: 'operator' | 'license';
  /** 'rows' signals return a list; 'object' signals return exactly one row. */
  shape: 'rows' | 'object';
  /**
   * Reads the rows. `ctx` carries the cycle's policy: a field whose category is
   * excluded should not be read at all where the engine lets us avoid it (leave
   * the column out of the SELECT, project it away). Fields the read returns anyway
   * are removed before the payload is built.
   */
  read(session: S, ctx: ReadContext): Promise<Row[]>;
  /** The sensitive-metadata category of every field (null: not sensitive). A field not listed here is never shipped. */
  fields: FieldCategories<Row>;
  /** Ship only changed rows, as counter differences (cumulative statistics). */
  delta?: DeltaSpec<Row>;
  /** Ship `unchanged` + digest when the value equals the last shipped one; defaults to the family's (FAMILY_SCHEDULE). */
  digest?: boolean;
}

/** Erases the row type so catalogs of differently shaped signals can sit in one array. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySignalSpec<S> = SignalSpec<S, any>;

export function defineSignal<S, Row>(spec: SignalSpec<S, Row>): SignalSpec<S, Row> {
  return spec;
}
