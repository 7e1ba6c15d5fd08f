import { createHash } from 'node:crypto';
import type { JsonValue, TargetMemory } from './memory.js';
import type { OkPayloadSignal, PayloadV1 } from './payload.js';
import type { SignalOutcome } from './runner.js';
import { FAMILY_SCHEDULE, type AnySignalSpec, type DeltaSpec, type Family } from './signal.js';

/*
 * What a target's payloads ship relative to the last shipped one (docs/payload-v2.md):
 * - delta signals (spec.delta: cumulative counters keyed by row identity) ship the
 *   rows that changed, counters as differences; a reset (a counter that went down,
 *   a changed `resetWhen` value) or the periodic baseline makes the value full;
 * - digest signals (slow families) ship `unchanged` + digest when the value equals
 *   the last shipped one, with a periodic full copy;
 * - everything else ships full.
 * Every comparison is over the policy-applied value, the one that ships, and what
 * is kept between cycles (the target memory, committed only once the payload is
 * spooled) is that shipped state: a preview or `collect --once` never moves it, and
 * no value the policy redacted ever reaches the memory or a digest.
 */

/** The memory key this module owns. */
export const SHIPPED_STATE_KEY = 'payload.shipped';

type Row = Record<string, JsonValue>;

interface SignalState {
  sequence: number;
  collectedAt: string;
  digest: string;
  /** When the last full value of this signal shipped (epoch ms). */
  fullAtMs: number;
  /** Digest of the signal's `resetWhen` values when its state was shipped. */
  epoch?: string;
  /** Delta signals (state kept before rows had a key of their own): the state a consumer holds, by row key. */
  rows?: Record<string, Row>;
  /** Delta signals: the state a consumer holds is under the memory key rowsKey(id). */
  rowsApart?: true;
}

/**
 * The memory key of a delta signal's rows: kept apart from the shipped state, which
 * changes every cycle, so a cycle whose families leave the rows alone neither parses
 * nor writes them again (agent/state/target-memory-store.ts keeps unchanged values as read).
 */
const rowsKey = (signalId: string): string => `${SHIPPED_STATE_KEY}.rows/${signalId}`;

interface ShippedState {
  /** The sequence of the last shipped payload of the target. */
  sequence: number;
  /** When each family last shipped (epoch ms): what the schedule counts from. */
  families: Partial<Record<Family, number>>;
  signals: Record<string, SignalState>;
}

const EMPTY: ShippedState = { sequence: 0, families: {}, signals: {} };

/** JSON with object keys sorted, so equal values have one text whatever order their fields came in. */
export function canonicalJson(v: unknown): string {
  let out = '';
  const w = new CanonicalWriter((chunk) => {
    out = chunk;
  }, Number.POSITIVE_INFINITY);
  w.write(v);
  w.flush();
  return out;
}

/**
 * Writes canonicalJson's text in pieces (to a hash: a value of many megabytes is digested
 * without ever being one string). Rows of one signal have their keys in one order, so the
 * sorted order of the last object's keys is reused while the next object has the same keys.
 */
class CanonicalWriter {
  private buf = '';
  private lastKeys: string[] = [];
  private lastSorted: { key: string; quoted: string }[] = [];

  constructor(
    private readonly sink: (chunk: string) => void,
    private readonly chunkChars = 1 << 16,
  ) {}

  private put(s: string): void {
    this.buf += s;
    if (this.buf.length >= this.chunkChars) this.flush();
  }

  flush(): void {
    if (this.buf.length > 0) this.sink(this.buf);
    this.buf = '';
  }

  private sorted(keys: string[]): { key: string; quoted: string }[] {
    const last = this.lastKeys;
    let same = keys.length === last.length;
    for (let i = 0; same && i < keys.length; i++) same = keys[i] === last[i];
    if (!same) {
      this.lastKeys = keys;
      this.lastSorted = [...keys].sort().map((key) => ({ key, quoted: JSON.stringify(key) }));
    }
    return this.lastSorted;
  }

