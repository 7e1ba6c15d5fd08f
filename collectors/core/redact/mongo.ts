/**
 * MongoDB command, filter and current-operation documents with every value
 * replaced by `"?"` and every key (field names, `$operators`) kept, so the shape
 * of a query survives and its data does not.
 *
 * - Arrays of scalars (`$in: [1, 2, 3]`) become one `"?"`: the length is data too,
 *   and it would split query shapes.
 * - Arrays holding documents (`$and`, `$or`, pipelines) keep one entry per element.
 * - Anything that is not a plain object or array (ObjectId, Date, Buffer, Long) is a value.
 * - Iterative, never recursive: a hostile 100 000-level document cannot overflow the
 *   stack. Below MAX_DEPTH levels a subtree becomes `"?"`, and past MAX_NODES entries
 *   the rest is left out, so the result stays small and serialisable (MongoDB itself
 *   caps BSON nesting at 100 levels).
 */
export type RedactedDoc = string | RedactedDoc[] | { [key: string]: RedactedDoc };

export const VALUE_MARKER = '?';
export const MAX_DEPTH = 64;
export const MAX_NODES = 10_000;

type Container = RedactedDoc[] | { [key: string]: RedactedDoc };

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

const isStructured = (v: unknown): boolean => Array.isArray(v) || isPlainObject(v);

/** Sets an own property even for keys such as "__proto__" (plain assignment would change the prototype). */
function put(target: Container, key: string | number, value: RedactedDoc): void {
  if (Array.isArray(target)) target.push(value);
  else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function redactMongoDocument(doc: unknown): RedactedDoc {
  if (!isStructured(doc)) return VALUE_MARKER;
  let nodes = 0;
  const shell = (v: unknown): Container | typeof VALUE_MARKER => {
    if (Array.isArray(v) && !v.some(isStructured)) return VALUE_MARKER;
    return Array.isArray(v) ? [] : {};
  };
  const root = shell(doc);
  if (root === VALUE_MARKER) return root;
  const stack: Array<{ src: unknown; dst: Container; depth: number }> = [{ src: doc, dst: root, depth: 1 }];
  while (stack.length > 0) {
    const { src, dst, depth } = stack.pop()!;
    const entries: Array<[string | number, unknown]> = Array.isArray(src) ? src.map((v, k) => [k, v]) : Object.entries(src as Record<string, unknown>);
    for (const [key, value] of entries) {
      // Past the node budget the rest of the document is left out: the shape is truncated, never the data let through.
      if (++nodes > MAX_NODES) break;
      if (!isStructured(value) || depth >= MAX_DEPTH) {
        put(dst, key, VALUE_MARKER);
        continue;
      }
      const child = shell(value);
      put(dst, key, child);
      if (child !== VALUE_MARKER) stack.push({ src: value, dst: child, depth: depth + 1 });
    }
  }
  return root;
}
