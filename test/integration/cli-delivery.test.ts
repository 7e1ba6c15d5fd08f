// The CLI's `run` against the harness PostgreSQL and a local HTTPS ingest server:
// outage and recovery, kill -9 and restart, rejected credentials, no destination.
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { PayloadV1Schema } from '../../collectors/core/payload.js';
import { frameRecord, Spool } from '../../agent/delivery/spool.js';
import { jsonFile, runAgentCli, spawnAgentCli, type RunningCli } from '../helpers/cli.js';
import { type IngestServer, startIngestServer, testPki } from '../helpers/ingest-server.js';

const pg = inject('pg');
const API_KEY = 'lsk-test-7c1d2e3f4a5b';

const target = (id: string) => ({
  id,
  engine: 'postgres',
  host: pg.host,
  port: pg.port,
  user: pg.users.monitor.user,
  database: pg.database,
  password: { env: 'LSA_PG_PASSWORD' },
  tls: { mode: 'disable' },
});
const env = { LSA_PG_PASSWORD: pg.users.monitor.password, LSA_API_KEY: API_KEY };

function runConfig(srv: IngestServer | null, extra: Record<string, unknown> = {}) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'lsa-cli-spool-'));
  const file = jsonFile(
    {
      intervalSeconds: 1,
      targets: [target('pg-a'), target('pg-b')],
      ...(srv === null ? {} : { destination: { url: srv.url(), apiKey: { env: 'LSA_API_KEY' }, caFile: testPki().caFile, maxBatchesPerSecond: 20 } }),
      spool: { dir: spoolDir, maxBytes: 64 * 1024 * 1024 },
      ...extra,
    },
    'run.json',
  );
  return { file, spoolDir };
}

const running: RunningCli[] = [];
const servers: IngestServer[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const s of servers.splice(0)) await s.stop();
});
function run(file: string, home?: string): RunningCli {
  const r = spawnAgentCli(['run', '--config', file], { env, ...(home ? { home } : {}) });
  running.push(r);
  return r;
}
async function ingest(apiKey = API_KEY): Promise<IngestServer> {
  const s = await startIngestServer({ apiKey });
  servers.push(s);
  return s;
}
const spooledKeys = (r: RunningCli) => r.lines().flatMap((l) => /; spooled (\S+:\d+)$/.exec(l)?.[1] ?? []);
const seqOf = (key: string) => Number(key.split(':').at(-1));
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
function expectExactlyOnceInOrder(srv: IngestServer, keys: string[]): void {
  expect(srv.duplicates).toBe(0);
  expect(srv.invalid).toBe(0);
  // Two targets' cycles run concurrently: each logs its "spooled" line after its own memory commit, so the
  // log may name seq 8 before seq 7. The spool's seq is the order; the service must see exactly that order.
  expect(srv.accepted.map((e) => e.key)).toEqual([...keys].sort((a, b) => seqOf(a) - seqOf(b)));
  const seqs = srv.accepted.map((e) => seqOf(e.key));
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  for (const e of srv.accepted) PayloadV1Schema.parse(e.payload);
}

