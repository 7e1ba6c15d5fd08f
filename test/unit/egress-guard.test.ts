import type { LookupAddress } from 'node:dns';
import { describe, expect, it, vi } from 'vitest';
import { EgressGuard, EgressRefused, isLoopbackHost, isPublicAddress, type Resolver } from '../../agent/delivery/egress-guard.js';

const dest = { host: 'ingest.logstag.example', port: 443, role: 'destination' as const, allowPrivate: false };
const proxy = { host: 'proxy.corp', port: 3128, role: 'proxy' as const, allowPrivate: true };

function lookup(guard: EgressGuard, host: string, all = true): Promise<LookupAddress[] | string> {
  return new Promise((resolve, reject) => guard.lookup(host, { all }, (err, address) => (err ? reject(err) : resolve(address as LookupAddress[] | string))));
}
const answering =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('egress guard', () => {
  it('allows only the destination and the proxy, by host and port, and records each refusal', () => {
    const refused: string[] = [];
    const g = new EgressGuard([dest, proxy], { onRefuse: (r) => refused.push(r.host) });
    expect(() => g.checkUrl('https://ingest.logstag.example/v1/ingest')).not.toThrow();
    expect(() => g.checkUrl('https://INGEST.logstag.example.:443/x')).not.toThrow();
    expect(() => g.checkUrl('https://ingest.logstag.example:8443/')).toThrow(EgressRefused);
    expect(() => g.checkUrl('https://evil.example/')).toThrow(/refused to contact evil\.example:443/);
    expect(() => g.checkUrl('http://ingest.logstag.example/')).toThrow(EgressRefused); // port 80
    expect(g.refusedCount).toBe(3);
    expect(refused).toEqual(['ingest.logstag.example:8443', 'evil.example:443', 'ingest.logstag.example:80']);
    expect(g.refusals.at(-1)).toMatchObject({ host: 'ingest.logstag.example:80', reason: expect.stringMatching(/not the configured/) });
  });

  it('the wrapped connector refuses another host without calling the real one (no socket)', async () => {
    const g = new EgressGuard([dest]);
    const base = vi.fn((_o: unknown, cb: (err: Error | null, s: null) => void) => cb(null, null));
    const connect = g.connector(base as never);
    const err = await new Promise<Error | null>((r) => connect({ hostname: '127.0.0.2', protocol: 'https:', port: '443' }, (...args) => r(args[0])));
    expect(err).toBeInstanceOf(EgressRefused);
    expect(base).not.toHaveBeenCalled();
    await new Promise<void>((r) => connect({ hostname: 'ingest.logstag.example', protocol: 'https:', port: '' }, () => r()));
    expect(base).toHaveBeenCalledTimes(1);
  });

  it('lookup: resolves only allowed names', async () => {
    const resolve = vi.fn(answering('203.0.113.10'));
    const g = new EgressGuard([dest], { resolve });
    await expect(lookup(g, 'other.example')).rejects.toThrow(EgressRefused);
    expect(resolve).not.toHaveBeenCalled();
    await expect(lookup(g, 'ingest.logstag.example')).resolves.toEqual([{ address: '203.0.113.10', family: 4 }]);
    await expect(lookup(g, 'ingest.logstag.example', false)).resolves.toBe('203.0.113.10');
  });

  it.each([['127.0.0.1'], ['10.1.2.3'], ['192.168.0.5'], ['169.254.169.254'], ['::1'], ['fd00::1'], ['0.0.0.0'], ['::ffff:10.0.0.1']])(
    'lookup: a public name answering %s (internal) is refused',
    async (addr) => {
      const g = new EgressGuard([dest], { resolve: answering(addr) });
      await expect(lookup(g, 'ingest.logstag.example')).rejects.toThrow(/an internal address/);
      expect(g.refusedCount).toBe(1);
    },
  );

  it('lookup: one bad address among good ones refuses the whole answer (rebinding)', async () => {
    const g = new EgressGuard([dest], { resolve: answering('203.0.113.10', '10.0.0.8') });
    await expect(lookup(g, 'ingest.logstag.example')).rejects.toThrow(EgressRefused);
  });

  it('lookup: localhost must answer loopback; a proxy on a private network is fine', async () => {
    const local = { host: 'localhost', port: 8443, role: 'destination' as const, allowPrivate: false };
    await expect(lookup(new EgressGuard([local], { resolve: answering('127.0.0.1', '::1') }), 'localhost')).resolves.toHaveLength(2);
    await expect(lookup(new EgressGuard([local], { resolve: answering('198.51.100.7') }), 'localhost')).rejects.toThrow(/not a loopback address/);
    await expect(lookup(new EgressGuard([dest, proxy], { resolve: answering('10.9.8.7') }), 'proxy.corp')).resolves.toHaveLength(1);
    await expect(
      lookup(new EgressGuard([{ ...dest, allowPrivate: true }], { resolve: answering('10.9.8.7') }), 'ingest.logstag.example'),
    ).resolves.toHaveLength(1);
  });

  it.each([
    // NAT64 (64:ff9b::/96) carries the IPv4 address the gateway connects to.
    ['64:ff9b::a00:1', false],
    ['64:ff9b::10.0.0.1', false],
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::cb00:710a', true],
    // 6to4 (2002::/16): the relay delivers to the IPv4 address in bits 16-48.
    ['2002:c0a8:101::1', false],
    ['2002:a9fe:a9fe::', false],
    ['2002:cb00:710a::1', true],
    // IPv4-mapped, in dotted and in hex form; IPv4-compatible (deprecated).
    ['::ffff:10.1.2.3', false],
    ['::ffff:a01:203', false],
    ['::ffff:7f00:1', false],
    ['::ffff:cb00:710a', true],
    ['::10.1.2.3', false],
    ['::a9fe:a9fe', false],
    ['::cb00:710a', true],
    // Site-local (fec0::/10, deprecated but still routed internally).
    ['fec0::1', false],
    ['feff::1', false],
    // Public IPv6 stays public; :: and ::1 keep their own meaning.
    ['2606:4700::1111', true],
    ['::', false],
    ['::1', false],
  ])('classifies %s by the IPv4 address or scope it carries (public: %s)', (addr, isPublic) => {
    expect(isPublicAddress(addr)).toBe(isPublic);
  });

  it('refuses a NAT64 answer for a private address as DNS rebinding', async () => {
    await expect(lookup(new EgressGuard([dest], { resolve: answering('64:ff9b::a9fe:a9fe') }), 'ingest.logstag.example')).rejects.toThrow(
      /an internal address/,
    );
  });

  it('classifies addresses and loopback hosts', () => {
    expect(isPublicAddress('203.0.113.10')).toBe(true);
    expect(isPublicAddress('2001:db8::1')).toBe(true);
    expect(isPublicAddress('100.64.0.1')).toBe(false);
    expect(isPublicAddress('not-an-ip')).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('127.8.9.10')).toBe(true);
    expect(isLoopbackHost('localhost.evil.example')).toBe(false);
  });
});
