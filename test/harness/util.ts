// Process and filesystem helpers shared by the server harnesses (postgres, redis, keyring).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type ProcOptions, type ProcResult, runProcess, runProcessChecked } from '../../agent/demo/embedded-postgres.js';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// One way to run a command to completion, shared with the product (the demo starts its PostgreSQL the same way).
export type RunOptions = ProcOptions;
export type RunResult = ProcResult;
export const run = (cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => runProcess(cmd, args, opts);
export const runChecked = (cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => runProcessChecked(cmd, args, opts);

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
