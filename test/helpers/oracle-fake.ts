/**
 * A stand-in for node-oracledb's Connection that answers from the fixtures in
 * test/fixtures/oracle (result sets and errors shaped exactly as the driver
 * builds them) and enforces privileges per identity the way Oracle does: a query
 * naming an object the identity cannot SELECT fails with ORA-00942 before any row.
 * It records every call, so tests can prove what was (and was not) sent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OracleConnectAttributes, OracleConnection, OracleDriver, OracleExecuteOptions, OracleResult } from '../../collectors/oracle/driver.js';
import { evaluateSelect } from './oracle-eval.js';

const OUT_FORMAT_OBJECT = 4002;
const dir = fileURLToPath(new URL('../fixtures/oracle/', import.meta.url));

interface FixtureCase {
  signal: string | null;
  match: string;
  metaData: { name: string; dbTypeName: string; nullable: boolean }[];
  rows: Record<string, unknown>[];
  /**
   * Rows of the view's documented source columns (test/fixtures/vendor-schemas/oracle.ts).
   * When present the fake evaluates the statement over them (test/helpers/oracle-eval.ts)
   * instead of returning `rows`; `rows` stays as the expected output for reference.
   */
  source?: { view: string; note?: string; rows: Record<string, unknown>[] };
}
interface ErrorFixture {
  message: string;
  code: string;
  errorNum?: number;
  offset?: number;
  isRecoverable: boolean;
}

export const fixtureCases: FixtureCase[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'errors.json')
  .flatMap((f) => (JSON.parse(readFileSync(dir + f, 'utf8')) as { cases: FixtureCase[] }).cases);

const errorFixtures = (JSON.parse(readFileSync(`${dir}errors.json`, 'utf8')) as { errors: Record<string, ErrorFixture> }).errors;

/** An Error exactly as node-oracledb raises it (Error with code/errorNum/offset/isRecoverable). */
export function oracleError(code: keyof typeof errorFixtures | string): Error {
  const f = errorFixtures[code];
  if (f === undefined) throw new Error(`no error fixture ${code}`);
  return Object.assign(new Error(f.message), {
    code: f.code,
    isRecoverable: f.isRecoverable,
    ...(f.errorNum === undefined ? {} : { errorNum: f.errorNum, offset: f.offset }),
  });
}

export interface Identity {
  user: string;
  conId: number;
  conName: string;
  version: string;
  isDba: boolean;
  roles: string[];
  privileges: string[];
  /** Objects (as named in queries: V$SESSION, CDB_USERS) the identity can SELECT; 'all' for a DBA. */
  readable: ReadonlySet<string> | 'all';
  containerDataAll: boolean;
  /** Rows of a view's documented source columns (by view, e.g. V$SQLSTATS) that replace the fixture's: the statement is still evaluated over them. */
  sources?: Record<string, Record<string, unknown>[]>;
  /** Rows (as the driver returns them) that replace a fixture's for statements matching the key (a regex). */
  answers?: Record<string, Record<string, unknown>[]>;
  /** The database host's UTC offset (SYSTIMESTAMP's zone); '+02:00' when not set. */
  hostTimeZone?: string;
  /** The session time zone, which node-oracledb takes from the agent machine; '-05:00' when not set. */
  sessionTimeZone?: string;
}

