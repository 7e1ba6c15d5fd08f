import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { buildConnector } from 'undici';

/**
 * An egress allowlist. The shipper may contact the configured Logstag
 * destination and, if one is set, the proxy; a cloud metrics client may contact
 * its provider's endpoints for the configured region; nothing else. Every path to
 * a socket is checked before the socket exists:
 * - the request URL (checkUrl), before undici is asked to send anything;
 * - the connector undici uses (connector), in case any code path (a redirect,
 *   a bug) asks for another host;
 * - the DNS answer (lookup), so a name that resolves somewhere it should not
 *   (rebinding, a poisoned or hijacked resolver) is refused before connect().
 * Each refusal is recorded for the status and the log.
 */

export class EgressRefused extends Error {
  override name = 'EgressRefused';
  readonly code = 'LOGSTAG_EGRESS_REFUSED';
}

export interface EgressEndpoint {
  host: string;
  port: number;
  role: 'destination' | 'proxy' | 'cloud';
  /** Whether a DNS answer in a private, loopback or link-local range is acceptable for this name. */
  allowPrivate: boolean;
}

export interface Refusal {
  at: string;
  host: string;
  reason: string;
}

/** dns.lookup with all: true, injectable so tests can play a resolver that lies. */
export type Resolver = (hostname: string, options: { family?: number | undefined }) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, { family }) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, family: family ?? 0 }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Addresses that are not on the public internet. */
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  nonPublic.addSubnet(net, prefix, 'ipv4');
// fec0::/10: deprecated site-local (RFC 3879), still routed inside some networks.
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['64:ff9b:1::', 48],
] as const)
  nonPublic.addSubnet(net, prefix, 'ipv6');

