import { isVettedConfig } from './settings.js';

/**
 * The command allowlist of every Redis connection the agent opens. Redis has no
 * read-only session mode and COMMAND INFO's `readonly` flag is about keys, not
 * introspection, so the allowlist is explicit: command + subcommand + the shape
 * of the arguments. SLOWLOG GET passes, SLOWLOG RESET does not; CONFIG GET
 * passes only for vetted names, never `*`; MONITOR, CONFIG SET, CLIENT KILL,
 * SELECT and everything else are refused before they reach the network.
 */
export class CommandRefused extends Error {
  constructor(
    /** The command as the ledger records a refusal: name and subcommand, never the arguments. */
    readonly statement: string,
    readonly why: string,
  ) {
    super(`refused by the read-only allowlist: ${statement} (${why})`);
    this.name = 'CommandRefused';
  }
}

export interface AllowedCommand {
  /** ACL name of the command, as in `ACL SETUSER … +slowlog|get`. */
  key: string;
  /** What the audit ledger records; credentials are redacted. */
  statement: string;
}

/** Returns why the arguments are not acceptable, or undefined when they are. */
type ArgsRule = (args: readonly string[]) => string | undefined;

interface Rule {
  args: ArgsRule;
  /** AUTH and HELLO carry credentials: the ledger gets the command name only. */
  redact?: boolean;
}

const none: ArgsRule = (a) => (a.length === 0 ? undefined : 'takes no arguments');
const one =
  (re: RegExp, what: string): ArgsRule =>
  (a) =>
    a.length === 1 && re.test(a[0]!) ? undefined : `takes one ${what}`;

const NAME = /^[!-~]{1,256}$/; // a printable token without spaces: client and user names
const COUNT = /^\d{1,6}$/;
const LOG_TYPES = new Set(['slow', 'large-request', 'large-reply']);

const infoSections: ArgsRule = (a) => (a.length <= 16 && a.every((s) => /^[a-z_]{1,32}$/i.test(s)) ? undefined : 'takes section names only');

const auth: ArgsRule = (a) => (a.length === 1 || a.length === 2 ? undefined : 'takes [user] password');

/** HELLO protover [AUTH user password] [SETNAME name]: what ioredis sends when it speaks RESP3. */
const hello: ArgsRule = (a) => {
  if (a.length === 0) return undefined;
  if (a[0] !== '2' && a[0] !== '3') return 'protocol version must be 2 or 3';
  let i = 1;
  while (i < a.length) {
    const opt = a[i]!.toUpperCase();
    if (opt === 'AUTH' && a.length >= i + 3) i += 3;
    else if (opt === 'SETNAME' && a.length >= i + 2 && NAME.test(a[i + 1]!)) i += 2;
    else return 'takes only AUTH and SETNAME options';
  }
  return undefined;
};

/** CLIENT LIST, CLIENT LIST TYPE <type>, CLIENT LIST ID <id>…: no filter that changes anything exists, but keep the shape tight. */
const clientList: ArgsRule = (a) => {
  if (a.length === 0) return undefined;
  const opt = a[0]!.toUpperCase();
  if (opt === 'TYPE' && a.length === 2 && /^(normal|master|replica|slave|pubsub)$/i.test(a[1]!)) return undefined;
  if (opt === 'ID' && a.length >= 2 && a.slice(1).every((id) => /^\d{1,19}$/.test(id))) return undefined;
  return 'takes no filter other than TYPE or ID';
};

const configGet: ArgsRule = (a) => {
  if (a.length === 0) return 'needs parameter names';
  const bad = a.find((n) => !isVettedConfig(n));
  return bad === undefined ? undefined : `"${bad.slice(0, 64)}" is not a vetted parameter (never a pattern)`;
};

const commandlogGet: ArgsRule = (a) => (a.length === 2 && COUNT.test(a[0]!) && LOG_TYPES.has(a[1]!.toLowerCase()) ? undefined : 'takes count and a log type');
const commandlogLen: ArgsRule = (a) => (a.length === 1 && LOG_TYPES.has(a[0]!.toLowerCase()) ? undefined : 'takes a log type');
const slowlogGet: ArgsRule = (a) => (a.length === 0 || (a.length === 1 && COUNT.test(a[0]!)) ? undefined : 'takes an optional count (0 or more)');

