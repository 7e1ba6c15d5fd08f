/**
 * Parsers for the replies the agent reads. Pure functions over what the server
 * sends (RESP2 shapes, as ioredis returns them with protocol 2), unit-tested
 * against real Redis output and Valkey fixtures.
 */

/** One INFO section: field → raw value, in server order. */
export type InfoSection = Map<string, string>;

/**
 * Splits an INFO reply into sections keyed by the lower-cased header
 * ("# Server" → "server"). A section the server does not know is absent (INFO
 * answers an empty string for it), while a known but empty section (Keyspace on
 * an empty server, Errorstats before the first error) is present and empty.
 */
export function parseInfo(text: string): Map<string, InfoSection> {
  const sections = new Map<string, InfoSection>();
  let current: InfoSection | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      current = new Map();
      sections.set(line.slice(1).trim().toLowerCase(), current);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || current === undefined) continue;
    current.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return sections;
}

/** "12", "-1", "0.25", "99.87%" → numbers; anything else stays a string. */
export function infoScalar(value: string): number | string {
  const v = value.endsWith('%') ? value.slice(0, -1) : value;
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return value;
}

/** "ip=10.0.0.2,port=6380,state=online" → { ip: '10.0.0.2', port: '6380', state: 'online' } */
export function parseKv(value: string, sep = ','): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(sep)) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export const num = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const n = infoScalar(v);
  return typeof n === 'number' ? n : null;
};

/**
 * CLIENT LIST: one client per line, space-separated `field=value` pairs. Values
 * cannot contain spaces (CLIENT SETNAME refuses them), so splitting on spaces is
 * exact; an empty value (`name=`) stays an empty string.
 */
export function parseClientList(text: string): Record<string, string>[] {
  const rows: Record<string, string>[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    rows.push(parseKv(line.trim(), ' '));
  }
  return rows;
}

/** A flat [k1, v1, k2, v2, …] reply (CONFIG GET, MEMORY STATS, ACL GETUSER in RESP2) → entries. */
export function pairs(reply: unknown): Array<[string, unknown]> {
  if (!Array.isArray(reply)) return [];
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), reply[i + 1]]);
  return out;
}

// ---------------------------------------------------------------- slow log

/** A SLOWLOG GET / COMMANDLOG GET entry as the server sends it (args included: never shipped). */
export interface RawLogEntry {
  id: number;
  timestamp: number;
  /** Microseconds for the slow log; bytes for COMMANDLOG large-request/large-reply. */
  value: number;
  argv: string[];
  clientAddr: string | null;
  clientName: string | null;
}

/** [id, timestamp, value, [argv…], addr, name]; addr and name exist since Redis 4.0. */
export function parseLogEntries(reply: unknown): RawLogEntry[] {
  if (!Array.isArray(reply)) throw new TypeError('log reply is not an array');
  return reply.map((e: unknown) => {
    if (!Array.isArray(e) || e.length < 4 || !Array.isArray(e[3])) throw new TypeError('malformed log entry');
    const [id, ts, value, argv, addr, name] = e as [unknown, unknown, unknown, unknown[], unknown, unknown];
    return {
      id: Number(id),
      timestamp: Number(ts),
      value: Number(value),
      argv: argv.map(String),
      clientAddr: addr === undefined || addr === null || addr === '' ? null : String(addr),
      clientName: name === undefined || name === null || name === '' ? null : String(name),
    };
  });
}

/** Container commands whose first argument is a subcommand name, not data. */
const CONTAINERS = new Set([
  'acl',
  'client',
  'cluster',
  'command',
  'commandlog',
  'config',
  'debug',
  'function',
  'latency',
  'memory',
  'module',
  'object',
  'pubsub',
  'script',
  'slowlog',
  'xgroup',
  'xinfo',
]);

const MORE_ARGS = /^\.\.\. \((\d+) more arguments\)$/;
const MORE_BYTES = /\.\.\. \((\d+) more bytes\)$/;
/** Redis keeps at most 32 arguments per entry and 128 bytes per argument, and says how much it cut. */
const MAX_ARGC = 32;
const MAX_STRING = 128;

export interface ArgSummary {
  /** Lower-case command name, with the subcommand for container commands: 'set', 'config|set'. */
  command: string;
  /** How many arguments followed the command (and subcommand), as executed. */
  count: number;
  /**
   * Byte length of each argument, as executed; shorter than `count` when Redis
   * cut the list. null where a length would hint at a credential: arguments
   * Redis itself replaced with "(redacted)", and every argument of commands
   * that carry passwords.
   */
  byte_lengths: Array<number | null>;
}

/** Commands whose arguments can hold passwords (Redis 6.0 logged ACL SETUSER >password in clear). */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'acl|setuser', 'acl|dryrun', 'config|set', 'migrate', 'sentinel|set', 'sentinel|config']);

/**
 * The default redaction of a logged command: its name and the number and byte
 * lengths of its arguments, never their text (the slow log can hold AUTH and
 * ACL SETUSER passwords, keys and values). Undoes Redis' own truncation markers
 * so the figures describe the command as it ran.
 */
export function summarizeArgs(argv: readonly string[]): ArgSummary {
  const name = (argv[0] ?? '').toLowerCase();
  let rest = argv.slice(1);
  let command = name;
  const sub = rest[0];
  if (CONTAINERS.has(name) && sub !== undefined && /^[a-z][a-z-]{0,31}$/i.test(sub)) {
    command = `${name}|${sub.toLowerCase()}`;
    rest = rest.slice(1);
  }
  let extra = 0;
  const last = rest.at(-1);
  const more = last === undefined || argv.length !== MAX_ARGC ? null : MORE_ARGS.exec(last);
  if (more) {
    rest = rest.slice(0, -1);
    extra = Number(more[1]);
  }
  const hidden = CREDENTIAL_COMMANDS.has(command);
  const byte_lengths = rest.map((a) => {
    if (hidden || a === '(redacted)') return null;
    const bytes = Buffer.byteLength(a);
    const cut = bytes > MAX_STRING ? MORE_BYTES.exec(a) : null;
    if (cut && Buffer.byteLength(a.slice(0, cut.index)) === MAX_STRING) return MAX_STRING + Number(cut[1]);
    return bytes;
  });
  return { command, count: rest.length + extra, byte_lengths };
}

