/**
 * Redis slow-log (and command-log) arguments reduced to what is safe to ship:
 * the command name (and the subcommand of container commands such as
 * `ACL SETUSER`), how many arguments it had and the byte length of each. The
 * arguments themselves never leave: they can hold keys, values, passwords
 * (`AUTH`, `ACL SETUSER … >pw`).
 */
export interface ReducedArgs {
  command: string;
  arg_count: number;
  arg_lengths: number[];
}

/** Commands whose first argument is a fixed subcommand keyword, not data. */
const CONTAINER_COMMANDS = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'COMMANDLOG',
  'CONFIG',
  'DEBUG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'MODULE',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SENTINEL',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);

/** A command or subcommand name: short, plain ASCII. Anything else is not echoed. */
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const UNKNOWN_COMMAND = '?';

// Redis truncates slow-log entries: at most 32 arguments (the last one then says
// "... (N more arguments)") and 128 bytes per argument (then "... (N more bytes)").
// See slowlogCreateEntry() in Redis's slowlog.c.
const MAX_ARGC = 32;
const MAX_STRING = 128;
const MORE_ARGS = /^\.\.\. \((\d{1,10}) more arguments\)$/;
const MORE_BYTES = /^\.\.\. \((\d{1,19}) more bytes\)$/;

type Arg = string | Uint8Array;

const bytesOf = (a: Arg): Uint8Array => (typeof a === 'string' ? Buffer.from(a, 'utf8') : a);

/** The argument's length on the server, undoing slow-log truncation where the marker proves it. */
function serverLength(a: Arg): number {
  const b = bytesOf(a);
  if (b.length > MAX_STRING && b.length <= MAX_STRING + 40) {
    const tail = Buffer.from(b.subarray(MAX_STRING)).toString('latin1');
    const m = MORE_BYTES.exec(tail);
    if (m) return MAX_STRING + Number(m[1]);
  }
  return b.length;
}

function asName(a: Arg | undefined): string | undefined {
  if (a === undefined) return undefined;
  const b = bytesOf(a);
  if (b.length === 0 || b.length > 64) return undefined;
  const text = Buffer.from(b).toString('latin1');
  return COMMAND_NAME.test(text) ? text.toUpperCase() : undefined;
}

export function reduceRedisArgs(args: readonly Arg[]): ReducedArgs {
  const name = asName(args[0]);
  if (name === undefined) {
    return { command: UNKNOWN_COMMAND, arg_count: Math.max(0, args.length - 1), arg_lengths: args.slice(1).map(serverLength) };
  }
  let command = name;
  let rest = args.slice(1);
  const sub = CONTAINER_COMMANDS.has(name) ? asName(rest[0]) : undefined;
  if (sub !== undefined) {
    command = `${name} ${sub}`;
    rest = rest.slice(1);
  }
  let extra = 0;
  if (args.length === MAX_ARGC && rest.length > 0) {
    const lastArg = rest[rest.length - 1]!;
    const m = MORE_ARGS.exec(Buffer.from(bytesOf(lastArg)).toString('latin1'));
    if (m) {
      rest = rest.slice(0, -1);
      extra = Number(m[1]);
    }
  }
  const lengths = rest.map(serverLength);
  // Lengths of the arguments the server dropped are unknown: counted, not listed.
  return { command, arg_count: lengths.length + extra, arg_lengths: lengths };
}
