/**
 * Records which fields of a command's answer the collector reads, by handing it the
 * answer wrapped in proxies: the paths come from the code's own accesses, not from a
 * list someone retyped. Array elements are recorded as `[]`; keys that are data
 * (namespaces in `top`, parameter names the server returns) stay as read.
 */
type Doc = Record<string, unknown>;

/** The contract's name for a command: its name, or `aggregate:$stage` / `find:<collection>` for cursor commands. */
export function commandKey(db: string, cmd: Record<string, unknown>): string {
  const name = Object.keys(cmd)[0]!;
  if (name === 'aggregate') {
    const first = (cmd['pipeline'] as Doc[] | undefined)?.[0] ?? {};
    return `aggregate:${Object.keys(first)[0] ?? ''}`;
  }
  if (name === 'find') return `find:${db}.${String(cmd['find'])}`;
  return name;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && '_bsontype' in v) {
    const t = String((v as { _bsontype: unknown })._bsontype);
    if (t === 'Long') return (v as unknown as { toNumber(): number }).toNumber();
    if (t === 'Int32' || t === 'Double') return Number((v as { valueOf(): unknown }).valueOf());
  }
  return undefined;
}

const isPlain = (v: unknown): v is object =>
  typeof v === 'object' && v !== null && !(v instanceof Date) && !('_bsontype' in (v as object)) && !Buffer.isBuffer(v);

/** Paths read per command; `present` gets the ones the answer actually had. */
export function recording<T>(
  value: T,
  key: string,
  paths: Map<string, Set<string>>,
  path = '',
  present?: Map<string, Set<string>>,
  /** Numeric leaves read: `${key} ${path}` → value (BSON numbers through valueOf/toNumber). */
  numbers?: Map<string, number[]>,
): T {
  if (!isPlain(value)) return value;
  const seen = paths.get(key) ?? new Set<string>();
  paths.set(key, seen);
  const had = present?.get(key) ?? new Set<string>();
  present?.set(key, had);
  return new Proxy(value as object, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof v === 'function' || prop === 'constructor' || prop === 'length') return v;
      if (!Object.prototype.hasOwnProperty.call(target, prop) && v === undefined && Array.isArray(target)) return v;
      const next = Array.isArray(target) ? `${path}[]` : path === '' ? prop : `${path}.${prop}`;
      if (!Array.isArray(target)) {
        seen.add(next);
        if (v !== undefined) had.add(next);
        const n = asNumber(v);
        if (n !== undefined && numbers !== undefined) numbers.set(`${key} ${next}`, [...(numbers.get(`${key} ${next}`) ?? []), n]);
      }
      return recording(v, key, paths, next, present, numbers);
    },
  }) as T;
}