// ---------------------------------------------------------------- ACL

/** An ACL user's rules, from an `ACL LIST` line or an `ACL GETUSER` reply. Passwords are counted, never kept. */
export interface AclRules {
  user: string;
  flags: string[];
  passwordCount: number;
  /** Command rules in order: '-@all', '+info', '+@read', … */
  commands: string[];
  /** Key patterns: '~*', '%R~cache:*', or the 'allkeys' flag. */
  keys: string[];
  channels: string[];
  selectors: string[];
}

function tokens(rules: string): string[] {
  // Selectors are parenthesised groups: "(~k* +get)" stays one token.
  return rules.match(/\([^)]*\)|\S+/g) ?? [];
}

/** `user <name> on nopass sanitize-payload #<hash> ~* &* +@all (…)` */
export function parseAclListLine(line: string): AclRules | undefined {
  const t = tokens(line.trim());
  if (t[0] !== 'user' || t[1] === undefined) return undefined;
  const r: AclRules = { user: t[1], flags: [], passwordCount: 0, commands: [], keys: [], channels: [], selectors: [] };
  for (const tok of t.slice(2)) {
    if (tok.startsWith('#') || tok.startsWith('>')) r.passwordCount++;
    else if (tok.startsWith('(')) r.selectors.push(tok);
    else if (tok.startsWith('~') || /^%R?W?~/.test(tok)) r.keys.push(tok);
    else if (tok.startsWith('&')) r.channels.push(tok);
    else if (tok.startsWith('+') || tok.startsWith('-') || tok === 'allcommands' || tok === 'nocommands') r.commands.push(tok);
    else r.flags.push(tok);
  }
  return r;
}

const words = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(' ').filter((w) => w !== '') : []);

/** ACL GETUSER (RESP2 flat map). Redis 6 gives keys/channels as lists; Redis 7 as one string. */
export function parseAclGetUser(user: string, reply: unknown): AclRules {
  const m = new Map(pairs(reply));
  return {
    user,
    flags: words(m.get('flags')),
    passwordCount: Array.isArray(m.get('passwords')) ? (m.get('passwords') as unknown[]).length : 0,
    commands: words(m.get('commands')),
    keys: words(m.get('keys')),
    channels: words(m.get('channels')),
    selectors: Array.isArray(m.get('selectors')) ? (m.get('selectors') as unknown[]).map((s) => JSON.stringify(s)) : [],
  };
}

/** Categories whose commands write or delete data, or administer the server. */
const WRITE_CATEGORIES = new Set([
  'all',
  'write',
  'keyspace',
  'string',
  'hash',
  'list',
  'set',
  'sortedset',
  'stream',
  'bitmap',
  'hyperloglog',
  'geo',
  'scripting',
  'admin',
  'dangerous',
]);
const ADMIN_CATEGORIES = new Set(['all', 'admin', 'dangerous']);

export interface AclPosture {
  user: string;
  enabled: boolean;
  nopass: boolean;
  password_count: number;
  /** +@all / allcommands in effect. */
  all_commands: boolean;
  /** Holds @admin or @dangerous (CONFIG SET, ACL SETUSER, SHUTDOWN, MONITOR, …). */
  admin_commands: boolean;
  /** ~* / allkeys: every key is reachable. */
  all_keys: boolean;
  /** Every key reachable with a category that writes (the data is writable by this identity). */
  writes_all_keys: boolean;
  all_channels: boolean;
  selector_count: number;
}

/**
 * What matters about a user for security posture, derived from its rules in
 * order (a later `-@all` undoes an earlier `+@all`). Individual commands
 * (`+set`) are not classified; categories and the all-* flags are.
 */
export function aclPosture(r: AclRules): AclPosture {
  let all = r.flags.includes('allcommands');
  const cats = new Set<string>(all ? ['all'] : []);
  for (const c of r.commands) {
    if (c === '+@all' || c === 'allcommands') {
      all = true;
      cats.add('all');
    } else if (c === '-@all' || c === 'nocommands') {
      all = false;
      cats.clear();
    } else if (c.startsWith('+@')) cats.add(c.slice(2));
    else if (c.startsWith('-@')) cats.delete(c.slice(2));
  }
  // ~* and allkeys grant read and write; %R~* only reads, %W~* / %RW~* write (Redis 7 key permissions).
  const allKeys = r.flags.includes('allkeys') || r.keys.some((k) => /^(~\*|allkeys|%R?W?~\*)$/.test(k));
  const writableAllKeys = r.flags.includes('allkeys') || r.keys.some((k) => /^(~\*|allkeys|%R?W~\*)$/.test(k));
  return {
    user: r.user,
    enabled: r.flags.includes('on'),
    nopass: r.flags.includes('nopass'),
    password_count: r.passwordCount,
    all_commands: all,
    admin_commands: [...cats].some((c) => ADMIN_CATEGORIES.has(c)),
    all_keys: allKeys,
    writes_all_keys: writableAllKeys && [...cats].some((c) => WRITE_CATEGORIES.has(c)),
    all_channels: r.flags.includes('allchannels') || r.channels.includes('&*'),
    selector_count: r.selectors.length,
  };
}