  write(v: unknown): void {
    // JSON.stringify's text for a number: its shortest form; -0 is 0; NaN and the infinities are null.
    if (typeof v === 'number') {
      this.put(Number.isFinite(v) ? String(v) : 'null');
      return;
    }
    if (v === null || typeof v !== 'object') {
      this.put(JSON.stringify(v) ?? 'null');
      return;
    }
    if (Array.isArray(v)) {
      this.put('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.put(',');
        this.write(v[i]);
      }
      this.put(']');
      return;
    }
    const o = v as Record<string, unknown>;
    this.put('{');
    let first = true;
    for (const { key, quoted } of this.sorted(Object.keys(o))) {
      const x = o[key];
      if (x === undefined) continue;
      this.put(first ? `${quoted}:` : `,${quoted}:`);
      first = false;
      this.write(x);
    }
    this.put('}');
  }
}

/** Equal canonical JSON (the test every comparison here is), without making the texts when the values are identical. */
const sameJson = (a: unknown, b: unknown): boolean => a === b || canonicalJson(a) === canonicalJson(b);

/** sha256 over the canonical JSON of a value, fed to the hash in pieces. */
function canonicalDigest(write: (w: CanonicalWriter) => void): string {
  const hash = createHash('sha256');
  const w = new CanonicalWriter((chunk) => hash.update(chunk));
  write(w);
  w.flush();
  return `sha256:${hash.digest('hex')}`;
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** The key of a row: its key fields' values, in order (undefined when a key field is missing). */
export function rowKey(row: Row, key: readonly string[]): string | undefined {
  const parts: JsonValue[] = [];
  for (const k of key) {
    const v = row[k];
    if (v === undefined || (typeof v === 'object' && v !== null)) return undefined;
    parts.push(v);
  }
  return JSON.stringify(parts);
}

/**
 * The digest of a signal's full value. Delta signals: over their rows in key order
 * (a consumer's rebuilt state has no row order); others: over the value as shipped.
 */
export function valueDigest(value: unknown, delta?: Pick<DeltaSpec, 'key'>): string {
  if (delta !== undefined && Array.isArray(value)) {
    // Rows in key order (stable: rows without a key keep their order), each written straight into the hash.
    const keyed = (value as Row[]).map((r) => [rowKey(r, delta.key) ?? '', r] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return canonicalDigest((w) => w.write(keyed.map(([, r]) => r)));
  }
  return canonicalDigest((w) => w.write(value));
}

function isRows(v: unknown): v is Row[] {
  return Array.isArray(v) && v.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r));
}

function readState(memory: TargetMemory | undefined): ShippedState {
  // Only read here (a new state is built for record): the stored value itself, no copy, where the memory can give it.
  const v = memory?.view === undefined ? memory?.get(SHIPPED_STATE_KEY) : memory.view(SHIPPED_STATE_KEY);
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return structuredClone(EMPTY);
  const s = v as Partial<ShippedState> & Record<string, JsonValue>;
  if (typeof s.sequence !== 'number' || typeof s.families !== 'object' || typeof s.signals !== 'object' || s.signals === null) return structuredClone(EMPTY);
  // State that may be older than what was shipped (a power cut may have lost later writes): the sequence
  // and the families' times go on from it, but no delta or digest is built on it; every signal ships full.
  if (memory?.mayBeStale === true) return { ...(s as unknown as ShippedState), signals: {} };
  return s as unknown as ShippedState;
}

/** Freezes what is not frozen yet (a frozen object's own contents are left as they are: the memory checks every level before it keeps a value uncopied). */
function freezeAll<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) freezeAll(x);
  }
  return v;
}

export interface ShippingOptions {
  /** The run loop's time for this cycle (epoch ms). */
  nowMs: number;
  /** Every delta/unchanged chain restarts with a full value at least this often. */
  fullEveryMs: number;
}

/**
 * One cycle's view of what was last shipped for a target. `transform` turns each
 * full ok signal into what ships; `record` stages the new shipped state in the
 * cycle's memory (made durable by the cycle's commitMemory, after the spool).
 */
