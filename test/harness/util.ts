// Process and filesystem helpers shared by the server harnesses (postgres, redis, keyring).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion. Resolves on 'exit', not 'close': daemons started by the
 * command (pg_ctl start) may inherit and keep our pipes open long after it returned.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let already-buffered output drain before resolving.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** Like run(), but rejects with the command line and its output when it does not exit 0. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited with ${r.code ?? r.signal}\n${r.stderr.trim()}\n${r.stdout.trim()}`.trim());
  }
  return r;
}

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it when binding port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free TCP port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Random per-run password; base64url so it needs no quoting in SQL, Redis ACLs or config files. */
export function randomSecret(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a binary (absolute path, or a name searched on PATH) or throws a one-line error
 * naming the Debian package to install.
 */
export function requireBinary(nameOrPath: string, debianPackage: string, hint = ''): string {
  if (nameOrPath.includes('/')) {
    if (isExecutable(nameOrPath)) return nameOrPath;
  } else {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir === '') continue;
      const candidate = path.join(dir, nameOrPath);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new Error(`integration harness: '${nameOrPath}' not found${hint}; Debian package: ${debianPackage} (apt-get install -y ${debianPackage})`);
}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** Looks up an OS account through NSS (getent), so it works beyond /etc/passwd. */
export async function lookupOsUser(name: string, debianPackage: string): Promise<OsUser> {
  // execFile resolves once stdout is closed: run() resolves on 'exit', which under load can
  // come before getent's one line was read (seen with several clusters starting at once).
  const r = await execFileAsync('getent', ['passwd', name], { encoding: 'utf8', timeout: 10_000 }).then(
    (o) => ({ code: 0, stdout: o.stdout }),
    (err: { code?: unknown }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: '' }),
  );
  const fields = r.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (r.code !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`integration harness: OS user '${name}' does not exist; Debian package: ${debianPackage} (apt-get install -y ${debianPackage})`);
  }
  return { name, uid, gid };
}

/** Thrown from a waitFor check to stop waiting at once (e.g. the server process died). */
export class FatalWaitError extends Error {
  override name = 'FatalWaitError';
}

/**
 * Polls `check` until it returns a value other than undefined, or throws after timeoutMs.
 * Errors from `check` count as "not yet", except FatalWaitError which is rethrown immediately.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof FatalWaitError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`integration harness: timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Last lines of a text, for error messages that quote a server log. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
