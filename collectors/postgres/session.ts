import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { ClosableSession, SessionContext } from '../core/engine.js';
import { tlsConnectionOptions } from '../core/tls.js';
import type { Target } from '../target.js';
import { mapPgConnectError } from './errors.js';
import { assertReadOnlySql, ReadOnlyViolation } from './guard.js';

type TlsOption = false | ConnectionOptions;

function endWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function tlsOptions(target: Target): TlsOption {
  return (target.tls?.mode ?? 'prefer') === 'disable' ? false : tlsConnectionOptions(target);
}

/**
 * The only door to a PostgreSQL server. Read-only three times over: the session
 * starts with default_transaction_read_only=on (checked after connect), every
 * statement passes the allowlist guard, and the recommended role has no write
 * grants. Every statement, refused ones included, goes to the audit ledger.
 */
export class PgSession implements ClosableSession {
  private closed = false;
  /** server_version_num (e.g. 150018), read once at connect: signals pick version-specific SQL with it. */
  versionNum = 0;
  private constructor(
    private readonly client: pg.Client,
    private readonly target: Target,
    private readonly ctx: SessionContext,
  ) {
    // A dropped connection emits 'error' on the client; without a listener Node would crash the agent.
    client.on('error', () => {
      this.closed = true;
    });
    client.on('end', () => {
      this.closed = true;
    });
  }

  static async open(target: Target, password: string | undefined, ctx: SessionContext): Promise<PgSession> {
    const ssl = tlsOptions(target);
    const where = `${target.host}:${target.port}`;
    const connect = async (sslOpt: TlsOption): Promise<pg.Client> => {
      const client = new pg.Client({
        host: target.host,
        port: target.port,
        user: target.user,
        ...(password === undefined ? {} : { password }),
        database: target.database,
        application_name: ctx.applicationName,
        ssl: sslOpt,
        connectionTimeoutMillis: target.connectTimeoutMs,
        statement_timeout: target.statementTimeoutMs,
        lock_timeout: target.lockTimeoutMs,
        idle_in_transaction_session_timeout: target.statementTimeoutMs * 2,
        // Client-side backstop if the server stops answering altogether.
        query_timeout: target.statementTimeoutMs + 2000,
        options: '-c default_transaction_read_only=on',
      });
      client.on('error', () => {});
      try {
        await client.connect();
        return client;
      } catch (err) {
        // end() never settles when connect() failed before a socket existed (node-postgres waits for an
        // 'end' that never comes): bounded, so a failed connect is this target's error and nothing more.
        await endWithin(client, 1000);
        throw err;
      }
    };
    let client: pg.Client;
    try {
      client = await connect(ssl);
    } catch (err) {
      const mode = target.tls?.mode ?? 'prefer';
      if (mode === 'prefer' && /does not support SSL/i.test((err as Error).message ?? '')) {
        try {
          client = await connect(false);
        } catch (err2) {
          throw mapPgConnectError(err2, where);
        }
      } else {
        throw mapPgConnectError(err, where);
      }
    }
    const session = new PgSession(client, target, ctx);
    const [ro] = await session.query<{ read_only: string; version_num: number }>(
      "SELECT current_setting('default_transaction_read_only') AS read_only, current_setting('server_version_num')::int AS version_num",
    );
    if (ro?.read_only !== 'on') {
      await session.close();
      throw new ReadOnlyViolation('the server did not accept default_transaction_read_only=on');
    }
    session.versionNum = ro.version_num;
    return session;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const started = performance.now();
    const audit = (outcome: 'ok' | 'error' | 'refused', extra: { code?: string; rows?: number }): void =>
      this.ctx.audit.record({
        time: new Date().toISOString(),
        targetId: this.target.id,
        engine: 'postgres',
        statement: sql.replace(/\s+/g, ' ').trim(),
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        outcome,
        ...extra,
      });
    try {
      assertReadOnlySql(sql);
    } catch (err) {
      audit('refused', { code: 'read_only_guard' });
      throw err;
    }
    try {
      const res = await this.client.query<R>(sql, params as unknown[]);
      audit('ok', { rows: res.rowCount ?? res.rows.length });
      return res.rows;
    } catch (err) {
      audit('error', { code: (err as { code?: string }).code ?? 'client' });
      throw err;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.end().catch(() => {});
  }
}
