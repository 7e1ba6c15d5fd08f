import { TargetConnectError } from '../core/engine.js';
import { type Unavailable, unavailable } from '../core/signal.js';
import { errorCode } from './driver.js';
import { CommandRefused } from './guard.js';
import { oneLine } from '../core/text.js';

/**
 * A command of a signal failed. Carries what the mapping needs to give the
 * exact fix: the ACL name of the command and the user the agent logged in as.
 * The server's message is kept short and is never logged: Redis echoes the
 * first arguments of an unknown command.
 */
export class RedisCommandError extends Error {
  constructor(
    /** ACL name: 'slowlog|get'. */
    readonly key: string,
    /** NOPERM, ERR, LOADING, … or a driver/network code. */
    readonly code: string,
    readonly user: string,
    message: string,
    /** Set when the agent did not send the command because the server denied it recently (ISO time of the denial). */
    readonly deniedAt?: string,
  ) {
    super(message);
    this.name = 'RedisCommandError';
  }
}

/** The NOPERM fix: grant exactly the subcommand, nothing broader. */
export const aclFix = (user: string, key: string): string => `ACL SETUSER ${user} +${key}`;

const brief = (msg: string | undefined): string => oneLine(msg, 200);

/** The command name as an operator would type it: 'slowlog|get' → 'SLOWLOG GET'. */
export const commandName = (key: string): string => key.replace('|', ' ').toUpperCase();

/** Error reply / driver error → unavailable result for one signal. */
export function mapRedisSignalError(err: unknown): Unavailable {
  if (err instanceof CommandRefused) return unavailable('error', err.message);
  if (!(err instanceof RedisCommandError)) {
    return unavailable('error', brief(err instanceof Error ? err.message : String(err)));
  }
  const what = commandName(err.key);
  switch (err.code) {
    case 'NOPERM':
      return unavailable(
        'permission',
        err.deniedAt === undefined
          ? `the ACL of ${err.user} does not allow ${what}`
          : `the ACL of ${err.user} did not allow ${what} at ${err.deniedAt}; the agent asks again hourly so its denials do not fill the server's ACL LOG`,
        aclFix(err.user, err.key),
      );
    case 'UNKNOWN_COMMAND':
      return unavailable(
        'disabled',
        `${what.split(' ')[0]} is renamed or disabled on this server (rename-command): the agent uses only the original name`,
        `Remove the rename-command line for ${what.split(' ')[0]} from the server configuration (takes a restart) if the monitoring agent should read it`,
      );
    case 'UNKNOWN_SUBCOMMAND':
      return unavailable('unsupported', `this server version has no ${what}`);
    case 'LOADING':
      return unavailable('error', 'the server is loading its dataset into memory; try again when it is done');
    case 'BUSY':
      return unavailable('timeout', 'the server is busy running a script or function');
    case 'timeout':
      return unavailable('timeout', `${what}: no answer within the command timeout`);
    case 'connection':
      return unavailable('error', `connection lost during ${what}`);
  }
  return unavailable('error', `${what}: ${brief(err.message)}`);
}

/** Classifies a failed command for mapRedisSignalError. */
export function toCommandError(err: unknown, key: string, user: string): RedisCommandError | CommandRefused {
  if (err instanceof CommandRefused) return err;
  const message = err instanceof Error ? err.message : String(err);
  let code = errorCode(err);
  if (code === 'ERR' && /^ERR unknown command/i.test(message)) code = 'UNKNOWN_COMMAND';
  else if (code === 'ERR' && /^ERR (unknown subcommand|Unknown subcommand)/i.test(message)) code = 'UNKNOWN_SUBCOMMAND';
  else if (/Connection is closed|Stream isn't writeable|ECONNRESET|EPIPE/i.test(message)) code = 'connection';
  else if (/Command timed out/i.test(message)) code = 'timeout';
  return new RedisCommandError(key, code, user, brief(message));
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);
const TLS_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;

/**
 * Why a session could not be opened. ioredis rejects connect() with a generic
 * "Connection is closed."; the cause is the last 'error' event, passed here.
 */
export function mapRedisConnectError(err: unknown, where: string): TargetConnectError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const prefix = e.name === 'ReplyError' ? (/^[A-Z]+/.exec(message)?.[0] ?? '') : '';
  if (prefix === 'WRONGPASS' || prefix === 'NOAUTH' || /invalid (username-)?password|AUTH.*without any password/i.test(message)) {
    return new TargetConnectError(
      'authentication',
      `${where}: authentication failed (${prefix || 'ERR'}: wrong user name or password, or the user is disabled)`,
    );
  }
  if (prefix === 'NOPERM') return new TargetConnectError('authentication', `${where}: the user may not run the connection handshake (${brief(message)})`);
  if (TLS_CODES.test(code) || /SSL|TLS|certificate|secure connection/i.test(message))
    return new TargetConnectError('tls', `${where}: TLS failed (${brief(message)})`);
  if (code === 'ETIMEDOUT' || /ETIMEDOUT|timed out/i.test(message))
    return new TargetConnectError('timeout', `${where}: no answer in time (${code || 'timeout'})`);
  if (NETWORK_CODES.has(code)) return new TargetConnectError('unreachable', `${where}: unreachable (${code})`);
  if (/All sentinels are unreachable|No master|Failed to connect to any sentinel/i.test(message)) {
    return new TargetConnectError('unreachable', `${where}: ${brief(message)}`);
  }
  if (/Failed to refresh slots cache|None of startup nodes is available|ClusterAllFailedError/i.test(message)) {
    return new TargetConnectError('unreachable', `${where}: no cluster node answered (${brief(message)})`);
  }
  return new TargetConnectError('unreachable', `${where}: ${prefix ? `${prefix} ` : ''}${brief(message)}`);
}
