// A local Logstag ingest server over HTTPS (and a CONNECT proxy) for the delivery
// tests and bench/. Plain JavaScript (typed by ingest-server.d.ts) so the bench can
// run it with plain node. Listens on loopback addresses only.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

let pkiCache;

/** A throwaway CA and a server certificate for localhost, ingest.test, 127.0.0.1 and 127.0.0.2 (openssl CLI). */
export function testPki() {
  if (pkiCache) return pkiCache;
  const dir = mkdtempSync(join(tmpdir(), 'lsa-pki-'));
  const f = (n) => join(dir, n);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key'));
  ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca.key'),
    '-sha256',
    '-days',
    '3',
    '-subj',
    '/CN=Logstag Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    f('ca.pem'),
  );
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('server.key'));
  ssl('req', '-new', '-key', f('server.key'), '-subj', '/CN=localhost', '-out', f('server.csr'));
  writeFileSync(
    f('ext.cnf'),
    [
      'subjectAltName=DNS:localhost,DNS:ingest.test,IP:127.0.0.1,IP:127.0.0.2',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '3',
    '-sha256',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.pem'),
  );
  const certPem = readFileSync(f('server.pem'), 'utf8');
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  pkiCache = {
    dir,
    caFile: f('ca.pem'),
    caPem: readFileSync(f('ca.pem'), 'utf8'),
    certPem,
    keyPem: readFileSync(f('server.key'), 'utf8'),
    pin: `sha256/${createHash('sha256').update(spki).digest('base64')}`,
  };
  return pkiCache;
}

/**
 * Starts the ingest server. It checks the bearer key, gunzips and parses each
 * batch, and keeps every entry once per idempotency key (first arrival wins),
 * counting repeats. `respond` may override the answer to any request.
 */
export async function startIngestServer(opts = {}) {
  const pki = opts.pki ?? testPki();
  const host = opts.host ?? '127.0.0.1';
  const apiKey = opts.apiKey ?? 'test-api-key';
  const state = {
    requests: [],
    accepted: [],
    seen: new Set(),
    duplicates: 0,
    invalid: 0,
    droppedReports: [],
  };
  const sockets = new Set();
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const record = { at: Date.now(), method: req.method, url: req.url, headers: req.headers, bytes: raw.length, status: 0, batch: undefined };
      state.requests.push(record);
      const answer = (status, headers = {}, body = '') => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(body);
      };
      let batch;
      try {
        const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        // The body as received (after gzip): the exact bytes of each entry's payload are in it.
        record.text = text;
        batch = JSON.parse(text);
      } catch {
        batch = undefined;
      }
      record.batch = batch;
      const override = server.respond?.(record);
      if (override) return answer(override.status, override.headers, override.body);
      if (req.headers.authorization !== `Bearer ${apiKey}`) return answer(401, {}, 'invalid API key');
      if (batch === undefined) {
        state.invalid++;
        return answer(400, {}, 'not gzip JSON');
      }
      if (batch?.schema !== 'logstag.batch/v1' || !Array.isArray(batch.entries)) {
        state.invalid++;
        return answer(422, {}, 'not a logstag.batch/v1');
      }
      if (batch.dropped?.count > 0) state.droppedReports.push(batch.dropped);
      for (const e of batch.entries) {
        if (state.seen.has(e.key)) {
          state.duplicates++;
          continue;
        }
        state.seen.add(e.key);
        state.accepted.push(e);
      }
      return answer(200, { 'content-type': 'application/json' }, JSON.stringify({ accepted: batch.entries.length }));
    });
  };
  let httpsServer;
  const listen = (port) =>
    new Promise((resolve, reject) => {
      httpsServer = createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, handler);
      httpsServer.keepAliveTimeout = 2_000;
      httpsServer.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      httpsServer.once('error', reject);
      httpsServer.listen(port, host, () => resolve(httpsServer.address().port));
    });
  const port = await listen(opts.port ?? 0);
  const server = {
    host,
    port,
    apiKey,
    pki,
    /** Overrides the answer: return {status, headers?, body?} or undefined for the normal path. */
    respond: undefined,
    get state() {
      return state;
    },
    url: (hostname = 'localhost', path = '/v1/ingest') => `https://${hostname}:${port}${path}`,
    /** Stops listening and cuts every connection (an outage: connection refused). */
    async stop() {
      if (!httpsServer?.listening) return;
      const closed = new Promise((r) => httpsServer.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    /** Listens again on the same port. */
    async start() {
      if (httpsServer?.listening) return;
      await listen(port);
    },
  };
  // Arrays and counters are shared with `state` so tests read live values.
  Object.defineProperties(server, {
    requests: { get: () => state.requests },
    accepted: { get: () => state.accepted },
    duplicates: { get: () => state.duplicates },
    invalid: { get: () => state.invalid },
    droppedReports: { get: () => state.droppedReports },
  });
  return server;
}

/** An HTTP CONNECT proxy on 127.0.0.1; with credentials it answers 407 unless Proxy-Authorization matches. */
export async function startConnectProxy(opts = {}) {
  const connects = [];
  const sockets = new Set();
  const expected = opts.username === undefined ? undefined : `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  const server = createHttpServer((req, res) => {
    res.writeHead(405);
    res.end('CONNECT only');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req, client, head) => {
    const authorized = expected === undefined || req.headers['proxy-authorization'] === expected;
    connects.push({ target: req.url, authorized });
    if (!authorized) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = req.url.split(/:(?=\d+$)/);
    // The test proxy only ever forwards to this machine.
    if (!['localhost', '127.0.0.1', 'ingest.test'].includes(host)) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = netConnect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    url: `http://127.0.0.1:${server.address().port}`,
    connects,
    async close() {
      const closed = new Promise((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
