import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchV1Schema } from '../../collectors/core/batch.js';
import { PayloadV1Schema, type PayloadV1 } from '../../collectors/core/payload.js';
import { DestinationSchema, type DestinationInput } from '../../contract/destination.js';
import { Delivery, type DeliveryOptions } from '../../agent/delivery/delivery.js';
import type { Resolver } from '../../agent/delivery/egress-guard.js';
import { Spool } from '../../agent/delivery/spool.js';
import { type IngestServer, startConnectProxy, startIngestServer, testPki } from '../helpers/ingest-server.js';

const agent = { id: '00000000-0000-4000-8000-000000000001', version: '0.1.0', host: 'test-host' };
const API_KEY = 'k-9f8e7d6c5b4a-secret';

function payload(i: number): PayloadV1 {
  return PayloadV1Schema.parse({
    schema: 'logstag.payload/v1',
    agent,
    target: { id: 'pg-test', engine: 'postgres', name: 'pg-test' },
    collectedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    signals: [{ id: 'postgres.server', family: 'server_stats', status: 'ok', value: { i } }],
  });
}
const indexOf = (e: { payload: unknown }) => ((e.payload as PayloadV1).signals[0] as unknown as { value: { i: number } }).value.i;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

async function server(opts: Parameters<typeof startIngestServer>[0] = {}): Promise<IngestServer> {
  const s = await startIngestServer({ apiKey: API_KEY, ...opts });
  cleanup.push(() => s.stop());
  return s;
}

