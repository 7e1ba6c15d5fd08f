// The documented headless command (bin/logstag-agent, docs/headless.md) under a
// supervisor: the PID it hands out is the agent itself, so SIGTERM to that PID
// stops the agent cleanly (exit 0) and leaves no process behind; while it runs,
// `status --config` lists every target's state and last error from the status
// file the agent keeps (no listener).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { jsonFile, repoRoot } from '../helpers/cli.js';

const pg = inject('pg');
const launcher = join(repoRoot, 'bin/logstag-agent');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(launcher, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

/** Every live process whose command line mentions `marker` (the run config's unique path). */
function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the documented headless command', () => {
  it('is the agent process itself: SIGTERM to its PID stops it (exit 0, no orphan), and status lists each target', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lsa-headless-home-'));
    const spoolDir = join(mkdtempSync(join(tmpdir(), 'lsa-headless-')), 'spool');
    const common = { engine: 'postgres', host: pg.host, port: pg.port, database: pg.database, tls: { mode: 'disable' } };
    const config = jsonFile(
      {
        intervalSeconds: 1,
        targets: [
          { ...common, id: 'healthy', user: pg.users.monitor.user, password: { env: 'LSA_PG_PASSWORD' } },
          { ...common, id: 'wrong-password', user: pg.users.monitor.user, password: { env: 'LSA_PG_WRONG' } },
        ],
        spool: { dir: spoolDir, maxBytes: 16 * 1024 * 1024 },
        flushTimeoutSeconds: 0,
      },
      'headless-run.json',
    );
    const env = { ...process.env, LOGSTAG_HOME: home, LSA_PG_PASSWORD: pg.users.monitor.password, LSA_PG_WRONG: 'not-the-password' };
    const started = Date.now();
    const child: ChildProcess = spawn(launcher, ['run', '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      await waitFor(() => /^healthy: \d+ signals .*; spooled /m.test(stderr) && /^wrong-password: /m.test(stderr), 'a cycle of each target');
      console.log(`headless command: first cycle of both targets ${Date.now() - started} ms after spawn`);
      // The PID the supervisor holds runs the pinned Node on the CLI: no shell, npm or npx in between.
      const exe = readlinkSync(`/proc/${child.pid}/exe`);
      expect(exe).toMatch(/\/node$/);
      expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0')).toContain(join(repoRoot, 'dist/agent/cli/bin.js'));
      expect(processesMentioning(config)).toEqual([child.pid]);

      // status from another process, while the agent runs. The run status file is written at most once a
      // second (docs/many-targets.md): wait until it holds both targets' first cycles.
      let st = await run(['status', '--config', config, '--json'], env);
      await waitFor(
        async () => {
          st = await run(['status', '--config', config, '--json'], env);
          const t = (JSON.parse(st.stdout) as { targets: Array<{ lastCycleAt: string | null }> }).targets;
          return t.length === 2 && t.every((x) => x.lastCycleAt !== null);
        },
        'the run status to show both first cycles',
        5_000,
      );
      expect(st.code, st.stderr).toBe(0);
      const json = JSON.parse(st.stdout) as {
        run: { running: boolean; pid: number };
        targets: Array<{ id: string; state: string; consecutiveFailures: number; lastError: { message: string } | null; lastSuccessAt: string | null }>;
      };
      expect(json.run).toMatchObject({ running: true, pid: child.pid });
      const byId = new Map(json.targets.map((t) => [t.id, t]));
      // The harness's monitor role lacks some grants: collecting, possibly permission-limited, never failing.
      expect(byId.get('healthy')).toMatchObject({ consecutiveFailures: 0, lastError: null });
      expect(byId.get('healthy')!.state).toMatch(/^(ok|permission_limited)$/);
      expect(byId.get('healthy')!.lastSuccessAt).not.toBeNull();
      const bad = byId.get('wrong-password')!;
      expect(bad.state).toBe('credentials_rejected');
      expect(bad.consecutiveFailures).toBeGreaterThanOrEqual(1);
      expect(bad.lastError!.message).toMatch(/password authentication failed|authentication/i);
      expect(st.stdout).not.toContain('not-the-password');
      const text = await run(['status', '--config', config], env);
      expect(text.stdout).toMatch(/agent: +running \(pid \d+/);
      expect(text.stdout).toMatch(/wrong-password \(postgres [^)]+\): credentials rejected/);
      expect(text.stdout).toMatch(/last error \(since [^)]+\): .*authentication/i);

      child.kill('SIGTERM');
      const { code, signal } = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      await waitFor(() => processesMentioning(config).length === 0, 'no process left running the config', 5_000);
      const after = await run(['status', '--config', config], env);
      expect(after.stdout).toMatch(/agent: +stopped at /);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