/** Top-level commands. A map of subcommands stands for a container command (CLIENT, CONFIG, …). */
const ALLOW: Readonly<Record<string, Rule | Readonly<Record<string, Rule>>>> = {
  // Connection handshake (ioredis sends these on connect; see session.ts).
  auth: { args: auth, redact: true },
  hello: { args: hello, redact: true },
  ping: { args: none },
  client: {
    setname: { args: one(NAME, 'name without spaces') },
    list: { args: clientList },
  },
  // Introspection.
  info: { args: infoSections },
  slowlog: { get: { args: slowlogGet }, len: { args: none } },
  commandlog: { get: { args: commandlogGet }, len: { args: commandlogLen } },
  latency: { latest: { args: none } },
  config: { get: { args: configGet } },
  memory: { stats: { args: none } },
  acl: { whoami: { args: none }, getuser: { args: one(NAME, 'user name') }, list: { args: none } },
  // CLUSTER SLOTS is how ioredis discovers a cluster's nodes (cluster mode only).
  cluster: { info: { args: none }, slots: { args: none } },
  // Sent by ioredis to a Sentinel (sentinel mode only) to find the current master.
  sentinel: { 'get-master-addr-by-name': { args: one(NAME, 'master name') } },
};

const isRule = (r: Rule | Readonly<Record<string, Rule>>): r is Rule => typeof (r as Rule).args === 'function';

function argText(a: unknown): string | undefined {
  if (typeof a === 'string') return a;
  if (typeof a === 'number' && Number.isFinite(a)) return String(a);
  if (Buffer.isBuffer(a)) return a.toString('utf8');
  return undefined;
}

/** `GET`, `"two words"`: readable in the ledger, unambiguous. */
const show = (a: string): string => (/^[!-~]+$/.test(a) && !a.includes('"') ? a : JSON.stringify(a));

/**
 * Checks one command against the allowlist. Returns its ACL key and the ledger
 * statement, or throws CommandRefused. Pure: used by the driver hook for every
 * command any ioredis connection of the agent sends, and by the unit tests.
 */
export function checkCommand(name: string, rawArgs: readonly unknown[]): AllowedCommand {
  const cmd = name.toLowerCase();
  const args: string[] = [];
  for (const a of rawArgs) {
    const t = argText(a);
    if (t === undefined) throw new CommandRefused(`${cmd.toUpperCase()} <${rawArgs.length} args>`, 'arguments must be strings or numbers');
    args.push(t);
  }
  const entry = Object.hasOwn(ALLOW, cmd) ? ALLOW[cmd] : undefined;
  if (entry === undefined) throw new CommandRefused(`${cmd.toUpperCase()}${args.length > 0 ? ` <${args.length} args>` : ''}`, 'not on the allowlist');
  let key = cmd;
  let rule: Rule;
  let rest = args;
  let shown = cmd.toUpperCase();
  if (isRule(entry)) {
    rule = entry;
  } else {
    const sub = (args[0] ?? '').toLowerCase();
    const subRule = Object.hasOwn(entry, sub) ? entry[sub] : undefined;
    if (subRule === undefined) {
      const label = sub === '' ? shown : `${shown} ${/^[a-z|-]{1,32}$/.test(sub) ? sub.toUpperCase() : '<subcommand>'}`;
      throw new CommandRefused(`${label}${args.length > 1 ? ` <${args.length - 1} args>` : ''}`, 'not on the allowlist');
    }
    rule = subRule;
    key = `${cmd}|${sub}`;
    rest = args.slice(1);
    shown = `${shown} ${sub.toUpperCase()}`;
  }
  const why = rule.args(rest);
  if (why !== undefined) throw new CommandRefused(`${shown}${rest.length > 0 ? ` <${rest.length} args>` : ''}`, why);
  let statement: string;
  if (rule.redact) statement = rest.length > 0 ? `${shown} <redacted>` : shown;
  else statement = [shown, ...rest.map(show)].join(' ');
  return { key, statement: statement.length > 1000 ? `${statement.slice(0, 1000)}…` : statement };
}
