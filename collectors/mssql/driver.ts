import mssql from 'mssql';

/**
 * The slice of the `mssql` driver the session uses. Small on purpose: the tests
 * substitute a fake that answers with result sets and errors shaped exactly as
 * mssql/tedious produce them, and `connectWithMssql` below proves (by type
 * checking) that the real ConnectionPool satisfies the same interface.
 */
export interface DriverResult<Row> {
  /** First result set (mssql's IResult.recordset); undefined when the batch returned none. */
  recordset: Row[] | undefined;
  rowsAffected: number[];
}

export interface DriverRequest {
  query<Row>(command: string): Promise<DriverResult<Row>>;
}

export interface DriverPool {
  request(): DriverRequest;
  close(): Promise<void>;
}

export type ConnectDriver = (config: mssql.config) => Promise<DriverPool>;

/** The production driver: one mssql ConnectionPool of at most one connection per session. */
export const connectWithMssql: ConnectDriver = async (config) => {
  const pool = new mssql.ConnectionPool(config);
  // A dropped connection emits 'error' on the pool; without a listener Node would crash the agent.
  // The next request then fails and is mapped like any other driver error.
  pool.on('error', () => {});
  await pool.connect();
  return pool;
};

/** tedious ISOLATION_LEVEL.READ_UNCOMMITTED, re-exported so callers need not import the driver. */
export const READ_UNCOMMITTED: number = mssql.ISOLATION_LEVEL.READ_UNCOMMITTED;

export type DriverConfig = mssql.config;
