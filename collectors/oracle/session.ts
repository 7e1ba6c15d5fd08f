import { ConfigError, TargetConnectError, type ClosableSession, type SessionContext } from '../core/engine.js';
import type { Target } from '../target.js';
import type { OracleConnectAttributes, OracleConnection, OracleDriver } from './driver.js';
import { mapOracleConnectError, OraclePermissionError, grantSelect, objectsIn } from './errors.js';
import { guardedQuery } from '../core/guarded-query.js';
import { assertReadOnlySql } from './guard.js';

/** Where the session landed in a multitenant database; decides which views show what. */
export type ContainerKind = 'non-cdb' | 'root' | 'pdb';

/** Rows larger than this are a bug in a catalog query (every list query has its own FETCH FIRST). */
const MAX_ROWS = 10_000;
/** Sent by the session itself, never through query(): the one non-SELECT it may run. */
const BEGIN_READ_ONLY = 'SET TRANSACTION READ ONLY';

export function diagnosticsPackConfirmed(target: Target): boolean {
  return target.oracle?.diagnosticsPack === true;
}

function connectAttributes(target: Target, password: string | undefined, ctx: SessionContext): OracleConnectAttributes {
  if (target.service === undefined) throw new ConfigError('service is required for oracle');
  const tls = target.tls ?? { mode: 'prefer' as const };
  // Thin mode trusts the system CA store; a wallet PEM must also hold a private key, so a bare CA file cannot be passed.
  if (tls.caFile !== undefined) {
    throw new ConfigError(
      'tls.caFile is not supported for oracle: node-oracledb Thin mode trusts the system CA store; add the CA there (or to NODE_EXTRA_CA_CERTS)',
    );
  }
  if (tls.serverName !== undefined) throw new ConfigError('tls.serverName is not supported for oracle: the certificate is matched against host');
  // Oracle serves TLS on its own listener endpoint (TCPS), so there is nothing to "prefer": plain TCP unless TLS is required.
  const tcps = tls.mode === 'require' || tls.mode === 'verify-ca' || tls.mode === 'verify-full';
  const seconds = Math.max(1, Math.ceil(target.connectTimeoutMs / 1000));
  return {
    user: target.user,
    ...(password === undefined ? {} : { password }),
    connectString: `${tcps ? 'tcps' : 'tcp'}://${target.host}:${target.port}/${target.service}`,
    connectTimeout: seconds,
    transportConnectTimeout: seconds,
    program: ctx.applicationName,
    ...(tcps ? { sslServerDNMatch: tls.mode === 'verify-full' } : {}),
  };
}

/** Oracle returns DATE/TIMESTAMP as Date and RAW as Buffer; the payload carries JSON only. */
function toJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (value !== null && typeof value === 'object') throw new Error('a catalog query returned a LOB or an object column');
  return value;
}

/**
 * The only door to an Oracle database. Read-only three times over: every
 * transaction starts with SET TRANSACTION READ ONLY, every statement passes the
 * allowlist guard before it is sent, and the recommended user holds only SELECT
 * grants. Every statement, refused ones included, goes to the audit ledger.
 */
export class OracleSession implements ClosableSession {
  private closed = false;
  private inReadOnlyTransaction = false;
  /** Filled by open(): the session user as Oracle spells it, and where it is connected. */
  user = '';
  container: ContainerKind = 'non-cdb';
  containerName = '';

  private constructor(
    private readonly conn: OracleConnection,
    readonly target: Target,
    private readonly ctx: SessionContext,
    /** oracledb.OUT_FORMAT_OBJECT of the driver in use. */
    private readonly outFormat: number,
  ) {}

  get serverVersion(): string {
    return this.conn.oracleServerVersionString;
  }

  get diagnosticsPack(): boolean {
    return diagnosticsPackConfirmed(this.target);
  }