export class Shipping {
  private readonly state: ShippedState;
  private readonly next = new Map<string, SignalState>();
  private readonly nextRows = new Map<string, Record<string, Row>>();
  private readonly epochs = new Map<string, string>();
  readonly sequence: number;
  collectedAt = '';

  constructor(
    private readonly memory: TargetMemory | undefined,
    private readonly opts: ShippingOptions,
  ) {
    this.state = readState(memory);
    // Without a memory nothing is remembered: every payload is the first.
    this.sequence = memory === undefined ? 1 : this.state.sequence + 1;
  }

  /** When each family last shipped. */
  get shippedAt(): Partial<Record<Family, number>> {
    return { ...this.state.families };
  }

  /** The signals a delta signal needs read with it (its resetWhen sources). */
  static companions(catalog: readonly AnySignalSpec<unknown>[], selected: readonly AnySignalSpec<unknown>[]): AnySignalSpec<unknown>[] {
    const ids = new Set(selected.map((s) => s.id));
    const wanted = new Set(selected.flatMap((s) => (s.delta?.resetWhen ?? []).map((r) => r.signal)));
    return catalog.filter((s) => wanted.has(s.id) && !ids.has(s.id));
  }

  /**
   * Notes the reset markers of the cycle's delta signals (from this cycle's reads, the
   * companions included). Only their digest is kept: the memory holds no read value
   * that was not shipped.
   */
  noteEpochs(catalog: readonly AnySignalSpec<unknown>[], outcomes: readonly SignalOutcome[]): void {
    const byId = new Map(outcomes.map((o) => [o.spec.id, o.result]));
    for (const spec of catalog) {
      if (spec.delta?.resetWhen === undefined) continue;
      const values = spec.delta.resetWhen.map(({ signal, field }) => {
        const r = byId.get(signal);
        if (r === undefined || r.status !== 'ok' || typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) return null;
        return ((r.value as Record<string, unknown>)[field] ?? null) as JsonValue;
      });
      this.epochs.set(spec.id, sha256(canonicalJson(values)));
    }
  }

  private base(prev: SignalState): { sequence: number; collectedAt: string } {
    return { sequence: prev.sequence, collectedAt: prev.collectedAt };
  }

  private keep(id: string, s: Omit<SignalState, 'sequence' | 'collectedAt'>): void {
    const { rows, ...rest } = s;
    if (rows === undefined) this.next.set(id, { sequence: this.sequence, collectedAt: this.collectedAt, ...rest });
    else {
      this.next.set(id, { sequence: this.sequence, collectedAt: this.collectedAt, ...rest, rowsApart: true });
      this.nextRows.set(id, rows);
    }
  }

