import { ConfigError, type ClosableSession, type SessionContext } from '../core/engine.js';
import type { Target } from '../target.js';
import { type ConnectDriver, connectWithMssql, type DriverPool } from './driver.js';
import { driverCode, mapMssqlConnectError, serverMessages, SqlServerError } from './errors.js';
import { guardedQuery } from '../core/guarded-query.js';
import { assertReadOnlyTsql, ReadOnlyViolation } from './guard.js';
import { platformOf, type ServerFacts } from './model.js';
import { buildDriverConfig, type TlsPosture, tlsPosture } from './options.js';

/** Read once per session: version, platform, permission model, identity, and the isolation level in force. */
export const FACTS_SQL = `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
       CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major_version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CASE WHEN EXISTS (SELECT 1 FROM sys.fn_builtin_permissions(N'SERVER') WHERE permission_name = N'VIEW SERVER PERFORMANCE STATE') THEN 1 ELSE 0 END AS server_performance_state,
       CASE WHEN EXISTS (SELECT 1 FROM sys.fn_builtin_permissions(N'DATABASE') WHERE permission_name = N'VIEW DATABASE PERFORMANCE STATE') THEN 1 ELSE 0 END AS database_performance_state,
       DB_NAME() AS database_name, SUSER_SNAME() AS login_name, USER_NAME() AS user_name,
       (SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID) AS isolation_level`;

interface FactsRow {
  product_version: string;
  major_version: number | null;
  edition: string;
  engine_edition: number;
  server_performance_state: number;
  database_performance_state: number;
  database_name: string;
  login_name: string;
  user_name: string;
  isolation_level: number | null;
}

/** 1 = ReadUncommitted in sys.dm_exec_sessions.transaction_isolation_level. */
const READ_UNCOMMITTED_LEVEL = 1;

/** Turns driver values into plain JSON: datetimes as ISO strings, binary as 0x… hex. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex').toUpperCase()}`;
  return value;
}

/**
 * The only door to a SQL Server. Read-only by construction: every statement passes
 * the allowlist guard before it is handed to the driver, the connection runs at
 * READ UNCOMMITTED (checked after login), ApplicationIntent=ReadOnly is sent, and
 * the recommended login holds no write permission anywhere. Every statement,
 * refused ones included, goes to the audit ledger.
 */
export class MssqlSession implements ClosableSession {
  private closed = false;
  /** Permission probes answered in this session (permissions do not change within a cycle). */
  readonly probeCache = new Map<string, boolean>();
  facts!: ServerFacts;
  /** How this connection is protected, for the checklist's TLS warning. */
  readonly tls: TlsPosture;

  private constructor(
    private readonly pool: DriverPool,
    private readonly target: Target,
    private readonly ctx: SessionContext,
  ) {
    this.tls = tlsPosture(target);
  }

  static async open(target: Target, password: string | undefined, ctx: SessionContext, connect: ConnectDriver = connectWithMssql): Promise<MssqlSession> {
    const config = buildDriverConfig(target, password, ctx.applicationName);
    let pool: DriverPool;
    try {
      pool = await connect(config);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw mapMssqlConnectError(err, `${target.host}:${target.port}`);
    }
    const session = new MssqlSession(pool, target, ctx);
    try {
      const [f] = await session.query<FactsRow>(FACTS_SQL);
      if (f === undefined) throw new Error('the server returned no row for the session facts');
      if (f.isolation_level !== READ_UNCOMMITTED_LEVEL) {
        throw new ReadOnlyViolation(`the session runs at isolation level ${f.isolation_level ?? 'unknown'}, not READ UNCOMMITTED`);
      }
      session.facts = {
        productVersion: f.product_version,
        majorVersion: f.major_version ?? Number.parseInt(f.product_version, 10),
        edition: f.edition,
        engineEdition: f.engine_edition,
        platform: platformOf(f.engine_edition),
        serverPerformanceState: f.server_performance_state === 1,
        databasePerformanceState: f.database_performance_state === 1,
        database: f.database_name,
        login: f.login_name,
        user: f.user_name,
      };
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  async query<R extends object>(sql: string): Promise<R[]> {
    try {
      return await guardedQuery({
        audit: this.ctx.audit,
        targetId: this.target.id,
        engine: 'mssql',
        statement: sql,
        guard: () => assertReadOnlyTsql(sql),
        refusedBecause: () => (this.closed ? 'closed' : undefined),
        refusalError: () => new SqlServerError('ECONNCLOSED', [], undefined, 'the session is closed'),
        send: async () => {
          const res = await this.pool.request().query<Record<string, unknown>>(sql);
          return (res.recordset ?? []).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]))) as R[];
        },
        rows: (rows) => rows.length,
        errorCode: (err) => {
          const numbers = serverMessages(err).map((m) => m.number);
          return numbers.length > 0 ? numbers.join(',') : (driverCode(err) ?? 'client');
        },
      });
    } catch (err) {
      if (err instanceof ReadOnlyViolation || err instanceof SqlServerError) throw err;
      // Facts are unset only while opening; the fix then names the target's user.
      const f = this.facts as ServerFacts | undefined;
      throw SqlServerError.from(err, {
        login: f?.login ?? this.target.user,
        user: f?.user ?? this.target.user,
        azureSqlDatabase: f?.platform === 'azure_sql_database',
      });
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close().catch(() => {});
  }
}
