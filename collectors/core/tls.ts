import { readBoundedFileSync } from './bounded-read.js';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { ConfigError } from './engine.js';
import type { TargetBase as Target } from './target.js';

function readPem(file: string, field: string): string {
  return readBoundedFileSync(file, { what: `tls.${field}` }).toString('utf8');
}

/**
 * Node TLS options for a target whose tls.mode encrypts (require, verify-ca,
 * verify-full; `prefer` is the engine's business, see each session). `require`
 * encrypts without authenticating the server, as libpq does; `verify-ca` checks
 * the chain against caFile; `verify-full` also checks the host name. A client
 * certificate is sent when certFile/keyFile are set.
 */
export function tlsConnectionOptions(target: Target): ConnectionOptions {
  const tls = target.tls ?? { mode: 'require' as const };
  if (tls.mode === 'disable') throw new Error('tlsConnectionOptions called for tls.mode disable');
  const client: ConnectionOptions =
    tls.certFile !== undefined && tls.keyFile !== undefined ? { cert: readPem(tls.certFile, 'certFile'), key: readPem(tls.keyFile, 'keyFile') } : {};
  if (tls.mode === 'prefer' || tls.mode === 'require') return { ...client, rejectUnauthorized: false };
  if (tls.caFile === undefined) throw new ConfigError(`tls.caFile is required for tls.mode ${tls.mode}`);
  const ca = readPem(tls.caFile, 'caFile');
  if (tls.mode === 'verify-ca') return { ...client, ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  // Some drivers (node-postgres) overwrite `servername` with the host, so the expected name is checked here too.
  const expected = tls.serverName ?? target.host;
  return { ...client, ca, rejectUnauthorized: true, servername: expected, checkServerIdentity: (_host, cert) => checkServerIdentity(expected, cert) };
}
