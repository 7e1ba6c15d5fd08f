import { TargetConnectError } from '../core/engine.js';
import { type Unavailable, unavailable } from '../core/signal.js';
import { ReadOnlyViolation } from './guard.js';
import { quoteName } from './names.js';
import { oneLine } from '../core/text.js';

/** One server message (an ERROR token) as mssql exposes it on a RequestError. */
export interface ServerMessage {
  number: number;
  message: string;
}

interface DriverErrorLike {
  code?: unknown;
  number?: unknown;
  message?: unknown;
  precedingErrors?: unknown;
  originalError?: { info?: { number?: unknown; message?: unknown }; cause?: unknown; code?: unknown; message?: unknown };
  cause?: unknown;
  /** AggregateError members (tedious wraps Entra token failures this way). */
  errors?: unknown;
}

const asObj = (err: unknown): DriverErrorLike => (typeof err === 'object' && err !== null ? (err as DriverErrorLike) : {});

function messageOf(err: unknown): ServerMessage | undefined {
  const e = asObj(err);
  // mssql copies info.number onto the RequestError; fall back to the tedious token it wraps.
  const number = typeof e.number === 'number' ? e.number : e.originalError?.info?.number;
  if (typeof number !== 'number') return undefined;
  return { number, message: typeof e.message === 'string' ? e.message : String(e.originalError?.info?.message ?? '') };
}

/**
 * Every server message of a failed batch, in the order the server sent them. mssql
 * throws the last one and keeps the others in `precedingErrors`: for a missing
 * VIEW SERVER STATE that is Msg 300 (which permission) followed by Msg 297.
 */
export function serverMessages(err: unknown): ServerMessage[] {
  const e = asObj(err);
  const before = Array.isArray(e.precedingErrors) ? e.precedingErrors : [];
  return [...before, err].map(messageOf).filter((m): m is ServerMessage => m !== undefined);
}

export const driverCode = (err: unknown): string | undefined => {
  const c = asObj(err).code;
  return typeof c === 'string' ? c : undefined;
};

/** Server messages name objects and permissions, not data; cap them anyway. */
export const brief = (msg: unknown): string => oneLine(msg);

/** Who the monitoring identity is on the server; set by the session so fixes name the real principal. */
export interface Grantee {
  login: string;
  user: string;
  azureSqlDatabase: boolean;
}

/**
 * A statement the server (or the driver) refused, carrying what the mapping needs:
 * every server message of the batch and the identity to name in a GRANT.
 */
export class SqlServerError extends Error {
  constructor(
    readonly code: string | undefined,
    readonly messages: readonly ServerMessage[],
    readonly grantee: Grantee | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'SqlServerError';
  }

  static from(err: unknown, grantee: Grantee | undefined): SqlServerError {
    return new SqlServerError(driverCode(err), serverMessages(err), grantee, brief(asObj(err).message));
  }
}

function permissionFix(m: ServerMessage, g: Grantee | undefined): string | undefined {
  const login = quoteName(g?.login ?? 'logstag_monitor');
  const user = quoteName(g?.user ?? g?.login ?? 'logstag_monitor');
  let x: RegExpExecArray | null;
  switch (m.number) {
    case 300: // "VIEW SERVER STATE permission was denied on object 'server', database 'master'."
      if ((x = /^(.+?) permission was denied on object '([^']*)', database '([^']*)'/.exec(m.message))) {
        return x[2] === 'server' ? `USE [master]; GRANT ${x[1]} TO ${login};` : `USE ${quoteName(x[3]!)}; GRANT ${x[1]} TO ${user};`;
      }
      return undefined;
    case 262: // Azure SQL Database: "VIEW DATABASE STATE permission denied in database 'db'."
      if ((x = /^(.+?) permission denied in database '([^']*)'/.exec(m.message))) return `GRANT ${x[1]} TO ${user};  -- in database ${quoteName(x[2]!)}`;
      return undefined;
    case 229: // "The SELECT permission was denied on the object 'o', database 'd', schema 's'."
      if ((x = /The (\w+) permission was denied on the object '([^']*)', database '([^']*)', schema '([^']*)'/.exec(m.message))) {
        return `USE ${quoteName(x[3]!)}; GRANT ${x[1]} ON ${quoteName(x[4]!)}.${quoteName(x[2]!)} TO ${login};  -- the login needs a user in ${quoteName(x[3]!)}`;
      }
      return undefined;
    case 916: // 'The server principal "l" is not able to access the database "d" under the current security context.'
      if ((x = /access the database "([^"]*)"/.exec(m.message))) {
        return g?.azureSqlDatabase
          ? undefined
          : `USE [master]; GRANT CONNECT ANY DATABASE TO ${login};  -- or, in ${quoteName(x[1]!)}: CREATE USER ${login} FOR LOGIN ${login};`;
      }
      return undefined;
    default:
      return undefined;
  }
}

