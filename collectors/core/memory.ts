/**
 * Per-target state a collector keeps between cycles: the Redis slow-log cursor,
 * later the cursors of other engines' logs. Collectors only see this interface;
 * the agent decides where it lives (a file per target under the agent home) and
 * when a cycle's changes become durable (after its payload is safely stored), so
 * collectors stay pure and an entry that never left the machine is read again.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface TargetMemory {
  get(key: string): JsonValue | undefined;
  set(key: string, value: JsonValue): void;
  /** The stored value itself, deep-frozen (no copy): for a reader that only reads. */
  view?(key: string): JsonValue | undefined;
  /**
   * True when the state may be older than what this target last shipped: it was written
   * by an agent process that did not stop cleanly, so a power cut may have lost its later
   * writes (agent/state/target-memory-store.ts). Deltas and digests must not be built on it.
   */
  readonly mayBeStale?: boolean;
}

/**
 * A value a file would hold as it is, that nothing can change: every object and array
 * frozen, only plain objects and arrays, strings, booleans, null and finite numbers other
 * than -0 (JSON writes it as 0), no undefined. Such a value is kept without a copy.
 */
function isFrozenJson(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth > 64 || !Object.isFrozen(v)) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !isFrozenJson(v[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(v).length > 0 || Object.hasOwn(v, '__proto__')) return false;
  for (const k of Object.keys(v)) if (!isFrozenJson((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/**
 * A memory whose writes are staged: get() sees them at once, the owner decides
 * whether to keep them (`changes`). Values are deep-copied in and out (view(): a
 * frozen value, not a copy; set() of a deep-frozen JSON value: kept as is), so a
 * collector can never mutate what was stored behind the owner's back.
 */
export class StagedMemory implements TargetMemory {
  private readonly values: Map<string, JsonValue>;
  /**
   * Each stored value's JSON text as read, for values not parsed yet or not changed since:
   * a value is parsed on first use, and one that did not change is written back as the
   * text it was read as (a cycle that does not touch a bulky value, such as a delta signal's
   * rows when its family is not due, neither parses nor serialises it).
   */
  private readonly texts = new Map<string, string>();
  private readonly changed = new Set<string>();
  mayBeStale = false;

  constructor(initial: Readonly<Record<string, JsonValue>> = {}) {
    // Stored values are frozen: view() hands them out without a copy.
    this.values = new Map(Object.entries(deepFreeze(structuredClone(initial))));
  }

  get(key: string): JsonValue | undefined {
    const v = this.view(key);
    return v === undefined ? undefined : structuredClone(v);
  }

  view(key: string): JsonValue | undefined {
    const v = this.values.get(key);
    if (v !== undefined || !this.texts.has(key)) return v;
    let parsed: JsonValue | undefined;
    try {
      parsed = JSON.parse(this.texts.get(key)!) as JsonValue;
    } catch {
      // Not JSON (the file's check passed, so not a torn write): as if never stored.
      this.texts.delete(key);
      return undefined;
    }
    // Frozen like every stored value: a reader of view() cannot change what the unchanged text will write back.
    this.values.set(key, deepFreeze(parsed));
    return parsed;
  }

  set(key: string, value: JsonValue): void {
    // What is kept is exactly what a file would hold: a deep-frozen JSON value as it is (it cannot
    // change), anything else round-tripped through JSON and frozen.
    this.values.set(key, isFrozenJson(value) ? value : deepFreeze(JSON.parse(JSON.stringify(value)) as JsonValue));
    this.texts.delete(key);
    this.changed.add(key);
  }

  /**
   * A memory over values the caller owns outright and keeps no reference to (fresh
   * from JSON.parse of the stored file): the defensive copy on the way in is skipped.
   */
  static adopt(values: Record<string, JsonValue>, mayBeStale = false): StagedMemory {
    const m = new StagedMemory();
    for (const [k, v] of Object.entries(values)) m.values.set(k, v);
    m.mayBeStale = mayBeStale;
    return m;
  }

  /** A memory over each value's JSON text as stored, parsed when first used. */
  static ofTexts(texts: Iterable<readonly [string, string]>, mayBeStale = false): StagedMemory {
    const m = new StagedMemory();
    for (const [k, t] of texts) m.texts.set(k, t);
    m.mayBeStale = mayBeStale;
    return m;
  }

  /** Each value's JSON text: as it was read when unchanged, else made now. */
  entryTexts(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, t] of this.texts) out.push([k, t]);
    for (const [k, v] of this.values) if (!this.texts.has(k)) out.push([k, JSON.stringify(v)]);
    return out;
  }

  get dirty(): boolean {
    return this.changed.size > 0;
  }

  /** Every value, for persisting. */
  snapshot(): Record<string, JsonValue> {
    for (const k of [...this.texts.keys()]) this.view(k);
    return structuredClone(Object.fromEntries(this.values));
  }
}

/**
 * Where per-target memory lives between cycles (the agent's file store in
 * production). load() stages a copy; commit() makes it durable, called only
 * once the cycle's payload is safely stored.
 */
export interface TargetMemoryStore {
  load(targetId: string): Promise<StagedMemory>;
  commit(targetId: string, memory: StagedMemory): Promise<void>;
}
