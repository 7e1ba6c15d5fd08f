// The demo `npm start` runs without the Electron binary (agent/demo/, docs/demo.md): the exact
// script npm start runs (electron/start.js) on the pinned Node, with no Electron binary reachable.
// It must finish every step and exit 0, leaving no PostgreSQL process on its data dir and no file
// in its temp dir; a SIGINT mid-demo must clean up the same way. The in-process tests prove the
// identity comes from the agent's own grant script: change what that script says and the demo's
// check sees the change.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const script = join(repoRoot, 'electron', 'start.js');

/** Every live process whose command line mentions `marker` (the demo's temp dir). */
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

const tmpRoots: string[] = [];
afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

/** A private TMPDIR (traversable by the OS user the server runs as when we are root) and an empty Electron dist. */
function sandbox(): { tmp: string; noElectron: string } {
  const base = mkdtempSync(join(tmpdir(), 'demo-test-'));
  tmpRoots.push(base);
  chmodSync(base, 0o755);
  const tmp = mkdtempSync(join(base, 'tmp-'));
  chmodSync(tmp, 0o755);
  const noElectron = mkdtempSync(join(base, 'no-electron-'));
  return { tmp, noElectron };
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs start.js as `npm start` does (the pinned Node is this process's); `onLine` may signal the child. */
function runStart(env: NodeJS.ProcessEnv, onLine?: (line: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onLine?.(line, (s) => child.kill(s));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not finish in 90 s\n${stdout}\n${stderr}`));
    }, 90_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function demoDirOf(stdout: string): string {
  const m = /temp dir (\S+)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return m![1]!;
}

describe('npm start without Electron: the demo', () => {
  it('runs every step end to end, exits 0 well under a minute, and leaves no process and no temp file', async () => {
    const { tmp, noElectron } = sandbox();
    const r = await runStart({ TMPDIR: tmp, ELECTRON_OVERRIDE_DIST_PATH: noElectron });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The message that names the desktop and headless ways to run for real.
    expect(r.stderr).toMatch(/the Electron binary is not installed/);
    expect(r.stderr).toMatch(/npx install-electron/);
    expect(r.stderr).toMatch(/bin\/logstag-agent run --config FILE/);
    // One progress line per step, in order.
    const steps = [...r.stdout.matchAll(/^\[(\d+)\/9\] /gm)].map((m) => Number(m[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.stdout).toMatch(/connects to nothing but that local server \(127\.0\.0\.1\) and sends nothing anywhere/);
    expect(r.stdout).toMatch(/PostgreSQL 18\.\S+ from the npm registry \(node_modules\/pg18\)/);
    expect(r.stdout).toMatch(/shared_preload_libraries = pg_stat_statements/);
    // The grant script as `grants` prints it, with its placeholder (substituted only when run).
    expect(r.stdout).toMatch(/\| CREATE ROLE logstag_monitor LOGIN PASSWORD '<choose a strong password>';/);
    expect(r.stdout).toMatch(/check: connected as logstag_monitor \(PostgreSQL 18\.\d+\); not an administrator/);
    for (const grant of ['pg_read_all_stats', 'pg_read_all_settings', 'pg_hba_file_rules', 'pg_stat_statements']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+granted\\s+${grant}: `, 'm'));
    }
    expect(r.stdout).toMatch(/^\s+not_applicable pg_stat_wal_receiver: this server is a primary/m);
    expect(r.stdout.match(/^\s+cycle \d: \d+ signals .* spooled \S+$/gm)).toHaveLength(3);
    // The preview by category, under the default policy.
    expect(r.stdout).toMatch(/^\s+query_text\s+.*redacted/m);
    expect(r.stdout).toMatch(/^\s+identity_metadata\s+\d+ collected/m);
    expect(r.stdout).toMatch(/^\s+signals: \d+ collected, \d+ unavailable$/m);
    expect(r.stdout).toMatch(/spool \S+: 3 payload\(s\), not sent \(no destination in the demo\)/);
    expect(r.stdout).toMatch(/audit ledger \S+audit\.jsonl: [1-9]\d* statement\(s\)/);
    expect(r.stdout).toMatch(/\[9\/9\] cleaned up: server stopped/);
    expect(r.ms).toBeLessThan(60_000);

    const dir = demoDirOf(r.stdout);
    expect(dir.startsWith(tmp)).toBe(true);
    expect(processesMentioning(dir)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);

  for (const at of ['[2/9]', '[5/9]'] as const) {
    it(`a SIGINT after ${at} stops the demo and cleans up just the same`, async () => {
      const { tmp, noElectron } = sandbox();
      let dir: string | undefined;
      let seenDirProcess = false;
      let sent = false;
      const r = await runStart({ TMPDIR: tmp, ELECTRON_OVERRIDE_DIST_PATH: noElectron }, (line, kill) => {
        dir ??= /temp dir (\S+)/.exec(line)?.[1];
        if (!sent && line.startsWith(at)) {
          sent = true;
          // The server is running now: the check below must see it go.
          seenDirProcess = dir !== undefined && processesMentioning(dir).length > 0;
          kill('SIGINT');
        }
      });
      expect(sent, r.stdout).toBe(true);
      expect(seenDirProcess, 'the server was running when the signal was sent').toBe(true);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(130);
      expect(r.stdout).toMatch(/interrupted: cleaning up/);
      expect(r.stdout).toMatch(/\[9\/9\] cleaned up: server stopped/);
      expect(r.stdout).not.toMatch(/\[8\/9\]/);
      expect(processesMentioning(dir!)).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    }, 120_000);
  }
});

