// A throwaway PostgreSQL cluster for integration tests: real scram-sha-256 auth,
// least-privileged roles, pg_stat_statements and a readable statement log.
// Debian's PostgreSQL 15 by default; any major of the version matrix with `{ bin }` (see pg-versions.ts).
import { appendFile, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, lookupOsUser, randomSecret, requireBinary, run, runChecked, tail, type RunOptions } from './util.js';

const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_PACKAGES = 'postgresql-15 postgresql-contrib';
const SUPERUSER = 'postgres';
const DATABASE = 'appdb';
/** Name of the file the logging collector writes (fixed, no rotation) inside `<root>/log`. */
const LOG_FILENAME = 'postgresql.log';

export interface PgCredentials {
  user: string;
  password: string;
}

/** Plain data (serialisable through vitest's provide/inject). */
export interface PgConnectionInfo {
  /** Directory of initdb/postgres/pg_ctl this cluster runs (pass it to pgStopServer/pgStartServer). */
  bin: string;
  /** Major version the server reports (server_version_num / 10000), checked at start. */
  major: number;
  host: string;
  port: number;
  /** PGDATA; pass it with `port` to pgStopServer/pgStartServer. */
  dataDir: string;
  /** Server log written by the logging collector (log_statement=all, prefix '%m [%p] %a %u@%d '). */
  logFile: string;
  /** unix_socket_directories (the socket itself needs scram auth too). */
  socketDir: string;
  database: string;
  /** Bootstrap superuser created by initdb. */
  superuser: PgCredentials;
  users: {
    /** LOGIN only, default privileges. */
    lowpriv: PgCredentials;
    /** LOGIN, member of pg_monitor. */
    monitor: PgCredentials;
    /** LOGIN SUPERUSER. */
    admin: PgCredentials;
  };
}

export interface PgHarness extends PgConnectionInfo {
  /** Fast shutdown (if running) and removal of the whole temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Fast shutdown keeping the data dir, for outage tests. */
  stopServer(mode?: PgShutdownMode): Promise<void>;
  /** Starts the stopped cluster again on the same port. */
  startServer(): Promise<void>;
  restart(): Promise<void>;
}

export type PgShutdownMode = 'smart' | 'fast' | 'immediate';

function pgBin(): string {
  return process.env.PG_BIN ?? DEFAULT_PG_BIN;
}

function requirePgBinaries(bin = pgBin()): { initdb: string; pgCtl: string } {
  const hint = ` in ${bin} (set PG_BIN to override)`;
  const initdb = requireBinary(path.join(bin, 'initdb'), PG_PACKAGES, hint);
  requireBinary(path.join(bin, 'postgres'), PG_PACKAGES, hint);
  const pgCtl = requireBinary(path.join(bin, 'pg_ctl'), PG_PACKAGES, hint);
  return { initdb, pgCtl };
}

/** A clean environment: no PG* variables of the caller leak into initdb/pg_ctl; C locale for stable messages. */
function pgEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the owner of the data dir
 * (the `postgres` OS user, see startPostgres). Otherwise run them as ourselves.
 */
async function runAsOwner(dataDir: string): Promise<Pick<RunOptions, 'uid' | 'gid'>> {
  if (process.getuid?.() !== 0) return {};
  const st = await stat(dataDir);
  if (st.uid === 0) throw new Error(`integration harness: ${dataDir} is owned by root; postgres cannot run as root`);
  return { uid: st.uid, gid: st.gid };
}

function pgCtlLog(dataDir: string): string {
  return path.join(path.dirname(dataDir), 'pg_ctl.log');
}

function serverLog(dataDir: string): string {
  return path.join(path.dirname(dataDir), 'log', LOG_FILENAME);
}

async function readTail(file: string): Promise<string> {
  try {
    return tail(await readFile(file, 'utf8'));
  } catch {
    return '(none)';
  }
}

/** Stops the cluster in `dataDir` and waits for it to be gone. Works from any process (e.g. a test worker). */
export async function pgStopServer(dataDir: string, mode: PgShutdownMode = 'fast', bin?: string): Promise<void> {
  const { pgCtl } = requirePgBinaries(bin);
  await runChecked(pgCtl, ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], {
    ...(await runAsOwner(dataDir)),
    cwd: path.dirname(dataDir),
    env: pgEnv(),
  });
}

/** Starts the cluster in `dataDir` on `port` (127.0.0.1) and waits until it accepts connections. */
export async function pgStartServer(dataDir: string, port: number, bin?: string): Promise<void> {
  const { pgCtl } = requirePgBinaries(bin);
  const r = await run(pgCtl, ['-D', dataDir, '-l', pgCtlLog(dataDir), '-w', '-t', '60', '-o', `-p ${port}`, 'start'], {
    ...(await runAsOwner(dataDir)),
    // The postgres user may not be able to enter the caller's cwd (e.g. /root/...).
    cwd: path.dirname(dataDir),
    env: pgEnv(),
  });
  if (r.code !== 0) {
    throw new Error(
      `integration harness: PostgreSQL failed to start (pg_ctl exit ${r.code ?? r.signal}).\n` +
        `${r.stderr.trim()}\n--- ${pgCtlLog(dataDir)}:\n${await readTail(pgCtlLog(dataDir))}\n` +
        `--- ${serverLog(dataDir)}:\n${await readTail(serverLog(dataDir))}\n` +
        `(pg_stat_statements is in ${PG_PACKAGES})`,
    );
  }
}

