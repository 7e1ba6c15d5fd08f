/**
 * A private PostgreSQL 15 cluster holding one database with many tables (2 indexes each),
 * built once and kept under the OS temp directory by name, so the schema bench does not spend
 * minutes recreating 30,000 tables on every run. Delete the directory to rebuild it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgStartServer, pgStopServer, startPostgres, type PgConnectionInfo } from '../test/harness/postgres.js';
import { freePort } from '../test/harness/util.js';
import { superClient } from '../test/helpers/pg.js';

export interface SchemaDb {
  info: PgConnectionInfo;
  /** Stops the server and keeps the cluster for the next run. */
  stop(): Promise<void>;
  built: boolean;
}

/** Tables per transaction: each CREATE locks its new relations until commit (the shared lock table is finite). */
const BATCH = 250;

export async function schemaDatabase(tables: number, log: (s: string) => void = () => {}): Promise<SchemaDb> {
  const name = `schema-${tables}t-2i-v1`;
  const dir = join(tmpdir(), 'logstag-bench-cache');
  const cacheFile = join(dir, `${name}.json`);
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as PgConnectionInfo;
    if (existsSync(join(cached.dataDir, 'PG_VERSION'))) {
      const info = { ...cached, port: await freePort() };
      await pgStartServer(info.dataDir, info.port, info.bin);
      return { info, built: false, stop: () => pgStopServer(info.dataDir, 'fast', info.bin) };
    }
  }
  const pg = await startPostgres();
  const info: PgConnectionInfo = { ...pg };
  const su = await superClient(info);
  try {
    await su.query("SET log_statement = 'none'");
    await su.query('SET synchronous_commit = off');
    const t0 = performance.now();
    for (let from = 1; from <= tables; from += BATCH) {
      const to = Math.min(tables, from + BATCH - 1);
      await su.query(`DO $$ BEGIN FOR i IN ${from}..${to} LOOP
          EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, name text, created timestamptz DEFAULT now())', i);
          EXECUTE format('CREATE INDEX t_%s_name ON t_%s (name)', i, i);
          EXECUTE format('INSERT INTO t_%s (id, name) SELECT g, md5(g::text) FROM generate_series(1, 5) g', i);
        END LOOP; END $$`);
      if (to % 5000 === 0 || to === tables) log(`  ${to} tables (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    await su.query('VACUUM ANALYZE');
    log(`  analyzed (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  } finally {
    await su.end();
  }
  await pgStopServer(info.dataDir, 'fast', info.bin);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    cacheFile,
    JSON.stringify({
      bin: info.bin,
      major: info.major,
      host: info.host,
      port: info.port,
      dataDir: info.dataDir,
      logFile: info.logFile,
      socketDir: info.socketDir,
      database: info.database,
      superuser: info.superuser,
      users: info.users,
    }),
    { mode: 0o600 },
  );
  await pgStartServer(info.dataDir, info.port, info.bin);
  return { info, built: true, stop: () => pgStopServer(info.dataDir, 'fast', info.bin) };
}