const PERMISSION_NUMBERS = new Set([300, 262, 229, 916, 297]);
const MISSING_OBJECT_NUMBERS = new Set([208, 207, 4121, 195]);
const CONNECTION_CODES = new Set(['ESOCKET', 'ECONNCLOSED', 'ENOTOPEN', 'ENOCONN', 'EINVALIDSTATE']);

/** A driver or server error raised by one signal's read → the signal's unavailable result. */
export function mapMssqlSignalError(err: unknown): Unavailable {
  if (err instanceof ReadOnlyViolation) return unavailable('error', err.message);
  const e = err instanceof SqlServerError ? err : SqlServerError.from(err, undefined);
  const denied = e.messages.filter((m) => PERMISSION_NUMBERS.has(m.number));
  if (denied.length > 0) {
    // Msg 297 only says "no permission"; the message before it names the permission.
    const specific = denied.find((m) => m.number !== 297) ?? denied[0]!;
    const fix = permissionFix(specific, e.grantee);
    return unavailable('permission', `Msg ${specific.number}: ${brief(specific.message)}`, fix);
  }
  const missing = e.messages.find((m) => MISSING_OBJECT_NUMBERS.has(m.number));
  if (missing) return unavailable('unsupported', `not available on this server or edition (Msg ${missing.number}: ${brief(missing.message)})`);
  const first = e.messages[0];
  if (first?.number === 1222) return unavailable('timeout', 'waited too long for a lock (Msg 1222)');
  if (first?.number === 976 || first?.number === 978 || first?.number === 983) {
    return unavailable('error', `the database is not readable on this availability replica (Msg ${first.number})`);
  }
  if (e.code === 'ETIMEOUT') return unavailable('timeout', 'no answer within the request timeout (statementTimeoutMs); the statement was cancelled');
  if (e.code === 'ECANCEL') return unavailable('timeout', 'the request was cancelled');
  if (e.code !== undefined && CONNECTION_CODES.has(e.code)) return unavailable('error', `connection lost: ${e.message}`);
  return unavailable('error', first === undefined ? e.message : `Msg ${first.number}: ${brief(first.message)}`);
}

const TLS_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;

/** Every error under a driver error: mssql ConnectionError → tedious ConnectionError → Node socket/TLS error, AggregateError members. */
function causes(err: unknown, depth = 0): DriverErrorLike[] {
  if (depth > 5 || typeof err !== 'object' || err === null) return [];
  const e = err as DriverErrorLike;
  const members = Array.isArray(e.errors) ? e.errors : [];
  return [e, ...causes(e.originalError ?? e.cause, depth + 1), ...members.flatMap((m) => causes(m, depth + 1))];
}

/** Errors while opening a session → why the target as a whole is unusable (CLI exit 3). */
export function mapMssqlConnectError(err: unknown, where: string): TargetConnectError {
  const chain = causes(err);
  const code = driverCode(err) ?? chain.map((c) => c.code).find((c): c is string => typeof c === 'string') ?? '';
  const msg = brief(asObj(err).message);
  const tlsCause = chain.find((c) => typeof c.code === 'string' && TLS_CODES.test(c.code));
  if (tlsCause !== undefined || code === 'EENCRYPT' || /certificate|SSL routines|TLS/i.test(msg)) {
    return new TargetConnectError('tls', `${where}: TLS failed (${msg})`);
  }
  switch (code) {
    case 'ELOGIN':
    case 'EFEDAUTH':
      return new TargetConnectError('authentication', `${where}: ${msg}`);
    case 'ETIMEOUT':
      return new TargetConnectError('timeout', `${where}: no answer in time (${msg})`);
    case 'ESOCKET':
    case 'EINSTLOOKUP':
    case 'ECONNCLOSED':
      return new TargetConnectError('unreachable', `${where}: unreachable (${msg})`);
  }
  if (chain.some((c) => c.code === 'EFEDAUTH')) return new TargetConnectError('authentication', `${where}: Microsoft Entra token was not accepted`);
  return new TargetConnectError('unreachable', `${where}: ${code ? `${code} ` : ''}${msg}`);
}