  static async open(driver: OracleDriver, target: Target, password: string | undefined, ctx: SessionContext): Promise<OracleSession> {
    const where = `${target.host}:${target.port}/${target.service ?? ''}`;
    // A login the agent itself refuses (exit 3, like any refused login), so `grants` still prints the dedicated-user script.
    if (/^sys$/i.test(target.user)) {
      throw new TargetConnectError(
        'authentication',
        `${where}: the agent does not log in as SYS (Oracle ignores SET TRANSACTION READ ONLY for SYS); use a dedicated monitoring user`,
      );
    }
    const attrs = connectAttributes(target, password, ctx);
    let conn: OracleConnection;
    try {
      conn = await driver.getConnection(attrs);
    } catch (err) {
      throw mapOracleConnectError(err, where);
    }
    // Identification shows up in V$SESSION (PROGRAM, MODULE, ACTION, CLIENT_IDENTIFIER) for the DBA.
    conn.callTimeout = target.statementTimeoutMs;
    conn.module = ctx.applicationName;
    conn.action = 'read-only monitoring';
    conn.clientId = 'logstag-agent';
    const session = new OracleSession(conn, target, ctx, driver.outFormatObject);
    try {
      const [me] = await session.query<{ user_name: string; con_id: string; con_name: string }>(
        `SELECT SYS_CONTEXT('USERENV', 'SESSION_USER') AS user_name, SYS_CONTEXT('USERENV', 'CON_ID') AS con_id,
                SYS_CONTEXT('USERENV', 'CON_NAME') AS con_name
           FROM dual`,
      );
      if (me === undefined) throw new Error('SYS_CONTEXT returned no row');
      session.user = me.user_name;
      session.containerName = me.con_name;
      const conId = Number(me.con_id);
      session.container = conId === 0 ? 'non-cdb' : conId === 1 ? 'root' : 'pdb';
    } catch (err) {
      await session.close();
      throw mapOracleConnectError(err, where);
    }
    return session;
  }

  private audit(statement: string, started: number, outcome: 'ok' | 'error' | 'refused', extra: { code?: string; rows?: number } = {}): void {
    this.ctx.audit.record({
      time: new Date().toISOString(),
      targetId: this.target.id,
      engine: 'oracle',
      statement: statement.replace(/\s+/g, ' ').trim(),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      outcome,
      ...extra,
    });
  }

  private async beginReadOnly(): Promise<void> {
    const started = performance.now();
    try {
      await this.conn.execute(BEGIN_READ_ONLY, {}, { outFormat: this.outFormat, autoCommit: false, maxRows: 0 });
      this.audit(BEGIN_READ_ONLY, started, 'ok');
      this.inReadOnlyTransaction = true;
    } catch (err) {
      this.audit(BEGIN_READ_ONLY, started, 'error', { code: (err as { code?: string }).code ?? 'client' });
      throw err;
    }
  }

  async query<R extends object>(sql: string, binds: Record<string, string | number> = {}): Promise<R[]> {
    const rows = await guardedQuery({
      audit: this.ctx.audit,
      targetId: this.target.id,
      engine: 'oracle',
      statement: sql,
      guard: () => assertReadOnlySql(sql, { diagnosticsPack: this.diagnosticsPack }),
      refusedBecause: () => (this.closed ? 'closed' : undefined),
      refusalError: () => new Error('the Oracle session is closed'),
      send: async () => {
        if (!this.inReadOnlyTransaction) await this.beginReadOnly();
        // autoCommit false: a commit would end the read-only transaction.
        const result = await this.conn.execute(sql, binds, { outFormat: this.outFormat, autoCommit: false, maxRows: MAX_ROWS });
        return (result.rows ?? []) as Record<string, unknown>[];
      },
      rows: (r) => r.length,
      errorCode: (err) => (err as { code?: string }).code ?? 'client',
    }).catch((err: unknown) => {
      const code = (err as { code?: string }).code;
      if (code === 'ORA-00942' || code === 'ORA-01031') {
        const objects = objectsIn(sql);
        const fix = objects.length > 0 ? objects.map((o) => grantSelect(o, this.user || this.target.user, this.container === 'root')).join('\n') : undefined;
        throw new OraclePermissionError(code, objects, fix);
      }
      throw err;
    });
    // Oracle folds unquoted aliases to upper case; the catalog's row types use lower case.
    return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), toJson(v)])) as R);
  }

  private readonly memos = new Map<string, Promise<unknown>>();
  /** One answer per session for probes several signals share (e.g. CONTAINER_DATA). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let p = this.memos.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = compute();
      this.memos.set(key, p);
    }
    return p;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inReadOnlyTransaction) {
      const started = performance.now();
      // Ends the read-only transaction; there is nothing to undo.
      await this.conn.rollback().then(
        () => this.audit('ROLLBACK', started, 'ok'),
        (err: unknown) => this.audit('ROLLBACK', started, 'error', { code: (err as { code?: string }).code ?? 'client' }),
      );
      this.inReadOnlyTransaction = false;
    }
    await this.conn.close().catch(() => {});
  }
}
