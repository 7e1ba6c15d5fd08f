// The CLI's `run` and the desktop runtime run the same RunLoop: a target whose
// server accepts the connection and then never answers is abandoned at its cycle
// timeout and reported, while the healthy target keeps its schedule.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jsonFile, spawnAgentCli } from '../helpers/cli.js';
import { startSilentServer } from '../helpers/silent-server.js';
import { superClient } from '../helpers/pg.js';

const pg = inject('pg');

let silent: Awaited<ReturnType<typeof startSilentServer>>;
beforeAll(async () => {
  // Accepts and reads the startup packet, answers nothing: the driver waits (connectTimeoutMs is 120 s).
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent.stop();
});

describe('run --config: one loop with the app', () => {
  it('abandons a hanging target at its cycle timeout and keeps collecting the healthy one', async () => {
    const port = silent.port;
    const spoolDir = mkdtempSync(join(tmpdir(), 'lsa-loop-spool-'));
    const file = jsonFile(
      {
        intervalSeconds: 1,
        cycleTimeoutSeconds: 2,
        targets: [
          { id: 'hangs', engine: 'postgres', host: '127.0.0.1', port, user: 'monitor', database: 'x', tls: { mode: 'disable' }, connectTimeoutMs: 120_000 },
          {
            id: 'healthy',
            engine: 'postgres',
            host: pg.host,
            port: pg.port,
            user: pg.users.monitor.user,
            database: pg.database,
            password: { env: 'LSA_PG_PASSWORD' },
            tls: { mode: 'disable' },
          },
        ],
        spool: { dir: spoolDir, maxBytes: 16 * 1024 * 1024 },
        flushTimeoutSeconds: 0,
      },
      'run.json',
    );
    const r = spawnAgentCli(['run', '--config', file], { env: { LSA_PG_PASSWORD: pg.users.monitor.password } });
    try {
      const timedOut = await r.waitForLine(/^hangs: cycle failed: .*longer than 2 s and was abandoned/, 20_000);
      expect(timedOut).toContain('hangs');
      // While the hanging target holds its abandoned cycle, the healthy one is collected on its interval.
      await r.waitForCount(/^healthy: \d+ signals .*; spooled /, 3, 20_000);
      // The abandoned target is not doubled up: its next ticks are skipped while the first attempt hangs.
      await r.waitForLine(/^hangs: cycle skipped \(the previous cycle is still running\)/, 10_000);
      r.child.kill('SIGTERM');
      const { code } = await r.exited;
      expect(code).toBe(0);
      // The run status reports, per target, the intervals it was due and not collected.
      const status = JSON.parse(readFileSync(`${spoolDir}-targets.json`, 'utf8')) as { targets: Array<{ id: string; missedIntervals: number }> };
      const missed = Object.fromEntries(status.targets.map((t) => [t.id, t.missedIntervals]));
      expect(missed.hangs).toBeGreaterThan(0);
      expect(typeof missed.healthy).toBe('number');
    } finally {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
    }
  });

  it('keeps one session per target across cycles, and SIGTERM closes them all: the server sees none left', async () => {
    // A database of this test's own: the server's view of it is this agent's sessions alone.
    const db = `pool_sigterm_${process.pid}_${Date.now() % 100000}`;
    const su = await superClient(pg);
    await su.query(`CREATE DATABASE ${db}`);
    const sessions = async (): Promise<number[]> =>
      (
        await su.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'logstag-agent/%' ORDER BY pid", [db])
      ).rows.map((r) => r.pid);
    const target = (id: string) => ({
      id,
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      user: pg.users.monitor.user,
      database: db,
      password: { env: 'LSA_PG_PASSWORD' },
      tls: { mode: 'disable' },
    });
    const file = jsonFile(
      {
        intervalSeconds: 1,
        targets: [target('one'), target('two')],
        spool: { dir: mkdtempSync(join(tmpdir(), 'lsa-loop-spool-')), maxBytes: 16 * 1024 * 1024 },
        flushTimeoutSeconds: 0,
      },
      'run.json',
    );
    const r = spawnAgentCli(['run', '--config', file], { env: { LSA_PG_PASSWORD: pg.users.monitor.password } });
    try {
      await r.waitForCount(/^one: \d+ signals .*; spooled /, 1, 20_000);
      await r.waitForCount(/^two: \d+ signals .*; spooled /, 1, 20_000);
      const first = await sessions();
      expect(first).toHaveLength(2);
      await r.waitForCount(/^one: \d+ signals .*; spooled /, 3, 20_000);
      await r.waitForCount(/^two: \d+ signals .*; spooled /, 3, 20_000);
      // Three cycles each, the same two backends.
      expect(await sessions()).toEqual(first);
      r.child.kill('SIGTERM');
      const { code } = await r.exited;
      expect(code).toBe(0);
      const until = Date.now() + 5000;
      while ((await sessions()).length > 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      expect(await sessions()).toEqual([]);
    } finally {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await su.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
      await su.end();
    }
  });
});