/** The 16 bytes of an IPv6 literal (zone id dropped), or undefined if it is not one. */
function ipv6Bytes(addr: string): number[] | undefined {
  const a = addr.replace(/%.*$/, '');
  if (isIP(a) !== 6) return undefined;
  let text = a;
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted.slice(1, 5).map(Number));
    text = `${text.slice(0, dotted.index)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The IPv4 address an IPv6 address carries and is delivered to: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated), NAT64 well-known
 * prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002:aabb:ccdd::/48, RFC 3056).
 * Such an address is as public or private as that IPv4 address: 64:ff9b::a00:1
 * reaches 10.0.0.1 through the NAT64 gateway.
 */
export function embeddedIPv4(addr: string): string | undefined {
  const b = ipv6Bytes(addr);
  if (b === undefined) return undefined;
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number): string => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  // ::a.b.c.d, but not :: and ::1 (their own meanings, judged as IPv6).
  if (zero(0, 12) && !zero(12, 15)) return v4(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

/** Lower case, IPv6 brackets removed, IPv4-mapped IPv6 written as IPv4. */
export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped ? mapped[1]! : h;
}

const family = (addr: string): 'ipv4' | 'ipv6' => (isIP(addr) === 6 ? 'ipv6' : 'ipv4');
export const isLoopbackAddress = (addr: string): boolean => {
  const a = normalizeHost(addr);
  return isIP(a) !== 0 && loopback.check(a, family(a));
};
export const isPublicAddress = (addr: string): boolean => {
  const a = normalizeHost(addr);
  if (isIP(a) === 0) return false;
  const v4 = embeddedIPv4(a);
  if (v4 !== undefined) return !nonPublic.check(v4, 'ipv4');
  return !nonPublic.check(a, family(a));
};
const isLocalhostName = (h: string): boolean => h === 'localhost' || h.endsWith('.localhost');
/** localhost or a loopback literal: the only hosts plain http may be used with (tests). */
export const isLoopbackHost = (host: string): boolean => {
  const h = normalizeHost(host);
  return isLocalhostName(h) || isLoopbackAddress(h);
};

export function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

export class EgressGuard {
  private readonly endpoints: EgressEndpoint[];
  private readonly recent: Refusal[] = [];
  refusedCount = 0;

  constructor(
    endpoints: readonly EgressEndpoint[],
    private readonly opts: {
      resolve?: Resolver;
      onRefuse?: (r: Refusal) => void;
      now?: () => Date;
      /** What the allowlist is, in the refusal message ("not …"). */
      scope?: string;
    } = {},
  ) {
    this.endpoints = endpoints.map((e) => ({ ...e, host: normalizeHost(e.host) }));
  }

  private get scope(): string {
    return `not ${this.opts.scope ?? 'the configured Logstag destination or proxy'}`;
  }

  /** The latest refusals, newest last (at most 20 kept). */
  get refusals(): readonly Refusal[] {
    return this.recent;
  }

  /** Records a refusal decided elsewhere (the shipper refusing to follow a redirect). */
  record(host: string, reason: string): void {
    this.refuse(host, reason);
  }

  private refuse(host: string, reason: string): EgressRefused {
    const r: Refusal = { at: (this.opts.now?.() ?? new Date()).toISOString(), host, reason };
    this.refusedCount++;
    this.recent.push(r);
    if (this.recent.length > 20) this.recent.shift();
    this.opts.onRefuse?.(r);
    return new EgressRefused(`refused to contact ${host}: ${reason}`);
  }

  allows(host: string, port: number): boolean {
    const h = normalizeHost(host);
    return this.endpoints.some((e) => e.host === h && e.port === port);
  }

  /** Throws (and records) unless the URL's host and port are on the allowlist. */
  checkUrl(url: string | URL): void {
    const u = typeof url === 'string' ? new URL(url) : url;
    const port = defaultPort(u);
    if (!this.allows(u.hostname, port)) throw this.refuse(`${normalizeHost(u.hostname)}:${port}`, this.scope);
  }

  /** Wraps an undici connector: a connection to any other host fails before a socket is opened. */
  connector(base: buildConnector.connector): buildConnector.connector {
    return (options, callback) => {
      const port = options.port === '' || options.port === undefined ? (options.protocol === 'https:' ? 443 : 80) : Number(options.port);
      if (!this.allows(options.hostname, port)) {
        callback(this.refuse(`${normalizeHost(options.hostname)}:${port}`, this.scope), null);
        return;
      }
      base(options, callback);
    };
  }

  /** Checks a DNS answer for `host`; returns the refusal reason, or undefined if the answer is acceptable. */
  private judge(host: string, answers: readonly LookupAddress[]): string | undefined {
    const matching = this.endpoints.filter((e) => e.host === host);
    if (matching.length === 0) return this.scope;
    if (answers.length === 0) return 'the name resolved to no address';
    const addrs = answers.map((a) => a.address).join(', ');
    if (isLocalhostName(host)) {
      // "localhost" that resolves off the machine is a hijacked resolver or hosts file.
      return answers.every((a) => isLoopbackAddress(a.address)) ? undefined : `the name resolved to ${addrs}, which is not a loopback address`;
    }
    if (matching.some((e) => e.allowPrivate)) return undefined;
    // A public name answering with an internal address is DNS rebinding (or a misconfiguration): refuse the whole answer.
    return answers.every((a) => isPublicAddress(a.address))
      ? undefined
      : `the name resolved to ${addrs}, an internal address (for a Logstag destination on this network, set destination.allowPrivateAddress)`;
  }

  /** A net/tls `lookup` that only resolves allowed names and only accepts acceptable answers. */
  readonly lookup: LookupFunction = (hostname: string, options: LookupOptions, callback) => {
    const host = normalizeHost(hostname);
    const resolve = this.opts.resolve ?? systemResolver;
    const fail = (reason: string): void => callback(this.refuse(host, reason), '', 0);
    if (!this.endpoints.some((e) => e.host === host)) {
      fail(this.scope);
      return;
    }
    resolve(host, { family: typeof options.family === 'number' ? options.family : undefined }).then(
      (answers) => {
        const reason = this.judge(host, answers);
        if (reason !== undefined) {
          fail(reason);
          return;
        }
        if (options.all) callback(null, answers);
        else callback(null, answers[0]!.address, answers[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
