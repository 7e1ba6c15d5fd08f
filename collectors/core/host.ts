import { z } from 'zod';

// zod's own address validators: the same answers as node:net's isIP for these inputs, and pure, so
// the target schema stays loadable in the window (no Node built-ins behind the contract).
const IPV4 = z.ipv4();
const IPV6 = z.ipv6();
/** 4 or 6 for an IP literal, 0 otherwise (node:net's isIP, without Node). */
export const ipVersion = (s: string): 0 | 4 | 6 => (IPV4.safeParse(s).success ? 4 : IPV6.safeParse(s).success ? 6 : 0);

/**
 * Whether `host` can be handed to a driver as a server address, checked before
 * any network use: a DNS name (letters, digits, "-", "_", dot-separated labels of
 * at most 63 characters, 253 in all), an IPv4 address or an IPv6 address written
 * bare. Anything else — a NUL or other control character, a space, a port glued
 * on ("h:5432"), a URL, brackets — is bad input, refused with the reason.
 * Returns undefined when the host is acceptable, else the one-line reason.
 */
export function hostProblem(host: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(host)) return 'must not contain control characters (NUL, newline, tab…)';
  if (host.trim() === '') return 'must not be blank';
  if (/\s/.test(host)) return 'must not contain spaces';
  if (ipVersion(host) !== 0) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) {
    return ipVersion(host.slice(1, -1)) === 6 ? 'write an IPv6 address without brackets' : 'is not a host name or IP address';
  }
  if (host.includes('://')) return 'is a URL: give the host name only (the port goes in "port")';
  if (/^[^:]+:\d*$/.test(host)) return 'must not carry a port: put it in "port"';
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) return 'is longer than a DNS name may be (253 characters)';
  for (const label of name.split('.')) {
    if (label === '') return 'has an empty label (".." or a leading dot)';
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (!/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/i.test(label)) return 'is not a host name or IP address (letters, digits, "-", "_" and dots)';
  }
  return undefined;
}
