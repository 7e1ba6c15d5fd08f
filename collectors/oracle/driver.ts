import type OracleDB from 'oracledb';

/**
 * The narrow slice of node-oracledb the collector uses. The session talks only to
 * this interface, so tests substitute a fake shaped exactly like oracledb's
 * Connection; `oracledbDriver` below proves (at compile time) that the real
 * driver satisfies it.
 */
export interface OracleConnectAttributes {
  user: string;
  password?: string;
  connectString: string;
  /** Seconds (Oracle Net CONNECT_TIMEOUT); node-oracledb has no default. */
  connectTimeout: number;
  transportConnectTimeout: number;
  /** V$SESSION.PROGRAM (Thin mode only). */
  program: string;
  /** TCPS only: match the server certificate against the host name. */
  sslServerDNMatch?: boolean;
}

export interface OracleExecuteOptions {
  outFormat: number;
  autoCommit: false;
  maxRows: number;
}

export interface OracleColumn {
  name: string;
}

export interface OracleResult {
  rows?: unknown[] | undefined;
  metaData?: readonly OracleColumn[] | undefined;
}

export interface OracleConnection {
  /** Milliseconds per round trip (oracledb connection.callTimeout). */
  callTimeout?: number | undefined;
  module?: string | undefined;
  action?: string | undefined;
  clientId?: string | undefined;
  readonly oracleServerVersionString: string;
  execute(sql: string, binds: Record<string, string | number>, options: OracleExecuteOptions): Promise<OracleResult>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

export interface OracleDriver {
  /** oracledb.OUT_FORMAT_OBJECT: rows as objects keyed by (uppercase) column name. */
  readonly outFormatObject: number;
  getConnection(attrs: OracleConnectAttributes): Promise<OracleConnection>;
}

type OracleDbModule = typeof OracleDB;

let loaded: Promise<OracleDbModule> | undefined;
/** Loaded on first use: the tray app and the other engines never pay for it. */
const load = (): Promise<OracleDbModule> =>
  (loaded ??= import('oracledb').then((m) => (m as { default?: OracleDbModule }).default ?? (m as unknown as OracleDbModule)));

/** node-oracledb in its default Thin mode: initOracleClient() is never called, so no Instant Client is needed. */
export const oracledbDriver: OracleDriver = {
  outFormatObject: 4002, // oracledb.OUT_FORMAT_OBJECT, checked against the module below
  async getConnection(attrs) {
    const oracledb = await load();
    if (oracledb.OUT_FORMAT_OBJECT !== this.outFormatObject) throw new Error('unexpected oracledb.OUT_FORMAT_OBJECT');
    const connection: OracleConnection = await oracledb.getConnection(attrs);
    return connection;
  },
};
