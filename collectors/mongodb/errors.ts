/**
 * MongoDB errors → unavailable results and connect verdicts. Server error
 * messages echo the command document (and with it whatever values it carried),
 * so nothing here ever copies `err.message` from the driver or the server: the
 * words are ours, plus the numeric code and its codeName.
 */
import { TargetConnectError } from '../core/engine.js';
import { ReadOnlyViolation } from '../core/read-only.js';
import { type Unavailable, unavailable } from '../core/signal.js';
import { type GrantId, grantFix, grantLabel } from './grants.js';

export type FailureKind = 'server' | 'timeout' | 'lost' | 'client';

/** Who the fix is for: the monitoring user and the database that authenticates it. */
export interface FixUser {
  user: string;
  authDb: string;
}

/** A command the server (or the connection) failed. Carries codes, never the server's text. */
export class MongoCommandFailure extends Error {
  constructor(
    readonly command: string,
    readonly db: string,
    readonly kind: FailureKind,
    readonly code: number | undefined,
    readonly codeName: string | undefined,
    /** The privilege the command needs, when the agent knows it. */
    readonly grant: GrantId | undefined,
    readonly fixUser: FixUser,
  ) {
    super(`${command} on ${db} failed: ${kind === 'server' ? `${codeName ?? 'error'}${code === undefined ? '' : ` (${code})`}` : kind}`);
    this.name = 'MongoCommandFailure';
  }
}

/** A server answer that does not have the shape the signal needs; the message is ours. */
export class MalformedAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedAnswer';
  }
}

const UNAUTHORIZED = 13;
const ATLAS_ERROR = 8000;
const NOT_ENABLED: Readonly<Record<number, string>> = {
  76: 'replication is not enabled: the server is not a replica set member',
  94: 'the replica set is not initialized yet',
  26: 'the namespace does not exist on this server',
};
const NODE_STATE = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);

export function mapMongoSignalError(err: unknown): Unavailable {
  if (err instanceof ReadOnlyViolation || err instanceof MalformedAnswer) return unavailable('error', err.message);
  if (!(err instanceof MongoCommandFailure)) {
    return unavailable('error', `internal error while reading the answer (${err instanceof Error ? err.name : typeof err})`);
  }
  const what = `${err.command} on ${err.db}`;
  if (err.kind === 'timeout') return unavailable('timeout', `no answer to ${what} in time`);
  if (err.kind === 'lost') return unavailable('error', `connection lost during ${what}`);
  if (err.kind === 'client') return unavailable('error', `${what} could not be sent`);
  const code = err.code ?? 0;
  const name = `${err.codeName ?? 'error'} (${code})`;
  if (code === UNAUTHORIZED) {
    if (err.grant === undefined) return unavailable('permission', `${what} was refused: ${name}`);
    return unavailable('permission', `${what} was refused (${name}): the identity lacks ${grantLabel(err.grant)}`, grantFix([err.grant], err.fixUser));
  }
  if (code === ATLAS_ERROR) return unavailable('unsupported', `the hosting service does not allow ${what} (${name})`);
  if (code === 50) return unavailable('timeout', `the server stopped ${what} at maxTimeMS`);
  if (code === 59) return unavailable('unsupported', `${err.command} is not available on this server (${name})`);
  const notEnabled = NOT_ENABLED[code];
  if (notEnabled !== undefined) return unavailable('not_enabled', notEnabled);
  if (NODE_STATE.has(code)) return unavailable('error', `the server could not answer ${what} in its current state (${name})`);
  return unavailable('error', `${what} failed: ${name}`);
}

interface DriverErrorLike {
  name?: unknown;
  code?: unknown;
  codeName?: unknown;
  cause?: unknown;
  reason?: { servers?: Map<string, { error?: unknown }> };
}

/** The error and everything it wraps: causes and, for server selection, each server's last error. */
function chain(err: unknown): DriverErrorLike[] {
  const out: DriverErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null) continue;
    const d = e as DriverErrorLike;
    out.push(d);
    if (d.cause !== undefined) queue.push(d.cause);
    if (d.reason?.servers instanceof Map) for (const s of d.reason.servers.values()) if (s.error !== undefined) queue.push(s.error);
  }
  return out;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ESERVFAIL',
  'ENODATA',
]);
const TLS_CODE = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;
const AUTH_CODES = new Set([18, 11]);

/** Errors while opening a session → why the target as a whole is unusable (codes only, never messages). */
export function mapMongoConnectError(err: unknown, where: string): TargetConnectError {
  const all = chain(err);
  const codes = all.map((e) => e.code);
  const names = all.map((e) => String(e.name ?? ''));
  const auth = all.find((e) => typeof e.code === 'number' && AUTH_CODES.has(e.code));
  if (auth !== undefined) return new TargetConnectError('authentication', `${where}: authentication failed (${String(auth.codeName ?? auth.code)})`);
  if (names.includes('MongoMissingCredentialsError') || names.some((n) => n.startsWith('MongoInvalidArgument'))) {
    return new TargetConnectError('authentication', `${where}: the credentials are incomplete for the chosen mechanism`);
  }
  const tls = codes.find((c): c is string => typeof c === 'string' && TLS_CODE.test(c));
  if (tls !== undefined) return new TargetConnectError('tls', `${where}: TLS failed (${tls})`);
  const net = codes.find((c): c is string => typeof c === 'string' && NETWORK_CODES.has(c));
  if (net !== undefined) return new TargetConnectError('unreachable', `${where}: unreachable (${net})`);
  if (names.includes('MongoNetworkTimeoutError') || names.includes('MongoServerSelectionError')) {
    return new TargetConnectError('timeout', `${where}: no usable server answered in time`);
  }
  if (names.some((n) => n.startsWith('MongoNetwork'))) return new TargetConnectError('unreachable', `${where}: the connection was closed during the handshake`);
  const server = all.find((e) => typeof e.code === 'number');
  if (server !== undefined)
    return new TargetConnectError('unreachable', `${where}: the server refused the connection (${String(server.codeName ?? server.code)})`);
  return new TargetConnectError('unreachable', `${where}: could not connect (${String(all[0]?.name ?? 'error')})`);
}
