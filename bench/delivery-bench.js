// Delivery throughput: spool append (fsync per payload and group commit), spool
// replay (read + acknowledge), and the shipper to a local HTTPS ingest server.
// Prints figures; not a test. Run after a build: `npm run bench:delivery`.
// Bounded: a fixed number of payloads per phase, everything on loopback and in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PayloadV1Schema } from '../dist/collectors/core/payload.js';
import { DestinationSchema } from '../dist/contract/destination.js';
import { Delivery } from '../dist/agent/delivery/delivery.js';
import { Spool } from '../dist/agent/delivery/spool.js';
import { startIngestServer, testPki } from '../test/helpers/ingest-server.js';

const N = Number(process.env.BENCH_PAYLOADS ?? 2000);
const agent = { id: '00000000-0000-4000-8000-00000000bench', version: '0.1.0', host: 'bench' };

/** A payload shaped like a PostgreSQL cycle: ~30 statement rows plus server stats (about 8 KB of JSON). */
function payload(i) {
  const rows = Array.from({ length: 30 }, (_, r) => ({
    queryid: String(1e15 + r),
    query: `SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region = $1 AND o.created_at > $2 /* ${r} */`,
    calls: 1000 + i + r,
    total_exec_time_ms: 1234.5 + r,
    mean_exec_time_ms: 1.2345,
    rows: 5000 + r,
    shared_blks_hit: 90000 + r,
    shared_blks_read: 120 + r,
  }));
  return PayloadV1Schema.parse({
    schema: 'logstag.payload/v1',
    agent,
    target: { id: 'pg-bench', engine: 'postgres', name: 'pg-bench' },
    collectedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    signals: [
      { id: 'postgres.server', family: 'server_stats', status: 'ok', value: { version: '15.8', uptime_seconds: 3600 + i, in_recovery: false } },
      { id: 'postgres.query_stats', family: 'query_stats', status: 'ok', value: rows },
      { id: 'postgres.hba_rules', family: 'security_posture', status: 'unavailable', reason: 'permission', detail: 'needs pg_read_all_settings' },
    ],
  });
}

const bodies = Array.from({ length: N }, (_, i) => JSON.stringify(payload(i)));
const totalBytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
const mb = (bytes) => bytes / (1024 * 1024);
const fmt = (label, count, bytes, ms) =>
  `${label.padEnd(54)} ${String(count).padStart(6)} payloads in ${(ms / 1000).toFixed(2).padStart(6)} s: ${(count / (ms / 1000)).toFixed(0).padStart(7)} payloads/s, ${(mb(bytes) / (ms / 1000)).toFixed(1).padStart(6)} MB/s`;
const tmp = () => mkdtempSync(join(tmpdir(), 'lsa-bench-'));
const dirs = [];

async function appendBench(label, group) {
  const dir = tmp();
  dirs.push(dir);
  const spool = await Spool.open(dir, { maxBytes: 4 * 1024 * 1024 * 1024 });
  const t0 = performance.now();
  for (let i = 0; i < N; i += group) await spool.appendMany(bodies.slice(i, i + group));
  const ms = performance.now() - t0;
  await spool.close();
  console.log(fmt(label, N, totalBytes, ms));
  return dir;
}

async function replayBench(dir) {
  // Opening reads and checks every segment (damage is counted at start): timed on its own.
  const tOpen = performance.now();
  const spool = await Spool.open(dir, { maxBytes: 4 * 1024 * 1024 * 1024 });
  const openMs = performance.now() - tOpen;
  console.log(fmt('spool open (every segment read and checked)', (await spool.stats()).backlog, totalBytes, openMs));
  const t0 = performance.now();
  let n = 0;
  let bytes = 0;
  for (;;) {
    const b = await spool.peek(100, 1024 * 1024);
    if (b.records.length === 0) break;
    n += b.records.length;
    bytes += b.bytes;
    await spool.ack(b);
  }
  const ms = performance.now() - t0;
  await spool.close();
  console.log(fmt('spool replay (read + ack, batches of 100/1 MiB)', n, bytes, ms));
}

async function shipperBench() {
  const srv = await startIngestServer({ apiKey: 'bench-key' });
  const dir = tmp();
  dirs.push(dir);
  // Fill the spool first (a backlog after an outage), then let the shipper drain it.
  const filler = await Spool.open(dir, { maxBytes: 4 * 1024 * 1024 * 1024 });
  for (let i = 0; i < N; i += 100) await filler.appendMany(bodies.slice(i, i + 100));
  await filler.close();
  const destination = DestinationSchema.parse({
    url: srv.url(),
    apiKey: { env: 'UNUSED' },
    // Pacing lifted to measure the pipeline itself; the defaults (2 batches/s, 1 MiB/s on the wire) are a deliberate cap.
    maxBatchesPerSecond: 100,
    maxBytesPerSecond: 1024 * 1024 * 1024,
  });
  const t0 = performance.now();
  const d = await Delivery.open({ agent, spool: { dir, maxBytes: 4 * 1024 * 1024 * 1024 }, destination, apiKey: 'bench-key', ca: testPki().caPem });
  const deadline = Date.now() + 120_000;
  while (srv.accepted.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  const wire = srv.requests.reduce((n, r) => n + r.bytes, 0);
  await d.shutdown(0);
  await srv.stop();
  console.log(fmt('shipper to local HTTPS ingest (gzip, batches of 100)', srv.accepted.length, totalBytes, ms));
  console.log(
    `${''.padEnd(54)} ${srv.requests.length} requests, ${mb(wire).toFixed(1)} MB on the wire (gzip ${(totalBytes / wire).toFixed(1)}:1), duplicates ${srv.duplicates}`,
  );
}

console.log(
  `delivery bench: ${N} payloads of ~${(totalBytes / N / 1024).toFixed(1)} KiB (${mb(totalBytes).toFixed(1)} MB of JSON), node ${process.version}, spool in ${tmpdir()}`,
);
const perRecord = await appendBench('spool append, fsync per payload', 1);
await appendBench('spool append, group commit of 50 per fsync', 50);
await replayBench(perRecord);
await shipperBench();
for (const d of dirs) rmSync(d, { recursive: true, force: true });
