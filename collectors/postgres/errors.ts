import { TargetConnectError } from '../core/engine.js';
import { type Unavailable, unavailable } from '../core/signal.js';
import { ReadOnlyViolation } from './guard.js';
import { oneLine } from '../core/text.js';

interface PgLikeError {
  code?: string;
  message?: string;
}

const asPgError = (err: unknown): PgLikeError => (typeof err === 'object' && err !== null ? (err as PgLikeError) : {});

/** Server messages are short and name objects, not data; cap them anyway. */
const brief = (msg: string | undefined): string => oneLine(msg);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const TLS_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|CERT_\w+|ERR_TLS_\w+|ERR_SSL_\w+|HOSTNAME_MISMATCH)$/;

/** SQLSTATE → unavailable reason for one signal's read. */
export function mapPgSignalError(err: unknown): Unavailable {
  if (err instanceof ReadOnlyViolation) return unavailable('error', err.message);
  const e = asPgError(err);
  switch (e.code) {
    case '42501':
      return unavailable('permission', brief(e.message));
    case '42P01':
    case '42883':
    case '3F000':
      return unavailable('not_enabled', `not present on this server: ${brief(e.message)}`);
    case '55000':
      return unavailable('not_enabled', brief(e.message));
    case '57014':
      return unavailable('timeout', 'cancelled by statement_timeout');
    case '55P03':
      return unavailable('timeout', 'waited too long for a lock (lock_timeout)');
    case '25006':
      return unavailable('error', 'the server refused a write in the read-only session');
  }
  if (e.code !== undefined && (NETWORK_CODES.has(e.code) || e.code.startsWith('57P') || e.code.startsWith('08'))) {
    return unavailable('error', `connection lost: ${brief(e.message)}`);
  }
  if (/Connection terminated|not queryable|Client was closed/i.test(e.message ?? '')) {
    return unavailable('error', `connection lost: ${brief(e.message)}`);
  }
  if (/Query read timeout/i.test(e.message ?? '')) return unavailable('timeout', 'no answer from the server in time');
  return unavailable('error', e.code === undefined ? brief(e.message) : `${e.code}: ${brief(e.message)}`);
}

/** Errors while opening a session → why the target as a whole is unusable. */
export function mapPgConnectError(err: unknown, where: string): TargetConnectError {
  const e = asPgError(err);
  const code = e.code ?? '';
  if (code === '28P01' || code === '28000') return new TargetConnectError('authentication', `${where}: authentication failed (${brief(e.message)})`);
  if (code === '3D000') return new TargetConnectError('authentication', `${where}: ${brief(e.message)}`);
  if (TLS_CODES.test(code) || /SSL|TLS|certificate/i.test(e.message ?? '')) return new TargetConnectError('tls', `${where}: TLS failed (${brief(e.message)})`);
  if (/timeout/i.test(e.message ?? '') || code === 'ETIMEDOUT') return new TargetConnectError('timeout', `${where}: no answer in time (${brief(e.message)})`);
  if (NETWORK_CODES.has(code)) return new TargetConnectError('unreachable', `${where}: unreachable (${code})`);
  if (code.startsWith('57P') || code.startsWith('08') || code === '53300')
    return new TargetConnectError('unreachable', `${where}: server not accepting connections (${brief(e.message)})`);
  return new TargetConnectError('unreachable', `${where}: ${code ? `${code} ` : ''}${brief(e.message)}`);
}