async function delivery(dest: Partial<DestinationInput> & { url: string }, extra: Partial<DeliveryOptions> = {}, logs: string[] = []): Promise<Delivery> {
  const destination = DestinationSchema.parse({ apiKey: { env: 'UNUSED' }, maxBatchesPerSecond: 50, maxBytesPerSecond: 50 * 1024 * 1024, ...dest });
  const d = await Delivery.open({
    agent,
    spool: { dir: mkdtempSync(join(tmpdir(), 'lsa-dlv-')), maxBytes: 64 * 1024 * 1024 },
    destination,
    apiKey: API_KEY,
    ca: testPki().caPem,
    log: (l) => logs.push(l),
    tuning: { backoff: { baseMs: 100, maxMs: 400 }, requestTimeoutMs: 5_000, credentialsRetryMs: 600_000 },
    ...extra,
  });
  cleanup.push(() => d.shutdown(0));
  return d;
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('delivery to a local HTTPS ingest server', () => {
  it('sends gzip batches of v1 payloads with the key, an idempotency key per payload, trusting only the given CA', async () => {
    const srv = await server();
    const d = await delivery({ url: srv.url() });
    for (let i = 1; i <= 5; i++) await d.put(payload(i));
    await until('5 payloads', () => srv.accepted.length === 5);
    await until('acknowledged', async () => (await d.status()).backlog.payloads === 0);
    const req = srv.requests[0]!;
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['idempotency-key']).toMatch(new RegExp(`^${d.spool.id}:\\d+(-\\d+)?$`));
    for (const r of srv.requests) BatchV1Schema.parse(r.batch);
    expect(srv.accepted.map(indexOf)).toEqual([1, 2, 3, 4, 5]);
    expect(srv.accepted.map((e) => e.key)).toEqual([1, 2, 3, 4, 5].map((n) => `${d.spool.id}:${n}`));
    const st = await d.status();
    expect(st).toMatchObject({ state: 'idle', backlog: { payloads: 0 }, lastError: null, dropped: { count: 0, total: 0 } });
    expect(st.lastSuccessAt).not.toBeNull();
  });

  it('plain http works only because the destination is a loopback address (a local test server)', async () => {
    const got: string[] = [];
    const http = createServer((req, res) => {
      got.push(String(req.headers.authorization));
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => http.close(r)));
    const port = (http.address() as AddressInfo).port;
    const d = await delivery({ url: `http://127.0.0.1:${port}/ingest` });
    await d.put(payload(1));
    await until('delivered', () => got.length === 1);
    expect(got[0]).toBe(`Bearer ${API_KEY}`);
    expect(() => DestinationSchema.parse({ url: `http://ingest.test:${port}/`, apiKey: { env: 'K' } })).toThrow(/must use https/);
  });

  it('an outage of many cycles, then recovery: every payload exactly once, in order, paced', async () => {
    const srv = await server();
    const logs: string[] = [];
    const d = await delivery({ url: srv.url(), maxBatchesPerSecond: 4 }, { tuning: { backoff: { baseMs: 100, maxMs: 300 }, maxPayloadsPerBatch: 5 } }, logs);
    await srv.stop();
    for (let i = 1; i <= 12; i++) {
      await d.put(payload(i));
      await sleep(40);
    }
    await until('retrying', async () => (await d.status()).state === 'retrying');
    expect((await d.status()).lastError).toMatch(/refused the connection/);
    // The service comes back answering 503 + Retry-After for a while, then recovers.
    await srv.start();
    let unavailable = 2;
    srv.respond = () => (unavailable-- > 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined);
    for (let i = 13; i <= 30; i++) await d.put(payload(i));
    await until('30 payloads', () => srv.accepted.length === 30, 30_000);
    expect(srv.accepted.map(indexOf)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(srv.duplicates).toBe(0);
    // Retry-After was honoured: the attempt after a 503 came at least ~1 s later.
    const i503 = srv.requests.findIndex((r) => r.status === 503);
    expect(srv.requests[i503 + 1]!.at - srv.requests[i503]!.at).toBeGreaterThanOrEqual(900);
    // Replay is paced (4 batches/s, so >= 250 ms between sends; arrival times jitter a little around that).
    const ok = srv.requests.filter((r) => r.status === 200).map((r) => r.at);
    expect(ok.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < ok.length; i++) expect(ok[i]! - ok[i - 1]!).toBeGreaterThanOrEqual(150);
    expect(ok.at(-1)! - ok[0]!).toBeGreaterThanOrEqual((ok.length - 1) * 250 - 100);
    expect((await d.status()).lastError).toBeNull();
    expect(logs.join('\n')).not.toContain(API_KEY);
  }, 60_000);

  it('401 stops sending (no retry loop) and says so in plain words', async () => {
    const srv = await server({ apiKey: 'another-key' });
    const logs: string[] = [];
    const d = await delivery({ url: srv.url() }, {}, logs);
    await d.put(payload(1));
    await until('rejected', async () => (await d.status()).state === 'credentials_rejected');
    for (let i = 2; i <= 5; i++) await d.put(payload(i));
    await sleep(1500);
    expect(srv.requests).toHaveLength(1);
    const st = await d.status();
    expect(st.lastError).toMatch(/rejected the agent's API key \(HTTP 401\)/);
    expect(st.backlog.payloads).toBe(5);
    expect(JSON.stringify(st) + logs.join('\n')).not.toContain(API_KEY);
  });

  it('a redirect to another host is refused, never followed', async () => {
    const srv = await server();
    const other = await server({ host: '127.0.0.2' });
    srv.respond = () => ({ status: 307, headers: { location: other.url('127.0.0.2') } });
    const d = await delivery({ url: srv.url() });
    await d.put(payload(1));
    await until('refusal', async () => (await d.status()).egressRefusals > 0);
    await sleep(500);
    expect(other.requests).toHaveLength(0);
    const st = await d.status();
    expect(st.lastError).toMatch(/redirected to https:\/\/127\.0\.0\.2:\d+ \(HTTP 307\)/);
    expect(st.backlog.payloads).toBe(1);
  });

  it('a DNS answer pointing somewhere it should not is refused before connecting', async () => {
    const srv = await server();
    // "ingest.test" stands for a public name; the lying resolver answers with an internal address.
    const lying: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const d = await delivery({ url: srv.url('ingest.test') }, { resolve: lying });
    await d.put(payload(1));
    await until('refusal', async () => (await d.status()).egressRefusals > 0);
    await sleep(300);
    expect(srv.requests).toHaveLength(0);
    expect((await d.status()).lastError).toMatch(/egress guard: refused to contact ingest\.test: the name resolved to 127\.0\.0\.1, an internal address/);

    // Control: the same resolver with the internal address allowed does reach the server, so the refusal above was the guard's.
    const ok = await delivery({ url: srv.url('ingest.test'), allowPrivateAddress: true }, { resolve: lying });
    await ok.put(payload(2));
    await until('delivered', () => srv.accepted.length === 1);
  });

  it('"localhost" answering with a non-loopback address is refused', async () => {
    const srv = await server();
    const resolved: string[] = [];
    const lying: Resolver = async (h) => {
      resolved.push(h);
      return [{ address: '0.0.0.0', family: 4 }];
    };
    const d = await delivery({ url: srv.url('localhost') }, { resolve: lying });
    await d.put(payload(1));
    await until('refusal', async () => (await d.status()).egressRefusals > 0);
    expect(resolved).toContain('localhost');
    expect(srv.requests).toHaveLength(0);
    expect((await d.status()).lastError).toMatch(/not a loopback address/);
  });

  it('certificate pin: the right pin delivers, a wrong pin is refused; without the CA the endpoint is not trusted', async () => {
    const srv = await server();
    const good = await delivery({ url: srv.url(), pin: testPki().pin });
    await good.put(payload(1));
    await until('delivered', () => srv.accepted.length === 1);

    const bad = await delivery({ url: srv.url(), pin: `sha256/${Buffer.alloc(32, 7).toString('base64')}` });
    await bad.put(payload(2));
    await until('pin error', async () => /does not match destination\.pin/.test((await bad.status()).lastError ?? ''));

    const noCa = await delivery({ url: srv.url() }, { ca: undefined });
    await noCa.put(payload(3));
    await until('untrusted', async () => /is not trusted .*destination\.caFile/.test((await noCa.status()).lastError ?? ''));
    expect(srv.accepted).toHaveLength(1);
  });

  it('goes through an HTTPS proxy with proxy authentication; wrong proxy credentials are reported', async () => {
    const srv = await server();
    const proxy = await startConnectProxy({ username: 'agent', password: 'proxy-pw' });
    cleanup.push(() => proxy.close());
    const d = await delivery({ url: srv.url(), proxy: { url: proxy.url, username: 'agent', password: { env: 'UNUSED' } } }, { proxyPassword: 'proxy-pw' });
    await d.put(payload(1));
    await until('delivered', () => srv.accepted.length === 1);
    expect(proxy.connects[0]).toEqual({ target: `localhost:${srv.port}`, authorized: true });

    const wrong = await delivery({ url: srv.url(), proxy: { url: proxy.url, username: 'agent', password: { env: 'UNUSED' } } }, { proxyPassword: 'nope' });
    await wrong.put(payload(2));
    await until('407', async () => /proxy rejected the agent \(HTTP 407\)/.test((await wrong.status()).lastError ?? ''));
    expect(srv.accepted).toHaveLength(1);
  });

  it('loss from the spool cap is reported to the service in the next batch, once', async () => {
    const srv = await server();
    await srv.stop();
    const d = await delivery({ url: srv.url() }, { spool: { dir: mkdtempSync(join(tmpdir(), 'lsa-dlv-')), maxBytes: 16 * 1024, segmentBytes: 2048 } });
    for (let i = 1; i <= 80; i++) await d.put(payload(i));
    const before = await d.status();
    expect(before.dropped.total).toBeGreaterThan(0);
    expect(before.dropped.count).toBe(before.dropped.total);
    await srv.start();
    await until('backlog delivered', async () => (await d.status()).backlog.payloads === 0, 30_000);
    await d.put(payload(81));
    await until('one more', () => srv.accepted.some((e) => indexOf(e) === 81));
    const after = await d.status();
    // Every payload is either delivered or counted lost, never both, never neither.
    // (A batch read just before the cap removed its segment can still be delivered; the count is then corrected.)
    expect(srv.accepted.length + after.dropped.total).toBe(81);
    expect(after.dropped.total).toBeGreaterThan(0);
    expect(after.dropped.total).toBeLessThanOrEqual(before.dropped.total);
    // The loss was reported with the data, then cleared. The service may have seen a larger total first: a batch
    // read just before the cap removed its segment was still delivered, and the count was corrected after it.
    expect(srv.droppedReports.length).toBeGreaterThan(0);
    expect(Math.max(...srv.droppedReports.map((r) => r.total))).toBeGreaterThanOrEqual(after.dropped.total);
    expect(Math.max(...srv.droppedReports.map((r) => r.total))).toBeLessThanOrEqual(before.dropped.total);
    const last = srv.requests.at(-1)!.batch as { dropped: { count: number } };
    expect(last.dropped.count).toBe(0);
    expect(after.dropped).toMatchObject({ count: 0, since: null });
    // What survived is in order and ends with the newest.
    const order = srv.accepted.map(indexOf);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.slice(-2)).toEqual([80, 81]);
    expect(srv.duplicates).toBe(0);
  }, 60_000);

  it('a payload the service refuses as malformed is isolated and quarantined (not a loss); the others go through', async () => {
    const srv = await server();
    srv.respond = (r) => {
      const b = r.batch as { entries?: Array<{ payload: PayloadV1 }> } | undefined;
      return b?.entries?.some((e) => indexOf(e) === 3) ? { status: 422, body: 'payload 3 is not acceptable' } : undefined;
    };
    const d = await delivery({ url: srv.url() });
    await srv.stop();
    for (let i = 1; i <= 6; i++) await d.put(payload(i));
    await srv.start();
    await until('others delivered', () => srv.accepted.length === 5, 30_000);
    expect(srv.accepted.map(indexOf)).toEqual([1, 2, 4, 5, 6]);
    const st = await d.status();
    expect(st.dropped.total).toBe(0);
    expect(st.quarantined).toBe(1);
    const q = await Spool.readQuarantine(d.spool.dir);
    expect(q.map((e) => [e.status, (JSON.parse(e.payload) as PayloadV1).signals[0]])).toEqual([[422, expect.objectContaining({ value: { i: 3 } })]]);
    expect(q[0]!.key).toBe(`${d.spool.id}:3`);
  }, 60_000);

  it('413 for one large payload quarantines it; the rest of the backlog is delivered', async () => {
    const srv = await server();
    // A reverse proxy's body-size limit; payload 2 carries 200 KB that does not compress.
    srv.respond = (r) => (r.bytes > 64 * 1024 ? { status: 413, body: 'Request Entity Too Large' } : undefined);
    const d = await delivery({ url: srv.url() });
    await srv.stop();
    for (let i = 1; i <= 8; i++) {
      const p = payload(i);
      if (i === 2) (p.signals[0] as unknown as { value: { i: number; blob?: string } }).value.blob = randomBytes(100 * 1024).toString('hex');
      await d.put(p);
    }
    await srv.start();
    await until('the others delivered', () => srv.accepted.length === 7, 30_000);
    expect(srv.accepted.map(indexOf)).toEqual([1, 3, 4, 5, 6, 7, 8]);
    // The server has the last batch; the agent moves its cursor when the answer arrives.
    let st = await d.status();
    for (const deadline = Date.now() + 10_000; st.backlog.payloads > 0 && Date.now() < deadline; st = await d.status())
      await new Promise((r) => setTimeout(r, 50));
    expect(st).toMatchObject({ quarantined: 1, dropped: { total: 0 }, backlog: { payloads: 0 } });
    expect((await Spool.readQuarantine(d.spool.dir)).map((e) => e.status)).toEqual([413]);
  }, 60_000);

  it('a body-size limit that refuses every payload (413 for batches of one) never drains the backlog: reported as a configuration problem', async () => {
    const srv = await server();
    srv.respond = (r) => (r.bytes > 10 ? { status: 413, body: 'client_max_body_size' } : undefined);
    const logs: string[] = [];
    const d = await delivery({ url: srv.url() }, {}, logs);
    await srv.stop();
    for (let i = 1; i <= 20; i++) await d.put(payload(i));
    await srv.start();
    await until('the limit reported', async () => /413/.test((await d.status()).lastError ?? '') && srv.requests.length > 12, 30_000);
    await sleep(1500);
    const st = await d.status();
    // At most the first refused payload went to the quarantine; the backlog stays for when the limit is raised.
    expect(st.quarantined ?? 0).toBeLessThanOrEqual(1);
    expect(st.backlog.payloads).toBeGreaterThanOrEqual(19);
    expect(st.dropped.total).toBe(0);
    expect(st.lastError).toMatch(/body-size limit|too large/);
    expect(st.state).toBe('retrying');
    // Once the limit is raised, everything still in the spool is delivered.
    srv.respond = undefined;
    await until('backlog delivered', () => srv.accepted.length >= 19, 30_000);
  }, 60_000);
});