/** Starts a fresh cluster in a new temp dir, creates appdb, pg_stat_statements and the test roles. */
export async function startPostgres(opts: { bin?: string } = {}): Promise<PgHarness> {
  const bin = opts.bin ?? pgBin();
  const { initdb } = requirePgBinaries(bin);
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await lookupOsUser('postgres', PG_PACKAGES) : undefined;

  const root = await mkdtemp(path.join(os.tmpdir(), 'logstag-pg-'));
  const cleanup = async (): Promise<void> => {
    await rm(root, { recursive: true, force: true });
  };
  try {
    const dataDir = path.join(root, 'data');
    const logDir = path.join(root, 'log');
    const pwfile = path.join(root, 'pwfile');
    const superPassword = randomSecret();
    await mkdir(logDir, { mode: 0o700 });
    await writeFile(pwfile, `${superPassword}\n`, { mode: 0o600 });
    if (owner) {
      for (const p of [root, logDir, pwfile]) await chown(p, owner.uid, owner.gid);
    }
    const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};

    await runChecked(
      initdb,
      [
        '-D',
        dataDir,
        '-U',
        SUPERUSER,
        `--pwfile=${pwfile}`,
        // Password auth on every path (socket and TCP) so authentication failures are testable.
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ],
      { ...ids, cwd: root, env: pgEnv(), timeoutMs: 120_000 },
    ).catch((err: unknown) => {
      const who = owner ? ` (running as OS user ${owner.name}, who must be able to reach ${root}; check TMPDIR)` : '';
      throw new Error(`integration harness: initdb failed${who}\n${err instanceof Error ? err.message : String(err)}`);
    });
    await rm(pwfile, { force: true });

    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: "'127.0.0.1'",
      port: String(port),
      unix_socket_directories: `'${root}'`,
      max_connections: '50',
      shared_preload_libraries: "'pg_stat_statements'",
      fsync: 'off',
      // Server log in a known file, never rotated, so tests can read what the agent sent.
      log_destination: "'stderr'",
      logging_collector: 'on',
      log_directory: `'${logDir}'`,
      log_filename: `'${LOG_FILENAME}'`,
      log_rotation_age: '0',
      log_rotation_size: '0',
      log_file_mode: '0640',
      log_statement: "'all'",
      log_line_prefix: "'%m [%p] %a %u@%d '",
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n');
    // Appending (written as us, file owned by postgres) keeps initdb's defaults; later lines win.
    await appendFile(path.join(dataDir, 'postgresql.conf'), `\n# logstag integration harness\n${conf}\n`);

    await pgStartServer(dataDir, port, bin);

    const info: PgConnectionInfo = {
      bin,
      major: 0,
      host: '127.0.0.1',
      port,
      dataDir,
      logFile: path.join(logDir, LOG_FILENAME),
      socketDir: root,
      database: DATABASE,
      superuser: { user: SUPERUSER, password: superPassword },
      users: {
        lowpriv: { user: 'lowpriv', password: randomSecret() },
        monitor: { user: 'monitor', password: randomSecret() },
        admin: { user: 'admin', password: randomSecret() },
      },
    };
    try {
      info.major = await provision(info);
    } catch (err) {
      await pgStopServer(dataDir, 'immediate', bin).catch(() => undefined);
      throw err;
    }

    let removed = false;
    return {
      ...info,
      async stop() {
        if (removed) return;
        removed = true;
        if (existsSync(path.join(dataDir, 'postmaster.pid'))) await pgStopServer(dataDir, 'fast', bin);
        await cleanup();
      },
      stopServer: (mode: PgShutdownMode = 'fast') => pgStopServer(dataDir, mode, bin),
      startServer: () => pgStartServer(dataDir, port, bin),
      async restart() {
        await pgStopServer(dataDir, 'fast', bin);
        await pgStartServer(dataDir, port, bin);
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Creates the database, roles and pg_stat_statements; returns the server's major version. */
async function provision(info: PgConnectionInfo): Promise<number> {
  const connect = async (database: string): Promise<pg.Client> => {
    const c = new pg.Client({
      host: info.host,
      port: info.port,
      user: info.superuser.user,
      password: info.superuser.password,
      database,
      application_name: 'logstag-harness',
    });
    await c.connect();
    return c;
  };
  const lit = (s: string): string => pg.escapeLiteral(s);

  const admin = await connect('postgres');
  try {
    // Keep the role passwords out of the server log that tests read.
    await admin.query("SET log_statement = 'none'");
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    const { lowpriv, monitor, admin: adminRole } = info.users;
    await admin.query(`CREATE ROLE ${lowpriv.user} LOGIN PASSWORD ${lit(lowpriv.password)}`);
    await admin.query(`CREATE ROLE ${monitor.user} LOGIN PASSWORD ${lit(monitor.password)}`);
    await admin.query(`GRANT pg_monitor TO ${monitor.user}`);
    await admin.query(`CREATE ROLE ${adminRole.user} LOGIN SUPERUSER PASSWORD ${lit(adminRole.password)}`);
  } finally {
    await admin.end();
  }

  const app = await connect(DATABASE);
  try {
    await app.query('CREATE EXTENSION pg_stat_statements');
    const { rows } = await app.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
    return Math.floor(rows[0]!.v / 10000);
  } finally {
    await app.end();
  }
}
