import type { Category } from '../core/category.js';
import type { FieldCategories } from '../core/signal.js';

/**
 * CLIENT LIST summarised instead of listed. A server with 10,000 clients answers
 * CLIENT LIST with about 3 MB of text; shipping it row by row cost 2.8 MB per cycle
 * and 10,000 objects per field copy in the agent. The summary is read in one pass
 * over the reply's bytes — no per-client object is built, only the values kept are
 * decoded — into:
 *
 * - `set: 'all'`: one row of totals;
 * - one row per group of the sets `name`, `host` (the address without its port),
 *   `user`, `lib_name`, `flags`, `db`, `cmd`, `idle` and `age` (buckets by lower
 *   bound in seconds), each with the number of clients and the sums of their
 *   memory (`tot_mem`), query buffers (`qbuf`) and output buffers (`omem`). At most
 *   {@link MAX_GROUPS} groups per set, the largest first; the others are folded into
 *   one row whose key is absent and whose `rest` says how many groups it holds;
 * - `set: 'top_tot_mem' | 'top_idle' | 'top_omem'`: the {@link TOP_N} clients with
 *   the most memory, the longest idle time and the largest output buffer (only
 *   clients with a value above 0), with their own fields.
 *
 * Every string is cut to {@link MAX_TEXT} characters (a longer value is grouped by its
 * first characters, marked with `…`), so the summary's size does not depend on the
 * number of clients nor on what a client calls itself: at most
 * {@link MAX_CLIENT_SUMMARY_ROWS} rows. Each column keeps the category the client
 * list had, so the policy applies as before: a redacted name, host or flag is hashed
 * (group keys included; grouping happens on the raw value, so distinct values stay
 * distinct groups), and a set whose key category is excluded is not built at all.
 */

export const MAX_GROUPS = 25;
export const TOP_N = 20;
export const MAX_TEXT = 64;
/** Lower bounds, in seconds, of the idle and age buckets: [0,1), [1,10), … [86400,∞). */
export const TIME_BUCKETS = [0, 1, 10, 60, 600, 3600, 86400] as const;

export const GROUP_SETS = ['name', 'host', 'user', 'lib_name', 'flags', 'db', 'cmd', 'idle', 'age'] as const;
export type GroupSet = (typeof GROUP_SETS)[number];
export const TOP_SETS = ['top_tot_mem', 'top_idle', 'top_omem'] as const;
export type TopSet = (typeof TOP_SETS)[number];

export interface ClientSummaryRow {
  set: 'all' | GroupSet | TopSet;
  /** Group key columns (one per group set) and client columns (top rows). */
  name?: string | null;
  host?: string | null;
  user?: string | null;
  lib_name?: string | null;
  flags?: string | null;
  db?: number | null;
  cmd?: string | null;
  idle_from_s?: number;
  age_from_s?: number;
  /** Groups folded into this row (the key columns are absent). */
  rest?: number;
  /** Clients in the group. */
  clients?: number;
  /** Top rows: 1 for the largest. */
  rank?: number;
  id?: number | null;
  addr?: string | null;
  age_s?: number | null;
  idle_s?: number | null;
  tot_mem?: number | null;
  qbuf?: number | null;
  omem?: number | null;
}

export const CLIENT_SUMMARY_FIELDS: FieldCategories<ClientSummaryRow> = {
  set: null,
  name: 'client_metadata',
  host: 'client_metadata',
  user: 'identity_metadata',
  lib_name: 'client_metadata',
  flags: 'client_metadata',
  db: null,
  cmd: 'client_metadata',
  idle_from_s: 'client_metadata',
  age_from_s: 'client_metadata',
  rest: null,
  clients: null,
  rank: null,
  id: null,
  addr: 'client_metadata',
  age_s: 'client_metadata',
  idle_s: 'client_metadata',
  tot_mem: null,
  qbuf: null,
  omem: null,
};

/** The category of each group set's key: a set whose category the policy excludes is not built. */
const SET_KEY: Record<GroupSet, keyof ClientSummaryRow> = {
  name: 'name',
  host: 'host',
  user: 'user',
  lib_name: 'lib_name',
  flags: 'flags',
  db: 'db',
  cmd: 'cmd',
  idle: 'idle_from_s',
  age: 'age_from_s',
};
export const setCategory = (set: GroupSet): Category | null => CLIENT_SUMMARY_FIELDS[SET_KEY[set]];

/** 1 totals row, every group set at its cap plus its `rest` row, every top list full. */
export const MAX_CLIENT_SUMMARY_ROWS = 1 + GROUP_SETS.length * (MAX_GROUPS + 1) + TOP_SETS.length * TOP_N;

/** One client as the pass reads it; reused for every line (no object per client). */
interface Scan {
  id: number | null;
  addr: string | null;
  name: string | null;
  user: string | null;
  lib_name: string | null;
  flags: string | null;
  db: number | null;
  cmd: string | null;
  age: number | null;
  idle: number | null;
  tot_mem: number | null;
  qbuf: number | null;
  omem: number | null;
}