  /** The rows a consumer holds for a delta signal, as last shipped (undefined: none kept, or not readable). */
  private heldRows(id: string, prev: SignalState): Record<string, Row> | undefined {
    if (prev.rowsApart !== true) return prev.rows;
    const v = this.memory?.view === undefined ? this.memory?.get(rowsKey(id)) : this.memory.view(rowsKey(id));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, Row>) : undefined;
  }

  private fullDue(prev: SignalState): boolean {
    return this.opts.nowMs - prev.fullAtMs >= this.opts.fullEveryMs || this.opts.nowMs < prev.fullAtMs;
  }

  /** What ships for one ok signal whose `value` is the full, policy-applied value. */
  transform(full: OkPayloadSignal, spec: AnySignalSpec<unknown>): OkPayloadSignal {
    if (spec.delta !== undefined && isRows(full.value)) return this.delta(full, spec.delta as DeltaSpec);
    if (spec.digest ?? FAMILY_SCHEDULE[spec.family].digest) return this.digest(full);
    return full;
  }

  private withMode(
    full: OkPayloadSignal,
    parts: Pick<OkPayloadSignal, 'mode' | 'base' | 'digest' | 'value'> & { reason?: OkPayloadSignal['baseline'] },
  ): OkPayloadSignal {
    const { id, family, status, policy } = full;
    return {
      id,
      family,
      status,
      mode: parts.mode,
      ...(parts.reason === undefined ? {} : { baseline: parts.reason }),
      ...(parts.base === undefined ? {} : { base: parts.base }),
      ...(parts.digest === undefined ? {} : { digest: parts.digest }),
      ...(parts.value === undefined ? {} : { value: parts.value }),
      ...(policy === undefined ? {} : { policy }),
    };
  }

  private digest(full: OkPayloadSignal): OkPayloadSignal {
    const digest = valueDigest(full.value);
    const prev = this.state.signals[full.id];
    if (prev !== undefined && prev.digest === digest && !this.fullDue(prev)) {
      this.keep(full.id, { digest, fullAtMs: prev.fullAtMs });
      return this.withMode(full, { mode: 'unchanged', base: this.base(prev), digest });
    }
    this.keep(full.id, { digest, fullAtMs: this.opts.nowMs });
    const reason = prev === undefined ? 'first' : prev.digest === digest ? 'periodic' : 'changed';
    return this.withMode(full, { mode: 'full', reason, digest, value: full.value });
  }

  private delta(full: OkPayloadSignal, d: DeltaSpec): OkPayloadSignal {
    const rows = full.value as Row[];
    const keyed = new Map<string, Row>();
    for (const r of rows) {
      const k = rowKey(r, d.key);
      // A row without its identity (a key field the policy excluded) or two rows with one: nothing to diff against.
      if (k === undefined || keyed.has(k)) return this.withMode(full, { mode: 'full', reason: 'unkeyed', value: full.value });
      keyed.set(k, r);
    }
    const epoch = this.epochs.get(full.id);
    const prev = this.state.signals[full.id];
    const asFull = (reason: 'first' | 'periodic' | 'reset'): OkPayloadSignal => {
      const digest = valueDigest(rows, d);
      this.keep(full.id, { digest, fullAtMs: this.opts.nowMs, rows: Object.fromEntries(keyed), ...(epoch === undefined ? {} : { epoch }) });
      return this.withMode(full, { mode: 'full', reason, digest, value: full.value });
    };
    const held = prev === undefined ? undefined : this.heldRows(full.id, prev);
    if (prev === undefined || held === undefined) return asFull('first');
    if (this.fullDue(prev)) return asFull('periodic');
    if (prev.epoch !== epoch) return asFull('reset');
    const counters = new Set<string>(d.counters);
    const added: Row[] = [];
    const changed: Row[] = [];
    const state: Record<string, Row> = {};
    for (const [k, row] of keyed) {
      const old = held[k];
      if (old === undefined || (d.since !== undefined && !sameJson(old[d.since], row[d.since]))) {
        // New to the consumer, or the server restarted this row's statistics: shipped whole (an upsert).
        added.push(row);
        state[k] = row;
        continue;
      }
      const patch: Row = {};
      for (const f of d.key) patch[f] = row[f]!;
      const rebuilt: Row = {};
      let whole = Object.keys(old).some((f) => !(f in row));
      let differs = false;
      for (const [f, v] of Object.entries(row)) {
        const was = old[f];
        if (counters.has(f) && typeof v === 'number' && typeof was === 'number') {
          // A cumulative counter went down: the statistics were reset or the entry evicted and re-created.
          if (v < was) {
            if (d.rowReset !== true) return asFull('reset');
            // Only this row restarted (evicted and re-created): it ships whole, the others stay differences.
            whole = true;
            break;
          }
          const diff = v - was;
          // What the consumer will hold (was + diff), kept as is so the next difference is exact against it.
          rebuilt[f] = was + diff;
          if (diff !== 0) {
            patch[f] = diff;
            differs = true;
          }
        } else if (counters.has(f) && !sameJson(v, was)) {
          whole = true; // a counter that is not a number on one side (NULL, redacted) cannot be a difference
        } else {
          rebuilt[f] = v;
          if (!sameJson(v, was)) {
            patch[f] = v;
            differs = true;
          }
        }
      }
      if (whole) {
        added.push(row);
        state[k] = row;
      } else {
        state[k] = rebuilt;
        if (differs) changed.push(patch);
      }
    }
    const removed: Row[] = [];
    for (const [k, old] of Object.entries(held)) {
      if (keyed.has(k)) continue;
      const keyOnly: Row = {};
      for (const f of d.key) keyOnly[f] = old[f]!;
      removed.push(keyOnly);
    }
    const stateRows = Object.values(state);
    const digest = valueDigest(stateRows, d);
    this.keep(full.id, { digest, fullAtMs: prev.fullAtMs, rows: state, ...(epoch === undefined ? {} : { epoch }) });
    if (added.length === 0 && changed.length === 0 && removed.length === 0) {
      return this.withMode(full, { mode: 'unchanged', base: this.base(prev), digest });
    }
    return this.withMode(full, { mode: 'delta', base: this.base(prev), digest, value: { added, changed, removed } });
  }

  /**
   * Stages what this payload shipped (its sequence, when its families were
   * collected, each signal's new state) in the cycle's memory. `families` are
   * those read on a live session: a target that could not be reached stays due.
   */
  record(payload: PayloadV1, families: readonly Family[]): void {
    if (this.memory === undefined) return;
    const state: ShippedState = {
      sequence: payload.sequence ?? this.sequence,
      families: { ...this.state.families },
      signals: { ...this.state.signals },
    };
    for (const f of families) state.families[f] = this.opts.nowMs;
    for (const [id, s] of this.next) state.signals[id] = s;
    for (const [id, rows] of this.nextRows) this.memory.set(rowsKey(id), freezeAll(rows) as unknown as JsonValue);
    // Frozen, the memory keeps it as it is instead of copying it through JSON (what was kept from the
    // last cycle and the payload's rows are frozen already).
    this.memory.set(SHIPPED_STATE_KEY, freezeAll(state) as unknown as JsonValue);
  }
}

