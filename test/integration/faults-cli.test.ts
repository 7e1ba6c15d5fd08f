// One bad target or file never stops the agent (issue 20), through the built CLI:
// endless and blocking files are bad input refused in seconds; a target that is
// broken, hanging or unreachable is that target's problem while the healthy one
// keeps shipping; SIGTERM ends `run` within flushTimeoutSeconds + a few seconds
// whatever is in flight; a reader that closes the pipe ends the command quietly.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isOneLineError, jsonFile, repoRoot, runAgentCli, spawnAgentCli } from '../helpers/cli.js';
import { startSilentServer } from '../helpers/silent-server.js';

const pg = inject('pg');
const healthy = {
  id: 'healthy',
  engine: 'postgres',
  host: pg.host,
  port: pg.port,
  user: pg.users.monitor.user,
  database: pg.database,
  password: { env: 'LSA_PG_PASSWORD' },
  tls: { mode: 'disable' },
};
const env = { LSA_PG_PASSWORD: pg.users.monitor.password };
const pgTarget = (over: Record<string, unknown>) => ({ engine: 'postgres', port: 5432, user: 'monitor', database: 'x', tls: { mode: 'disable' }, ...over });

let silent: Awaited<ReturnType<typeof startSilentServer>>;
beforeAll(async () => {
  // Accepts and never answers: a hung socket.
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent.stop();
});

describe('endless and blocking files are bad input', () => {
  const fifoDir = mkdtempSync(join(tmpdir(), 'lsa-fifo-'));
  const fifo = join(fifoDir, 'target.json');
  execFileSync('mkfifo', [fifo]);

  it.each([
    ['a FIFO as the target file', ['check', '--target', fifo], /FIFO/],
    ['a FIFO as the run config', ['run', '--config', fifo], /FIFO/],
    ['/dev/zero as the run config', ['status', '--config', '/dev/zero'], /device/],
    [
      '/dev/zero as tls.caFile',
      ['check', '--target', jsonFile(pgTarget({ id: 'z', host: '127.0.0.1', tls: { mode: 'verify-ca', caFile: '/dev/zero' } }))],
      /tls\.caFile \/dev\/zero: is a device/,
    ],
    [
      '/dev/zero as destination.caFile',
      [
        'run',
        '--config',
        jsonFile({ targets: [healthy], destination: { url: 'https://ingest.example/v1', apiKey: { env: 'K' }, caFile: '/dev/zero' } }, 'run.json'),
      ],
      /destination\.caFile \/dev\/zero: is a device/,
    ],
    [
      'a NUL byte in a host',
      ['run', '--config', jsonFile({ targets: [healthy, pgTarget({ id: 'nul', host: 'a\u0000b' })] }, 'run.json')],
      /targets\[1\]: host: must not contain control characters/,
    ],
    ['a port glued to the host', ['check', '--target', jsonFile(pgTarget({ id: 'h', host: 'h:5432' }))], /host: must not carry a port/],
  ])('%s: exit 2 in seconds, one line', async (_what, args, re) => {
    const started = Date.now();
    const r = await runAgentCli(args, { env: { ...env, K: 'k' }, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(isOneLineError(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(re);
  });
});

describe('run: one bad target never stops the others', () => {
  it('keeps shipping the healthy target next to a broken, an unreachable and a hung one; SIGTERM stops it in seconds with exit 0', async () => {
    const port = silent.port;
    const spoolDir = mkdtempSync(join(tmpdir(), 'lsa-faults-spool-'));
    const file = jsonFile(
      {
        intervalSeconds: 1,
        // Long on purpose: a stop must not wait for a cycle's timeout.
        cycleTimeoutSeconds: 600,
        targets: [
          // Its CA is endless: read when the cycle connects, refused as this target's config problem.
          pgTarget({ id: 'endless-ca', host: '127.0.0.1', port: pg.port, tls: { mode: 'verify-ca', caFile: '/dev/zero' } }),
          pgTarget({ id: 'nowhere', host: 'no-such-host.invalid', connectTimeoutMs: 2000 }),
          pgTarget({ id: 'hangs', host: '127.0.0.1', port, connectTimeoutMs: 120_000 }),
          healthy,
        ],
        spool: { dir: spoolDir },
        flushTimeoutSeconds: 1,
      },
      'run.json',
    );
    const r = spawnAgentCli(['run', '--config', file], { env });
    try {
      await r.waitForLine(/^endless-ca: cycle failed: tls\.caFile \/dev\/zero: is a device/, 30_000);
      await r.waitForLine(/^nowhere: not collected: /, 30_000);
      await r.waitForCount(/^healthy: \d+ signals .*; spooled /, 3, 30_000);
      expect(r.lines().filter((l) => /\s+at .+:\d+:\d+/.test(l) || /Unhandled/.test(l))).toEqual([]);
      const started = Date.now();
      r.child.kill('SIGTERM');
      const { code } = await r.exited;
      const tookMs = Date.now() - started;
      expect(code, r.lines().join('\n')).toBe(0);
      // flushTimeoutSeconds (1) + the stop grace (3) + margin, with the "hangs" cycle still in flight.
      expect(tookMs).toBeLessThan(9_000);
      // The reader of `spool` goes away at once: the command ends quietly (no EPIPE stack trace).
      const bin = join(repoRoot, 'dist/agent/cli/bin.js');
      const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" spool --config "${file}" | true; echo "exit=\${PIPESTATUS[0]}" >&2`], {
        encoding: 'utf8',
        env: { ...process.env, LOGSTAG_HOME: r.home },
        timeout: 30_000,
      });
      expect(piped.stderr).toMatch(/exit=0/);
      expect(piped.stderr).not.toMatch(/EPIPE|\s+at .+:\d+:\d+/);
    } finally {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
    }
  });
});