/** Sums stay null until a client reports the field (a server that does not have it): never a made-up 0. */
interface Group {
  key: string | number | null;
  clients: number;
  tot_mem: number | null;
  qbuf: number | null;
  omem: number | null;
}

const plus = (sum: number | null, v: number | null): number | null => (v === null ? sum : (sum ?? 0) + v);

/** A value cut to MAX_TEXT characters (the last one `…`), never inside a surrogate pair. */
export function cutText(v: string): string {
  if (v.length <= MAX_TEXT) return v;
  let end = MAX_TEXT - 1;
  const c = v.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${v.slice(0, end)}…`;
}

/** Longest run of bytes decoded for one value: enough for MAX_TEXT characters, so a huge value costs no more than a long one. */
const MAX_VALUE_BYTES = MAX_TEXT * 4;

/** bytes[from, to) as text, cut to MAX_TEXT characters; null when empty. Only the values kept are ever decoded. */
function textAt(bytes: Buffer, from: number, to: number): string | null {
  if (from >= to) return null;
  if (to - from > MAX_VALUE_BYTES) return cutText(`${bytes.toString('utf8', from, from + MAX_VALUE_BYTES)}${'…'.repeat(MAX_TEXT)}`);
  return cutText(bytes.toString('utf8', from, to));
}

/** The integer bytes[from, to) (an optional minus, 1 to 15 digits), read in place; anything else is null. */
function intAt(bytes: Buffer, from: number, to: number): number | null {
  let i = from;
  const negative = bytes[i] === 45;
  if (negative) i++;
  if (i === to || to - i > 15) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = bytes[i]! - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/** The field names read, as bytes, with what each sets. */
const FIELDS = ['id', 'addr', 'name', 'user', 'lib-name', 'flags', 'db', 'cmd', 'age', 'idle', 'tot-mem', 'qbuf', 'omem'] as const;
type Field = (typeof FIELDS)[number];
const FIELD_BYTES: ReadonlyArray<readonly [Field, Buffer]> = FIELDS.map((f) => [f, Buffer.from(f, 'latin1')] as const);

function fieldAt(bytes: Buffer, from: number, to: number): Field | undefined {
  const n = to - from;
  for (const [f, b] of FIELD_BYTES) {
    if (b.length !== n) continue;
    let i = 0;
    while (i < n && bytes[from + i] === b[i]) i++;
    if (i === n) return f;
  }
  return undefined;
}

export function bucketOf(seconds: number | null): number | null {
  if (seconds === null || seconds < 0) return null;
  let b: number = TIME_BUCKETS[0];
  for (const lower of TIME_BUCKETS) if (seconds >= lower) b = lower;
  return b;
}

/** A bounded "top N by value" list: kept sorted, largest first, ties by client id. */
class Top {
  readonly rows: Array<{ v: number; c: Scan }> = [];
  offer(v: number | null, c: Scan): void {
    if (v === null || v <= 0) return;
    const rows = this.rows;
    if (rows.length === TOP_N && !better(v, c.id, rows[TOP_N - 1]!)) return;
    let i = rows.length;
    while (i > 0 && better(v, c.id, rows[i - 1]!)) i--;
    rows.splice(i, 0, { v, c: { ...c } });
    if (rows.length > TOP_N) rows.pop();
  }
}
const better = (v: number, id: number | null, than: { v: number; c: Scan }): boolean =>
  v > than.v || (v === than.v && (id ?? Infinity) < (than.c.id ?? Infinity));

export interface SummaryOptions {
  /** Categories the policy excludes: their group sets are not built. */
  excluded?: (category: Category) => boolean;
}

/**
 * Summarises a CLIENT LIST reply in one pass over its bytes (a Buffer, as
 * RedisSession#commandBuffer returns it: no string copy of the reply). Lines are
 * `field=value` pairs separated by single spaces; a value cannot hold a space or a
 * newline (CLIENT SETNAME and CLIENT SETINFO refuse them), and the first `=` ends
 * the field name (a name may contain `=`).
 */
export function summarizeClientList(text: string | Buffer, opts: SummaryOptions = {}): ClientSummaryRow[] {
  const sets = GROUP_SETS.filter((s) => {
    const c = setCategory(s);
    return c === null || opts.excluded?.(c) !== true;
  });
  const groups = new Map<GroupSet, Map<string | number | null, Group>>(sets.map((s) => [s, new Map()]));
  const tops: Record<TopSet, Top> = { top_tot_mem: new Top(), top_idle: new Top(), top_omem: new Top() };
  const total: Group = { key: null, clients: 0, tot_mem: null, qbuf: null, omem: null };
  const c: Scan = {
    id: null,
    addr: null,
    name: null,
    user: null,
    lib_name: null,
    flags: null,
    db: null,
    cmd: null,
    age: null,
    idle: null,
    tot_mem: null,
    qbuf: null,
    omem: null,
  };

  const add = (set: GroupSet, key: string | number | null): void => {
    const m = groups.get(set);
    if (m === undefined) return;
    let g = m.get(key);
    if (g === undefined) {
      g = { key, clients: 0, tot_mem: null, qbuf: null, omem: null };
      m.set(key, g);
    }
    count(g);
  };
  const count = (g: Group): void => {
    g.clients++;
    g.tot_mem = plus(g.tot_mem, c.tot_mem);
    g.qbuf = plus(g.qbuf, c.qbuf);
    g.omem = plus(g.omem, c.omem);
  };

  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let pos = 0;
  const len = bytes.length;
  while (pos < len) {
    let eol = bytes.indexOf(10, pos);
    if (eol === -1) eol = len;
    let end = eol;
    if (end > pos && bytes[end - 1] === 13) end--;
    c.id = c.addr = c.name = c.user = c.lib_name = c.flags = c.db = c.cmd = c.age = c.idle = c.tot_mem = c.qbuf = c.omem = null;
    let host: string | null = null;
    let seen = false;
    let p = pos;
    while (p < end) {
      // One `field=value` token, up to the next space.
      let eq = -1;
      let sp = p;
      for (; sp < end; sp++) {
        const ch = bytes[sp];
        if (ch === 32) break;
        if (ch === 61 && eq === -1) eq = sp;
      }
      if (eq > p) {
        seen = true;
        const v = eq + 1;
        switch (fieldAt(bytes, p, eq)) {
          case 'id':
            c.id = intAt(bytes, v, sp);
            break;
          case 'addr': {
            c.addr = textAt(bytes, v, sp);
            // The host is the address up to its last colon (the port), then cut.
            let colon = sp - 1;
            while (colon > v && bytes[colon] !== 58) colon--;
            host = colon > v ? textAt(bytes, v, colon) : c.addr;
            break;
          }
          case 'name':
            c.name = textAt(bytes, v, sp);
            break;
          case 'user':
            c.user = textAt(bytes, v, sp);
            break;
          case 'lib-name':
            c.lib_name = textAt(bytes, v, sp);
            break;
          case 'flags':
            c.flags = textAt(bytes, v, sp);
            break;
          case 'db':
            c.db = intAt(bytes, v, sp);
            break;
          case 'cmd':
            c.cmd = textAt(bytes, v, sp);
            break;
          case 'age':
            c.age = intAt(bytes, v, sp);
            break;
          case 'idle':
            c.idle = intAt(bytes, v, sp);
            break;
          case 'tot-mem':
            c.tot_mem = intAt(bytes, v, sp);
            break;
          case 'qbuf':
            c.qbuf = intAt(bytes, v, sp);
            break;
          case 'omem':
            c.omem = intAt(bytes, v, sp);
            break;
          case undefined:
            break;
        }
      }
      p = sp + 1;
    }
    pos = eol + 1;
    if (!seen) continue;
    count(total);
    add('name', c.name);
    add('host', host);
    add('user', c.user);
    add('lib_name', c.lib_name);
    add('flags', c.flags);
    add('db', c.db);
    add('cmd', c.cmd);
    add('idle', bucketOf(c.idle));
    add('age', bucketOf(c.age));
    tops.top_tot_mem.offer(c.tot_mem, c);
    tops.top_idle.offer(c.idle, c);
    tops.top_omem.offer(c.omem, c);
  }

  const rows: ClientSummaryRow[] = [{ set: 'all', clients: total.clients, tot_mem: total.tot_mem, qbuf: total.qbuf, omem: total.omem }];
  for (const set of sets) {
    const all = [...groups.get(set)!.values()].sort((a, b) => b.clients - a.clients || compareKeys(a.key, b.key));
    const col = SET_KEY[set];
    for (const g of all.slice(0, MAX_GROUPS)) rows.push({ set, [col]: g.key, clients: g.clients, tot_mem: g.tot_mem, qbuf: g.qbuf, omem: g.omem });
    const rest = all.slice(MAX_GROUPS);
    if (rest.length > 0) {
      const r: Omit<Group, 'key'> = { clients: 0, tot_mem: null, qbuf: null, omem: null };
      for (const g of rest) {
        r.clients += g.clients;
        r.tot_mem = plus(r.tot_mem, g.tot_mem);
        r.qbuf = plus(r.qbuf, g.qbuf);
        r.omem = plus(r.omem, g.omem);
      }
      rows.push({ set, rest: rest.length, ...r });
    }
  }
  for (const set of TOP_SETS) {
    tops[set].rows.forEach(({ c: t }, i) =>
      rows.push({
        set,
        rank: i + 1,
        id: t.id,
        addr: t.addr,
        name: t.name,
        user: t.user,
        lib_name: t.lib_name,
        flags: t.flags,
        db: t.db,
        cmd: t.cmd,
        age_s: t.age,
        idle_s: t.idle,
        tot_mem: t.tot_mem,
        qbuf: t.qbuf,
        omem: t.omem,
      }),
    );
  }
  return rows;
}

/** Deterministic order of equal-sized groups (null last), so an unchanged server gives identical bytes. */
function compareKeys(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