/**
 * Rebuilds a signal's full value from the one a consumer holds and one shipped
 * signal (the algorithm of docs/payload-v2.md). Returns undefined when the value
 * cannot be applied (its base is not what the consumer holds): the consumer then
 * waits for the next full value.
 */
export function applyShipped(
  held: { sequence: number; value: unknown; digest?: string } | undefined,
  s: OkPayloadSignal,
  sequence: number,
  delta?: Pick<DeltaSpec, 'key' | 'counters'>,
): { sequence: number; value: unknown; digest?: string } | undefined {
  const mode = s.mode ?? 'full';
  if (mode === 'full') return { sequence, value: s.value, ...(s.digest === undefined ? {} : { digest: s.digest }) };
  if (held === undefined) return undefined;
  if (mode === 'unchanged') {
    // The digest says it all: equal digests are equal values, whatever was missed in between.
    if (held.digest !== undefined ? held.digest !== s.digest : held.sequence !== s.base?.sequence) return undefined;
    return { sequence, value: held.value, ...(s.digest === undefined ? {} : { digest: s.digest }) };
  }
  if (held.sequence !== s.base?.sequence || delta === undefined || !isRows(held.value)) return undefined;
  const v = s.value as { added: Row[]; changed: Row[]; removed: Row[] };
  const counters = new Set<string>(delta.counters);
  const rows = new Map<string, Row>(held.value.map((r) => [rowKey(r, delta.key) ?? '', r]));
  for (const r of v.removed) rows.delete(rowKey(r, delta.key) ?? '');
  for (const r of v.added) rows.set(rowKey(r, delta.key) ?? '', r);
  for (const p of v.changed) {
    const k = rowKey(p, delta.key) ?? '';
    const old = rows.get(k);
    if (old === undefined) return undefined;
    const next: Row = { ...old };
    for (const [f, val] of Object.entries(p)) next[f] = counters.has(f) && typeof val === 'number' ? (old[f] as number) + val : val;
    rows.set(k, next);
  }
  const value = [...rows.values()];
  if (s.digest !== undefined && valueDigest(value, delta) !== s.digest) return undefined;
  return { sequence, value, ...(s.digest === undefined ? {} : { digest: s.digest }) };
}