// In process, with the grant script generator replaced: the demo must run what `grants` prints,
// not a script of its own. A script that leaves out one grant leaves that grant missing at check.
const scriptEdit = vi.hoisted(() => ({ drop: undefined as RegExp | undefined }));
vi.mock('../../collectors/postgres/grants.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../collectors/postgres/grants.js')>();
  return {
    ...original,
    pgGrantScript: (...args: Parameters<typeof original.pgGrantScript>) => {
      const text = original.pgGrantScript(...args);
      const drop = scriptEdit.drop;
      return drop === undefined
        ? text
        : text
            .split('\n')
            .filter((l) => !drop.test(l))
            .join('\n');
    },
  };
});

describe('the demo runs the agent’s own grant script', () => {
  async function demoInProcess(drop: RegExp | undefined): Promise<{ code: number; out: string; tmp: string }> {
    const { tmp } = sandbox();
    const { runDemo } = await import('../../agent/demo/demo.js');
    scriptEdit.drop = drop;
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let out = '';
    try {
      const code = await runDemo({ root: repoRoot, out: (l) => (out += `${l}\n`), signal: new AbortController().signal, cycles: 1 });
      return { code, out, tmp };
    } finally {
      scriptEdit.drop = undefined;
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  }

  it('unchanged: every item granted', async () => {
    const r = await demoInProcess(undefined);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^\s+granted\s+pg_hba_file_rules: /m);
    expect(readdirSync(r.tmp)).toEqual([]);
  }, 120_000);

  it('without its pg_hba_file_rules grants: check reports them missing and the demo fails', async () => {
    const r = await demoInProcess(/pg_hba_file_rules/);
    expect(r.out).not.toMatch(/GRANT SELECT ON pg_catalog\.pg_hba_file_rules/);
    expect(r.out).toMatch(/^\s+missing\s+pg_hba_file_rules: /m);
    expect(r.out).toMatch(/demo failed: .*pg_hba_file_rules missing/);
    expect(r.code).toBe(1);
    expect(readdirSync(r.tmp)).toEqual([]);
  }, 120_000);

  it('without its pg_monitor grant: check reports the statistics and settings roles missing', async () => {
    const r = await demoInProcess(/GRANT pg_monitor/);
    expect(r.out).toMatch(/^\s+missing\s+pg_read_all_stats: /m);
    expect(r.out).toMatch(/^\s+missing\s+pg_read_all_settings: /m);
    expect(r.code).toBe(1);
  }, 120_000);

  it('without its CREATE EXTENSION instruction: the demo says so instead of creating the extension itself', async () => {
    const r = await demoInProcess(/CREATE EXTENSION/);
    expect(r.out).toMatch(/demo failed: the grant script no longer says how to create pg_stat_statements/);
    expect(r.code).toBe(1);
    expect(readdirSync(r.tmp)).toEqual([]);
  }, 120_000);
});
