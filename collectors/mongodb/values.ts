/**
 * Turning BSON values from command answers into plain JSON for the payload.
 * Answers mix JS numbers, Int32/Double/Long/Decimal128 wrappers and Timestamps
 * depending on the server version and size of the number; signals read them
 * through these helpers so a changed wire type never becomes NaN, an object or 0.
 */
type Doc = Record<string, unknown>;

const bsonType = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && '_bsontype' in v ? String((v as { _bsontype: unknown })._bsontype) : undefined;

/** A finite number, or null when the value is missing or not numeric. */
export function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  const t = bsonType(v);
  let n: number;
  if (t === 'Long') n = (v as { toNumber(): number }).toNumber();
  else if (t === 'Int32' || t === 'Double') n = Number((v as { valueOf(): unknown }).valueOf());
  else if (t === 'Decimal128') n = Number(String(v));
  else return null;
  return Number.isFinite(n) ? n : null;
}

export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

/** ISO 8601 for a Date (or a BSON Timestamp's seconds), null otherwise. */
export function iso(v: unknown): string | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  const s = tsSeconds(v);
  return s === null ? null : new Date(s * 1000).toISOString();
}

/** The seconds part of a BSON Timestamp (oplog `ts`, optimes). */
export function tsSeconds(v: unknown): number | null {
  return bsonType(v) === 'Timestamp' ? (v as { t: number }).t : null;
}

/** A sub-document, or an empty one when the field is missing or not a document. */
export function sub(doc: unknown, ...path: string[]): Doc {
  let cur: unknown = doc;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return {};
    cur = (cur as Doc)[key];
  }
  return typeof cur === 'object' && cur !== null && !Array.isArray(cur) && bsonType(cur) === undefined ? (cur as Doc) : {};
}

export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Strings of a list, dropping anything else. */
export const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');

/** Copies the numeric fields named in `keys` (wire name → payload name), null where absent. */
export function numbers<K extends string>(doc: Doc, keys: Readonly<Record<K, string>>): Record<K, number | null> {
  const out = {} as Record<K, number | null>;
  for (const [name, wire] of Object.entries(keys) as Array<[K, string]>) out[name] = num(doc[wire]);
  return out;
}
