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
}

/**
 * A memory whose writes are staged: get() sees them at once, the owner decides
 * whether to keep them (`changes`). Values are deep-copied in and out, so a
 * collector can never mutate what was stored behind the owner's back.
 */
export class StagedMemory implements TargetMemory {
  private readonly values: Map<string, JsonValue>;
  private readonly changed = new Set<string>();

  constructor(initial: Readonly<Record<string, JsonValue>> = {}) {
    this.values = new Map(Object.entries(structuredClone(initial)));
  }

  get(key: string): JsonValue | undefined {
    const v = this.values.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }

  set(key: string, value: JsonValue): void {
    // Round-trip through JSON: what is kept is exactly what a file would hold.
    this.values.set(key, JSON.parse(JSON.stringify(value)) as JsonValue);
    this.changed.add(key);
  }

  /**
   * A memory over values the caller owns outright and keeps no reference to (fresh
   * from JSON.parse of the stored file): the defensive copy on the way in is skipped.
   */
  static adopt(values: Record<string, JsonValue>): StagedMemory {
    const m = new StagedMemory();
    for (const [k, v] of Object.entries(values)) m.values.set(k, v);
    return m;
  }

  /** Every value as JSON text (what snapshot() would serialise to, without the copy). */
  serialize(): string {
    return JSON.stringify(Object.fromEntries(this.values));
  }

  get dirty(): boolean {
    return this.changed.size > 0;
  }

  /** Every value, for persisting. */
  snapshot(): Record<string, JsonValue> {
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
