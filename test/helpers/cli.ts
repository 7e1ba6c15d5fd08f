import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repoRoot, 'dist/agent/cli/bin.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI exactly as `npx logstag-agent` would (same bin file), with its own state dir. */
export function runAgentCli(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; home?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'lsa-home-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOGSTAG_HOME: home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Writes a JSON file in a fresh temp dir and returns its path. */
export function jsonFile(content: unknown, name = 'target.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsa-cfg-'));
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** A one-line error: no stack frames, no multi-line dump. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trim().split('\n');
  return lines.length === 1 && lines[0]!.startsWith('error: ') && !/\s+at .+:\d+:\d+/.test(stderr);
}

export interface RunningCli {
  child: ChildProcess;
  home: string;
  /** stderr so far, as lines. */
  lines(): string[];
  /** Resolves with the first stderr line matching, or rejects after timeoutMs. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when at least n stderr lines match. */
  waitForCount(re: RegExp, n: number, timeoutMs?: number): Promise<string[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI as a long-running process (`run`), for tests that signal or kill it. */
export function spawnAgentCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; home?: string } = {}): RunningCli {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'lsa-home-'));
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOGSTAG_HOME: home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = () => stderr.split('\n').filter((l) => l !== '');
  const waitForCount = async (re: RegExp, n: number, timeoutMs = 60_000): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = lines().filter((l) => re.test(l));
      if (hits.length >= n) return hits;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the CLI exited (${child.exitCode ?? child.signalCode}) before ${n} line(s) matching ${re}:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} line(s) matching ${re}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, home, lines, waitForCount, waitForLine: async (re, t) => (await waitForCount(re, 1, t))[0]!, exited };
}
