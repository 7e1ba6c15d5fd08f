/**
 * The one secret scrubber. It knows the live secret values — every secret the
 * agent resolves goes through agent/secrets/resolve.ts, which registers it here
 * (the API key, target and proxy passwords, cloud secrets) — and removes them,
 * with their common encodings, from any text before it is stored, printed or sent
 * to the window. A destination or proxy that echoes the Authorization header in
 * an error body, or a database error that quotes the password, then says
 * "[secret removed]" instead.
 *
 * Encodings covered: as is, base64 (standard and URL-safe, with and without
 * padding), percent-encoding (encodeURIComponent and form style), hex (either
 * case) and JSON string escaping. Values shorter than MIN_SECRET_LENGTH are not
 * registered: scrubbing every "ab" from every message would garble them all while
 * hiding little (docs/faults.md).
 */

export const SECRET_REMOVED = '[secret removed]';
export const MIN_SECRET_LENGTH = 4;

const patterns = new Set<string>();
/** Longest first, so a secret's encoding is removed whole before any shorter secret inside it. */
let ordered: string[] = [];

function encodings(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const hex = Buffer.from(value, 'utf8').toString('hex');
  return [
    value,
    b64,
    b64.replace(/=+$/, ''),
    b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    hex,
    hex.toUpperCase(),
    JSON.stringify(value).slice(1, -1),
  ];
}

/** Makes `value` (and its encodings) unprintable from now on, for the life of the process. */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
  let added = false;
  for (const p of encodings(value)) {
    if (p.length < MIN_SECRET_LENGTH || patterns.has(p)) continue;
    patterns.add(p);
    added = true;
  }
  if (added) ordered = [...patterns].sort((a, b) => b.length - a.length);
}

/** The text with every registered secret and encoding replaced by SECRET_REMOVED. */
export function scrub(text: string): string {
  if (ordered.length === 0 || text === '') return text;
  let out = text;
  for (const p of ordered) if (out.includes(p)) out = out.split(p).join(SECRET_REMOVED);
  return out;
}

/** scrub() over every string (keys included) of a JSON-like value; other values are returned as they are. */
export function scrubDeep<T>(value: T): T {
  if (ordered.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrub(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** For tests: forget every registered secret. */
export function forgetSecretsForTests(): void {
  patterns.clear();
  ordered = [];
}
