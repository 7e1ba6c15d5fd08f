import { isIP } from 'node:net';

/**
 * Whether `host` can be handed to a driver as a server address, checked before
 * any network use: a DNS name (letters, digits, "-", "_", dot-separated labels of
 * at most 63 characters, 253 in all), an IPv4 address or an IPv6 address written
 * bare. Anything else — a NUL or other control character, a space, a port glued
 * on ("h:5432"), a URL, brackets — is bad input, refused with the reason.
 * Returns undefined when the host is acceptable, else the one-line reason.
 */
export function hostProblem(host: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(host)) return 'must not contain control characters (NUL, newline, tab…)';
  if (host.trim() === '') return 'must not be blank';
  if (/\s/.test(host)) return 'must not contain spaces';
  if (isIP(host) !== 0) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) {
    return isIP(host.slice(1, -1)) === 6 ? 'write an IPv6 address without brackets' : 'is not a host name or IP address';
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
