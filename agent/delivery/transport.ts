import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent, buildConnector, type Dispatcher, Pool, ProxyAgent } from 'undici';
import type { Destination } from '../../contract/destination.js';
import { defaultPort, type EgressEndpoint, type EgressGuard } from './egress-guard.js';

/**
 * The undici dispatcher the shipper sends through: TLS trust (CA file, public
 * key pin), the optional proxy, and the egress guard on every connection. Only
 * this module knows undici's connection options.
 */

export class PinMismatchError extends Error {
  override name = 'PinMismatchError';
  readonly code = 'LOGSTAG_PIN_MISMATCH';
}

/**
 * "sha256/<base64>" of a certificate's public key (DER SubjectPublicKeyInfo), as
 * destination.pin expects. From the certificate itself (`raw`): PeerCertificate's
 * `pubkey` is the bare key for EC certificates, not the SPKI that pins are made of.
 */
export const spkiPin = (cert: Pick<PeerCertificate, 'raw'>): string =>
  `sha256/${createHash('sha256')
    .update(new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64')}`;

/** The normal host name check, then the pin (an addition to the chain check, never a replacement). */
function identityCheck(pin: string | undefined) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const err = checkServerIdentity(host, cert);
    if (err !== undefined) return err;
    if (pin !== undefined && spkiPin(cert) !== pin) {
      return new PinMismatchError(`the endpoint's public key (${spkiPin(cert)}) does not match destination.pin`);
    }
    return undefined;
  };
}

export interface TransportOptions {
  destination: Destination;
  guard: EgressGuard;
  /** Contents of destination.caFile, read by the caller. */
  ca?: string | Buffer | undefined;
  proxyPassword?: string | undefined;
  connectTimeoutMs?: number;
}

export function createDispatcher(o: TransportOptions): Dispatcher {
  const { destination, guard } = o;
  const connectTimeout = o.connectTimeoutMs ?? 15_000;
  const tls = {
    ...(o.ca === undefined ? {} : { ca: o.ca }),
    checkServerIdentity: identityCheck(destination.pin),
  };
  if (destination.proxy === undefined) {
    return new Agent({
      connections: 2,
      connect: guard.connector(buildConnector({ ...tls, lookup: guard.lookup, timeout: connectTimeout })),
    });
  }
  const { url, username } = destination.proxy;
  const token = username === undefined ? undefined : `Basic ${Buffer.from(`${username}:${o.proxyPassword ?? ''}`).toString('base64')}`;
  return new ProxyAgent({
    uri: url,
    ...(token === undefined ? {} : { token }),
    connectTimeout,
    // To the proxy: the guard resolves its name (a proxy on a private network is normal).
    proxyTls: { lookup: guard.lookup, timeout: connectTimeout },
    // Through the tunnel to the destination: the destination's trust settings.
    requestTls: { ...tls, timeout: connectTimeout },
    clientFactory: (origin: URL, opts: object) => {
      const connect = (opts as { connect?: buildConnector.connector }).connect;
      return new Pool(origin, { ...opts, ...(connect === undefined ? {} : { connect: guard.connector(connect) }) });
    },
  });
}

/** The allowlist entries for a destination: the endpoint itself and, if set, the proxy. */
export function egressEndpoints(destination: Destination): EgressEndpoint[] {
  const dest = new URL(destination.url);
  const list: EgressEndpoint[] = [
    { host: dest.hostname, port: defaultPort(dest), role: 'destination' as const, allowPrivate: destination.allowPrivateAddress },
  ];
  if (destination.proxy !== undefined) {
    const p = new URL(destination.proxy.url);
    list.push({ host: p.hostname, port: defaultPort(p), role: 'proxy' as const, allowPrivate: true });
  }
  return list;
}