/** Objects a statement reads (outside string literals), found independently of the collector's own parser. */
function objectsRead(sql: string): string[] {
  return [
    ...sql
      .replace(/'[^']*'/g, "''")
      .toUpperCase()
      .matchAll(/\b((?:G?V\$|DBA_|CDB_|AUDIT_UNIFIED_)[A-Z0-9_$#]+)\b/g),
  ].map((m) => m[1]!);
}

const result = (cols: [string, string][], rows: Record<string, unknown>[]): OracleResult => ({
  metaData: cols.map(([name, dbTypeName]) => ({ name, dbTypeName, nullable: true })),
  rows,
});

export interface Call {
  method: 'execute' | 'rollback' | 'close';
  sql?: string;
  inReadOnlyTransaction: boolean;
  options?: OracleExecuteOptions;
}

export class FakeOracleConnection implements OracleConnection {
  callTimeout?: number;
  module?: string;
  action?: string;
  clientId?: string;
  readonly calls: Call[] = [];
  private readOnly = false;
  /** Statements that would have changed something on a real server. */
  readonly writes: string[] = [];

  constructor(
    readonly identity: Identity,
    readonly attrs: OracleConnectAttributes,
  ) {}

  get oracleServerVersionString(): string {
    return this.identity.version;
  }

  get statements(): string[] {
    return this.calls.flatMap((c) => (c.sql === undefined ? [] : [c.sql]));
  }

  async execute(sql: string, binds: Record<string, string | number>, options: OracleExecuteOptions): Promise<OracleResult> {
    this.calls.push({ method: 'execute', sql, inReadOnlyTransaction: this.readOnly, options });
    if (options.outFormat !== OUT_FORMAT_OBJECT) throw new Error('fake: the collector must ask for OUT_FORMAT_OBJECT');
    if (Object.keys(binds).length > 0) throw new Error('fake: the catalog uses no bind variables');
    const text = sql.trim();
    if (/^SET\s+TRANSACTION\s+READ\s+ONLY$/i.test(text)) {
      if (this.readOnly) throw oracleError('ORA-01453');
      this.readOnly = true;
      return {};
    }
    if (!/^(SELECT|WITH)\b/i.test(text)) {
      this.writes.push(text);
      throw new Error(`fake: a non-query reached the driver: ${text}`);
    }
    for (const object of objectsRead(text)) {
      if (this.identity.readable !== 'all' && !this.identity.readable.has(object)) throw oracleError('ORA-00942');
    }
    return this.answer(text);
  }

  private answer(sql: string): OracleResult {
    const id = this.identity;
    if (/SYS_CONTEXT\('USERENV', 'CON_ID'\)/.test(sql)) {
      return result(
        [
          ['USER_NAME', 'VARCHAR2'],
          ['CON_ID', 'VARCHAR2'],
          ['CON_NAME', 'VARCHAR2'],
        ],
        [{ USER_NAME: id.user, CON_ID: String(id.conId), CON_NAME: id.conName }],
      );
    }
    if (/SYS_CONTEXT\('USERENV', 'ISDBA'\)/.test(sql)) {
      return result(
        [
          ['USER_NAME', 'VARCHAR2'],
          ['IS_DBA', 'VARCHAR2'],
        ],
        [{ USER_NAME: id.user, IS_DBA: id.isDba ? 'TRUE' : 'FALSE' }],
      );
    }
    if (/FROM session_roles/i.test(sql))
      return result(
        [['ROLE', 'VARCHAR2']],
        id.roles.map((ROLE) => ({ ROLE })),
      );
    if (/FROM session_privs/i.test(sql))
      return result(
        [['PRIVILEGE', 'VARCHAR2']],
        id.privileges.map((PRIVILEGE) => ({ PRIVILEGE })),
      );
    if (/^SELECT 1 AS ok FROM \S+ WHERE ROWNUM < 1$/.test(sql)) return result([['OK', 'NUMBER']], []);
    if (/FROM dba_container_data/i.test(sql)) {
      return result([['ALL_CONTAINERS', 'VARCHAR2']], id.containerDataAll ? [{ ALL_CONTAINERS: 'Y' }] : []);
    }
    const c = fixtureCases.find((f) => new RegExp(f.match).test(sql));
    const override = Object.entries(id.answers ?? {}).find(([re]) => new RegExp(re).test(sql));
    if (c !== undefined && override !== undefined) return { metaData: c.metaData, rows: override[1].map((r) => ({ ...r })) };
    if (c === undefined) throw new Error(`fake: no fixture answers: ${sql.replace(/\s+/g, ' ')}`);
    if (c.source !== undefined) {
      const zones = { host: id.hostTimeZone ?? '+02:00', session: id.sessionTimeZone ?? '-05:00' };
      return { metaData: c.metaData, rows: evaluateSelect(sql, c.source.view, id.sources?.[c.source.view] ?? c.source.rows, zones) };
    }
    return { metaData: c.metaData, rows: c.rows.map((r) => ({ ...r })) };
  }

  async rollback(): Promise<void> {
    this.calls.push({ method: 'rollback', inReadOnlyTransaction: this.readOnly });
    this.readOnly = false;
  }

  async close(): Promise<void> {
    this.calls.push({ method: 'close', inReadOnlyTransaction: this.readOnly });
  }
}

export class FakeOracleDriver implements OracleDriver {
  readonly outFormatObject = OUT_FORMAT_OBJECT;
  readonly connections: FakeOracleConnection[] = [];
  constructor(
    readonly identity: Identity,
    /** When set, getConnection fails with this error (e.g. oracleError('ORA-01017')). */
    readonly connectError?: Error,
  ) {}

  async getConnection(attrs: OracleConnectAttributes): Promise<OracleConnection> {
    if (this.connectError) throw this.connectError;
    const c = new FakeOracleConnection(this.identity, attrs);
    this.connections.push(c);
    return c;
  }

  /** Every execute() sent over every connection, in order. */
  get statements(): string[] {
    return this.connections.flatMap((c) => c.statements);
  }
}
