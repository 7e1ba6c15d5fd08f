// Proves the integration harness: the servers, users, grants and logs that other
// integration tests rely on are really there.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pgStartServer, pgStopServer, startPostgres, type PgCredentials, type PgHarness } from '../harness/postgres.js';
import { RespError, redisCommand, redisCommands } from '../harness/redis.js';
import { randomSecret, waitFor } from '../harness/util.js';

const execFileP = promisify(execFile);
const pgInfo = inject('pg');
const redis = inject('redis');
const keyring = inject('keyring');

async function withClient<T>(creds: PgCredentials, fn: (c: pg.Client) => Promise<T>, opts: { port?: number; applicationName?: string } = {}): Promise<T> {
  const c = new pg.Client({
    host: pgInfo.host,
    port: opts.port ?? pgInfo.port,
    database: pgInfo.database,
    user: creds.user,
    password: creds.password,
    application_name: opts.applicationName ?? 'harness-test',
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function memberOfPgMonitor(creds: PgCredentials): Promise<boolean> {
  return withClient(creds, async (c) => {
    const r = await c.query<{ member: boolean }>("SELECT pg_has_role(current_user, 'pg_monitor', 'MEMBER') AS member");
    return r.rows[0]?.member ?? false;
  });
}

describe('postgres harness', () => {
  it.each(['superuser', 'lowpriv', 'monitor', 'admin'] as const)('%s can log in to appdb with its password', async (who) => {
    const creds = who === 'superuser' ? pgInfo.superuser : pgInfo.users[who];
    const row = await withClient(creds, async (c) => (await c.query<{ u: string; d: string }>('SELECT current_user AS u, current_database() AS d')).rows[0]);
    expect(row).toEqual({ u: creds.user, d: 'appdb' });
  });

  it('rejects a wrong password (scram-sha-256, not trust)', async () => {
    const err = await withClient({ user: 'monitor', password: 'wrong' }, async () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('28P01'); // invalid_password
  });

  it('monitor is a member of pg_monitor, lowpriv is not, admin is a superuser', async () => {
    expect(await memberOfPgMonitor(pgInfo.users.monitor)).toBe(true);
    expect(await memberOfPgMonitor(pgInfo.users.lowpriv)).toBe(false);
    const superuser = await withClient(
      pgInfo.users.admin,
      async (c) => (await c.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user')).rows[0]?.s,
    );
    expect(superuser).toBe(true);
  });

  it('has pg_stat_statements installed in appdb and readable by monitor', async () => {
    const rows = await withClient(pgInfo.users.monitor, async (c) => {
      const ext = await c.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
      expect(ext.rowCount).toBe(1);
      return (await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements')).rows;
    });
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
  });

  it('writes statements with application name and user@db to the server log', async () => {
    const marker = `harness_marker_${randomSecret(6).replace(/[^a-zA-Z0-9]/g, '')}`;
    await withClient(pgInfo.users.monitor, (c) => c.query(`SELECT '${marker}'`), { applicationName: 'harness-log-test' });
    const line = await waitFor('the statement in the server log', async () => {
      const log = await readFile(pgInfo.logFile, 'utf8');
      return log.split('\n').find((l) => l.includes(marker));
    });
    expect(line).toContain('harness-log-test monitor@appdb');
    expect(line).toContain(`statement: SELECT '${marker}'`);
  });

  it('does not log the role passwords', async () => {
    const log = await readFile(pgInfo.logFile, 'utf8');
    for (const u of Object.values(pgInfo.users)) expect(log).not.toContain(u.password);
  });

  describe('stop/start helpers (on a private instance, so the shared server stays up)', () => {
    let own: PgHarness;
    beforeAll(async () => {
      own = await startPostgres();
    });
    afterAll(async () => {
      await own?.stop();
    });

    it('pgStopServer/pgStartServer stop and start the cluster on the same port', async () => {
      const query = (): Promise<unknown> => withClient(own.users.monitor, (c) => c.query('SELECT 1'), { port: own.port });
      await query();
      await pgStopServer(own.dataDir);
      await expect(query()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await pgStartServer(own.dataDir, own.port);
      await query();
      await own.restart();
      await query();
    });
  });
});

describe('redis harness', () => {
  const target = { host: redis.host, port: redis.port };

  it('answers PING for monitor with the least-privilege ACL', async () => {
    expect(await redisCommand({ ...target, auth: redis.users.monitor }, 'PING')).toBe('PONG');
    const [whoami, slowlog] = await redisCommands({ ...target, auth: redis.users.monitor }, [
      ['ACL', 'WHOAMI'],
      ['SLOWLOG', 'GET', '10'],
    ]);
    expect(whoami).toBe('monitor');
    expect(Array.isArray(slowlog)).toBe(true);
  });

  it('refuses SLOWLOG RESET and CONFIG SET to monitor with NOPERM', async () => {
    const [reset, configSet] = await redisCommands({ ...target, auth: redis.users.monitor }, [
      ['SLOWLOG', 'RESET'],
      ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'],
    ]);
    expect(reset).toBeInstanceOf(RespError);
    expect((reset as RespError).code).toBe('NOPERM');
    expect((configSet as RespError).code).toBe('NOPERM');
  });

  it('requires auth for the default user, and admin has full rights', async () => {
    expect(((await redisCommand(target, 'PING')) as RespError).code).toBe('NOAUTH');
    expect(await redisCommand({ ...target, auth: redis.users.default }, 'PING')).toBe('PONG');
    await expect(redisCommand({ ...target, auth: { user: 'monitor', password: 'wrong' } }, 'PING')).rejects.toMatchObject({
      code: 'WRONGPASS',
    });
    expect(await redisCommand({ ...target, auth: redis.users.admin }, 'CONFIG', 'GET', 'save')).toEqual(['save', '']);
  });
});

describe('secret service harness', () => {
  it('is reachable from test workers through the inherited environment', () => {
    expect(process.env.DBUS_SESSION_BUS_ADDRESS).toBe(keyring.env.DBUS_SESSION_BUS_ADDRESS);
  });

  it('stores and looks up a secret with secret-tool', async () => {
    const attrs = ['service', 'logstag-harness-test', 'account', randomSecret(6)];
    const secret = randomSecret();
    await new Promise<void>((resolve, reject) => {
      const child = execFile('secret-tool', ['store', '--label=logstag harness test', ...attrs], (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(secret);
    });
    const { stdout } = await execFileP('secret-tool', ['lookup', ...attrs]);
    expect(stdout).toBe(secret);
    await execFileP('secret-tool', ['clear', ...attrs]);
    await expect(execFileP('secret-tool', ['lookup', ...attrs])).rejects.toThrow();
  });
});