describe('logstag-agent run with a destination', () => {
  it('an outage of many cycles, then recovery: every payload exactly once and in order; SIGTERM flushes and exits 0', async () => {
    const srv = await ingest();
    await srv.stop(); // the service is down from the start
    const { file } = runConfig(srv);
    const cli = run(file);
    await cli.waitForCount(/; spooled /, 8);
    await cli.waitForLine(/delivery to https:\/\/localhost:\d+\/v1\/ingest failed: the Logstag endpoint localhost refused the connection/);
    expect(srv.requests).toHaveLength(0);
    await srv.start();
    await until('the backlog to drain', () => srv.accepted.length >= 8 && srv.accepted.length >= spooledKeys(cli).length - 2);
    cli.child.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.lines().join('\n')).toMatch(/stopped; the spool is empty/);
    expectExactlyOnceInOrder(srv, spooledKeys(cli));
    expect(cli.lines().join('\n')).not.toContain(API_KEY);

    const status = await runAgentCli(['status', '--config', file, '--json'], { home: cli.home, env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'stopped', backlog: { payloads: 0 }, lastError: null, dropped: { total: 0 } });
  }, 180_000);

  it('kill -9 while writing, then a restart: nothing acknowledged as spooled is lost, no partial record is sent', async () => {
    const srv = await ingest();
    await srv.stop();
    const { file, spoolDir } = runConfig(srv);
    const home = mkdtempSync(join(tmpdir(), 'lsa-home-'));
    const first = run(file, home);
    await first.waitForCount(/; spooled /, 6);
    first.child.kill('SIGKILL');
    await first.exited;
    const acknowledged = spooledKeys(first);
    // The crash may or may not have cut a write; make sure the tail holds a partial record.
    const seg = readdirSync(spoolDir)
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .at(-1)!;
    const marker = JSON.stringify({ torn: 'never-send-this' });
    const torn = frameRecord(999_999, Date.now(), Buffer.from(marker));
    appendFileSync(join(spoolDir, seg), torn.subarray(0, torn.length - 5));

    await srv.start();
    const second = run(file, home);
    // The cut record is counted with its cause (it cannot be told from a truncated one), and its seq never reused.
    await second.waitForLine(/spool: 1 payload\(s\) lost .*an incomplete record at the end of segment/);
    await until('the acknowledged payloads to arrive', () => acknowledged.every((k) => srv.accepted.some((e) => e.key === k)));
    await second.waitForCount(/; spooled /, 2);
    second.child.kill('SIGTERM');
    const ex = await second.exited;
    expect({ ...ex, stderr: ex.code === 0 ? '' : second.lines().join('\n') }).toMatchObject({ code: 0, stderr: '' });
    // Everything reported spooled before the crash, and everything after, arrived once; nothing damaged arrived.
    expect(srv.duplicates).toBe(0);
    expect(srv.invalid).toBe(0);
    const arrived = srv.accepted.map((e) => e.key);
    for (const k of [...acknowledged, ...spooledKeys(second)]) expect(arrived.filter((a) => a === k)).toHaveLength(1);
    const seqs = arrived.map(seqOf);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const e of srv.accepted) PayloadV1Schema.parse(e.payload);
    expect(JSON.stringify(srv.accepted)).not.toContain('never-send-this');
  }, 180_000);

  it('401: sending stops, the error is surfaced in plain words, no retry loop; SIGTERM still exits 0 promptly', async () => {
    const srv = await ingest('the-service-expects-another-key');
    const { file } = runConfig(srv);
    const cli = run(file);
    await cli.waitForLine(/delivery stopped: the Logstag service rejected the agent's API key \(HTTP 401\)/);
    await cli.waitForCount(/; spooled /, 5);
    expect(srv.requests).toHaveLength(1);
    const status = await runAgentCli(['status', '--config', file], { home: cli.home, env });
    expect(status.stdout).toMatch(/state: +credentials_rejected/);
    expect(status.stdout).toMatch(/last error: +the Logstag service rejected the agent's API key \(HTTP 401\)/);
    const stopAt = Date.now();
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(8_000);
    expect(cli.lines().filter((l) => /rejected the agent's API key/.test(l))).toHaveLength(1);
    expect(cli.lines().join('\n') + status.stdout).not.toContain(API_KEY);
    expect(cli.lines().join('\n')).toMatch(/payload\(s\) wait in the spool for the next start/);
  }, 120_000);
});

describe('logstag-agent spool --quarantine', () => {
  it('shows each payload the service refused, with its key and why; status counts them', async () => {
    const { file, spoolDir } = runConfig(null);
    const home = mkdtempSync(join(tmpdir(), 'lsa-home-'));
    const spool = await Spool.open(spoolDir, { maxBytes: 64 * 1024 * 1024 });
    const { key } = await spool.append(JSON.stringify({ refused: 'me' }));
    await spool.append(JSON.stringify({ still: 'queued' }));
    await spool.quarantine(await spool.peek(1, 1), { status: 413, reason: 'Request Entity Too Large' });
    await spool.close();
    const shown = await runAgentCli(['spool', '--config', file, '--quarantine'], { home, env });
    expect(shown.code).toBe(0);
    const entries = shown.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; status: number; reason: string; payload: string });
    expect(entries).toEqual([expect.objectContaining({ key, status: 413, reason: 'Request Entity Too Large', payload: '{"refused":"me"}' })]);
    expect(shown.stderr).toMatch(/1 quarantined payload/);
    const status = await runAgentCli(['status', '--config', file], { home, env });
    expect(status.stdout).toMatch(/quarantined: +1 payload/);
    expect(status.stdout).toMatch(/backlog: +1 payload/);
  }, 60_000);
});

describe('logstag-agent run without a destination', () => {
  it('the spool is the sink: collection goes on and the operator reads every payload locally', async () => {
    const { file } = runConfig(null);
    const cli = run(file);
    await cli.waitForLine(/payloads go to the spool .* \(no destination configured/);
    await cli.waitForCount(/; spooled /, 4);
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
    const keys = spooledKeys(cli);

    const shown = await runAgentCli(['spool', '--config', file], { home: cli.home, env });
    expect(shown.code).toBe(0);
    const payloads = shown.stdout
      .trim()
      .split('\n')
      .map((l) => PayloadV1Schema.parse(JSON.parse(l)));
    expect(payloads).toHaveLength(keys.length);
    expect(new Set(payloads.map((p) => p.target.id))).toEqual(new Set(['pg-a', 'pg-b']));

    const status = await runAgentCli(['status', '--config', file, '--json'], { home: cli.home, env });
    expect(JSON.parse(status.stdout)).toMatchObject({ destination: null, state: 'spool_only', backlog: { payloads: keys.length }, dropped: { total: 0 } });
  }, 120_000);
});
