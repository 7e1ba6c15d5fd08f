/**
 * A stand-in for a SQL Server behind mssql's ConnectionPool, faithful to what the
 * agent depends on: result objects shaped like mssql's IResult (recordset with
 * `columns`, recordsets, rowsAffected, output), errors built by mssql's own classes
 * (test/fixtures/mssql/errors.ts), and the server's permission semantics for the
 * views the agent reads:
 * - DMVs refuse with Msg 300 + 297 (on-premises) or Msg 262 + 297 (Azure SQL
 *   Database) without VIEW SERVER STATE / VIEW SERVER PERFORMANCE STATE (2022+) /
 *   VIEW DATABASE (PERFORMANCE) STATE ("Permissions" section of each DMV page);
 * - sys.dm_exec_sessions and catalog views do not refuse: they return only what the
 *   identity may see ("metadata visibility configuration"; dm_exec_sessions: "users
 *   can see their own session");
 * - HAS_PERMS_BY_NAME follows the permission hierarchy: sysadmin/CONTROL SERVER imply
 *   everything; on 2022 VIEW SERVER STATE covers VIEW SERVER PERFORMANCE STATE; a
 *   server permission covers its database counterpart ("server-level roles",
 *   "Permissions hierarchy"); a permission name the server does not know gives NULL.
 * Every statement that reaches the fake is recorded in `sent`.
 */
import type { ConnectDriver, DriverConfig, DriverPool, DriverResult } from '../../collectors/mssql/driver.js';
import * as E from '../fixtures/mssql/errors.js';
import * as R from '../fixtures/mssql/rows.js';
import type { ServerModel } from '../fixtures/mssql/servers.js';

export interface Identity {
  login: string;
  user: string;
  /** Server permissions granted explicitly. */
  serverPerms: string[];
  /** Database permissions granted in the monitored database. */
  dbPerms?: string[];
  serverRoles?: string[];
  dbRoles?: string[];
  msdbLogShipping?: boolean;
  /** Azure SQL Database: the login is a member of ##MS_ServerStateReader## (granted in master). */
  serverStateReader?: boolean;
}

export interface FakeOptions {
  model: ServerModel;
  identity: Identity;
  database?: string;
  hadr?: boolean;
  queryStore?: boolean;
  isolationLevel?: number;
  revokePublicViewAnyDatabase?: boolean;
  /** Replace the answer to statements matching a pattern (fault injection). */
  override?: Array<{ match: RegExp; answer: () => unknown[] | Error }>;
}

/** An mssql IRecordSet: an array with a `columns` map (lib/tedious/request.js builds it from column metadata). */
function recordset<T extends object>(rows: T[]): T[] & { columns: Record<string, { index: number; name: string }> } {
  const rs = [...rows] as T[] & { columns: Record<string, { index: number; name: string }> };
  const names = rows[0] === undefined ? [] : Object.keys(rows[0]);
  Object.defineProperty(rs, 'columns', { value: Object.fromEntries(names.map((name, index) => [name, { index, name }])), enumerable: false });
  return rs;
}

function result<T extends object>(rows: T[]): DriverResult<T> & { recordsets: T[][]; output: Record<string, unknown> } {
  const rs = recordset(rows);
  return { recordsets: [rs], recordset: rs, output: {}, rowsAffected: [rows.length] };
}

export class FakeSqlServer {
  readonly sent: string[] = [];
  readonly configs: DriverConfig[] = [];
  closed = 0;
  constructor(readonly o: FakeOptions) {}

  get azure(): boolean {
    return this.o.model.engineEdition === 5;
  }
  get database(): string {
    return this.o.database ?? 'app';
  }

  private knows(name: string): boolean {
    if (/PERFORMANCE STATE|SECURITY STATE|PERFORMANCE DEFINITION|SECURITY DEFINITION/.test(name)) {
      return name.includes('DATABASE') ? this.o.model.databasePerformanceState : this.o.model.serverPerformanceState;
    }
    return true;
  }

  /** HAS_PERMS_BY_NAME(NULL, NULL, name): 1, 0, or NULL for a permission this server does not know. */
  hasServer(name: string): number | null {
    if (!this.knows(name)) return null;
    if (this.azure) return 0;
    const id = this.o.identity;
    if (id.serverRoles?.includes('sysadmin') || id.serverPerms.includes('CONTROL SERVER')) return 1;
    if (id.serverRoles?.includes('securityadmin') && name === 'ALTER ANY LOGIN') return 1;
    // public holds VIEW ANY DATABASE by default ("sys.databases" permissions).
    if (name === 'VIEW ANY DATABASE' && !this.o.revokePublicViewAnyDatabase) return 1;
    const implied: Record<string, string[]> = this.o.model.serverPerformanceState
      ? {
          'VIEW SERVER PERFORMANCE STATE': ['VIEW SERVER STATE'],
          'VIEW SERVER SECURITY STATE': ['VIEW SERVER STATE'],
          'VIEW ANY PERFORMANCE DEFINITION': ['VIEW ANY DEFINITION'],
        }
      : {};
    return [name, ...(implied[name] ?? [])].some((p) => id.serverPerms.includes(p)) ? 1 : 0;
  }

  /** HAS_PERMS_BY_NAME(db, 'DATABASE', name) in the monitored database (or master). */
  hasDatabase(name: string, db = this.database): number | null {
    if (!this.knows(name)) return null;
    const id = this.o.identity;
    if (this.hasServer('CONTROL SERVER') === 1) return 1;
    if (db !== this.database) return 0;
    if (id.dbRoles?.includes('db_owner')) return 1;
    const fromServer: Record<string, string[]> = {
      'VIEW DATABASE STATE': ['VIEW SERVER STATE'],
      'VIEW DATABASE PERFORMANCE STATE': ['VIEW SERVER STATE', 'VIEW SERVER PERFORMANCE STATE', 'VIEW DATABASE STATE'],
      'VIEW DEFINITION': ['VIEW ANY DEFINITION'],
      CONNECT: ['CONNECT ANY DATABASE'],
    };
    const held = id.dbPerms ?? [];
    if (held.includes(name)) return 1;
    return (fromServer[name] ?? []).some((p) => held.includes(p) || (!this.azure && id.serverPerms.includes(p))) ? 1 : 0;
  }

  /** The permission the DMVs need on this server, and whether the identity has it. */
  private dmvAllowed(): boolean {
    if (this.azure) return this.hasDatabase('VIEW DATABASE STATE') === 1 || this.hasDatabase('VIEW DATABASE PERFORMANCE STATE') === 1;
    return this.hasServer(this.o.model.serverPerformanceState ? 'VIEW SERVER PERFORMANCE STATE' : 'VIEW SERVER STATE') === 1;
  }
  private dmvDenied(): Error {
    if (this.azure) return E.deniedDatabasePermission('VIEW DATABASE STATE', this.database);
    return E.deniedServerPermission(this.o.model.serverPerformanceState ? 'VIEW SERVER PERFORMANCE STATE' : 'VIEW SERVER STATE');
  }
  private definitionVisible(): boolean {
    return this.azure ? this.hasDatabase('VIEW DEFINITION') === 1 : this.hasServer('VIEW ANY DEFINITION') === 1;
  }

  private evalHasPerms(expr: string): number | null {
    const calls = [...expr.matchAll(/HAS_PERMS_BY_NAME\((NULL|DB_NAME\(\)|N'[^']*'), (NULL|N'DATABASE'|N'OBJECT'), N'([^']+)'\)/g)];
    if (calls.length === 0) throw new Error(`fake: cannot evaluate ${expr}`);
    const values = calls.map(([, securable, cls, perm]) => {
      if (cls === 'NULL') return this.hasServer(perm!);
      if (cls === "N'DATABASE'") return this.hasDatabase(perm!, securable === 'DB_NAME()' ? this.database : securable!.slice(2, -1));
      // OBJECT: only the msdb log shipping tables are probed.
      return this.azure ? null : this.o.identity.msdbLogShipping || this.hasServer('CONTROL SERVER') === 1 ? 1 : 0;
    });
    return values.includes(null) ? null : values.every((v) => v === 1) ? 1 : 0;
  }

  private roleMember(role: string): number {
    if (this.azure && ['sysadmin', 'securityadmin', 'serveradmin'].includes(role)) return 0;
    return this.o.identity.serverRoles?.includes(role) ? 1 : 0;
  }

  /** Azure SQL Database Basic/S0/S1/elastic pool: the DMVs whose pages name the server admin, Entra admin or ##MS_ServerStateReader##. */
  get restrictedTier(): boolean {
    return this.azure && ['Basic', 'S0', 'S1', 'ElasticPool'].includes(this.o.model.serviceObjective ?? '');
  }
  private tierAdmin(): boolean {
    return this.o.identity.user === 'dbo' || this.o.identity.dbRoles?.includes('db_owner') === true || this.o.identity.serverStateReader === true;
  }

  answer(sql: string): unknown[] | Error {
    for (const o of this.o.override ?? []) if (o.match.test(sql)) return o.answer();
    const id = this.o.identity;
    const m = this.o.model;
    const dmv = <T>(rows: T[]): T[] | Error => (this.dmvAllowed() ? rows : this.dmvDenied());
    // Basic/S0/S1/elastic pool: VIEW DATABASE STATE is not enough for these DMVs.
    const tierDmv = <T>(rows: T[]): T[] | Error => (this.restrictedTier && !this.tierAdmin() ? this.dmvDenied() : dmv(rows));
    // sys.configurations: public up to 2019; "SQL Server 2022 (16.x) and later versions require VIEW SERVER
    // PERFORMANCE STATE" — without it the rows are not visible (no error).
    const configurationsVisible = this.azure || !m.serverPerformanceState || this.hasServer('VIEW SERVER PERFORMANCE STATE') === 1;
    if (/DATABASEPROPERTYEX\(DB_NAME\(\), 'ServiceObjective'\)/.test(sql)) {
      return [
        {
          service_objective: this.azure ? (m.serviceObjective ?? null) : null,
          is_dbo: this.azure && (id.user === 'dbo' || id.dbRoles?.includes('db_owner') === true) ? 1 : 0,
          server_state_reader: this.azure ? (id.serverStateReader ? 1 : 0) : null,
        },
      ];
    }
    const meta = <T>(rows: T[]): T[] => (this.definitionVisible() ? rows : []);
    if (/fn_builtin_permissions\(N'SERVER'\)[\s\S]*isolation_level/.test(sql)) {
      return [
        {
          product_version: m.productVersion,
          major_version: m.majorVersion,
          edition: m.edition,
          engine_edition: m.engineEdition,
          server_performance_state: m.serverPerformanceState ? 1 : 0,
          database_performance_state: m.databasePerformanceState ? 1 : 0,
          database_name: this.database,
          login_name: id.login,
          user_name: id.user,
          isolation_level: this.o.isolationLevel ?? 1,
        },
      ];
    }
    if (/^SELECT HAS_PERMS_BY_NAME/.test(sql)) {
      const cols = sql.replace(/^SELECT\s+/, '').split(/,\s*\n\s*/);
      return [
        Object.fromEntries(
          cols.map((c) => {
            const [, expr, alias] = /^([\s\S]+) AS (p\d+)$/.exec(c.trim())!;
            return [alias!, this.evalHasPerms(expr!)];
          }),
        ),
      ];
    }
    if (/IS_SRVROLEMEMBER\(N'sysadmin'\)/.test(sql)) {
      const dbRole = (r: string) => (id.dbRoles?.includes(r) || this.roleMember('sysadmin') === 1 ? 1 : 0);
      return [
        {
          login_name: id.login,
          user_name: this.roleMember('sysadmin') === 1 ? 'dbo' : id.user,
          sysadmin: this.roleMember('sysadmin'),
          securityadmin: this.roleMember('securityadmin'),
          serveradmin: this.roleMember('serveradmin'),
          control_server: this.hasServer('CONTROL SERVER'),
          alter_any_login: this.hasServer('ALTER ANY LOGIN'),
          impersonate_any_login: this.hasServer('IMPERSONATE ANY LOGIN'),
          read_all_data: this.hasServer('SELECT ALL USER SECURABLES'),
          master_control: this.azure ? 0 : this.hasDatabase('CONTROL', 'master'),
          db_owner: dbRole('db_owner'),
          db_securityadmin: dbRole('db_securityadmin'),
          db_accessadmin: dbRole('db_accessadmin'),
          db_ddladmin: dbRole('db_ddladmin'),
          db_datawriter: dbRole('db_datawriter'),
        },
      ];
    }
    if (/AS hadr, \(SELECT is_query_store_on/.test(sql)) return [{ hadr: this.o.hadr ? 1 : 0, query_store: this.o.queryStore ?? true }];
    if (/^SELECT CAST\(SERVERPROPERTY\('IsHadrEnabled'\) AS int\) AS hadr$/.test(sql)) return [{ hadr: this.o.hadr ? 1 : 0 }];
    if (/SERVERPROPERTY\('ProductLevel'\)/.test(sql)) return [R.serverRow(m.majorVersion, m.productVersion, m.edition, m.engineEdition, this.o.hadr ?? false)];
    if (/FROM sys\.databases d/.test(sql))
      return this.hasServer('VIEW ANY DATABASE') === 1 || this.azure ? R.DATABASES : R.DATABASES.filter((d) => d.database_id <= 2);
    // Without VIEW ANY DATABASE only master, tempdb and owned databases are listed (none of them a user database here).
    if (/HAS_DBACCESS\(name\) = 1/.test(sql)) return this.hasServer('VIEW ANY DATABASE') === 1 ? [{ name: this.database }] : [];
    if (/FROM sys\.configurations\s+ORDER BY name/.test(sql)) return configurationsVisible ? R.CONFIGURATIONS : [];
    // Azure SQL Database: "VIEW SERVER STATE can't be granted in Azure SQL Database so sys.dm_exec_requests is
    // always limited to the current connection" (sys.dm_exec_requests, Permissions): no other session's request.
    if (/FROM sys\.dm_exec_sessions s/.test(sql)) {
      if (this.restrictedTier && !this.tierAdmin()) return this.dmvDenied();
      return this.dmvAllowed()
        ? this.azure
          ? R.SESSIONS.map((r) => ({
              ...r,
              request_status: null,
              command: null,
              wait_type: null,
              wait_time_ms: null,
              wait_resource: null,
              blocking_session_id: null,
              request_elapsed_ms: null,
              query_hash: null,
              statement_text: null,
            }))
          : R.SESSIONS
        : [];
    }
    if (/FROM sys\.dm_exec_requests r\s+WHERE r\.blocking_session_id/.test(sql)) return this.dmvAllowed() && !this.azure ? R.BLOCKED : [];
    if (/FROM sys\.dm_(os|db)_wait_stats/.test(sql)) return dmv(R.WAITS);
    if (/FROM sys\.database_query_store_options/.test(sql)) return dmv([{ actual_state_desc: this.o.queryStore === false ? 'OFF' : 'READ_WRITE' }]);
    if (/FROM sys\.query_store_runtime_stats/.test(sql)) return dmv(R.QUERY_STORE_ROWS);
    if (/FROM sys\.dm_exec_query_stats/.test(sql)) return dmv(R.PLAN_CACHE_ROWS);
    if (/FROM sys\.dm_io_virtual_file_stats/.test(sql)) return dmv(meta(R.FILE_IO));
    if (/FROM sys\.dm_os_process_memory/.test(sql)) return this.azure ? E.invalidObject('sys.dm_os_process_memory') : dmv([R.MEMORY]);
    if (/FROM sys\.dm_os_memory_clerks/.test(sql)) return dmv(R.CLERKS);
    if (/FROM tempdb\.sys\.dm_db_file_space_usage/.test(sql)) return dmv([R.TEMPDB]);
    if (/FROM \[[^\]]+\]\.sys\.tables t/.test(sql)) return dmv(meta(R.TABLES));
    if (/FROM \[[^\]]+\]\.sys\.indexes i/.test(sql)) return dmv(meta(R.INDEXES));
    if (/FROM sys\.dm_db_missing_index_details/.test(sql)) return tierDmv(R.MISSING_INDEXES);
    if (/FROM sys\.server_principals p\s+LEFT JOIN sys\.sql_logins/.test(sql))
      return this.definitionVisible() ? R.PRINCIPALS : R.PRINCIPALS.filter((p) => p.name === id.login);
    if (/IsIntegratedSecurityOnly/.test(sql)) return [configurationsVisible ? R.SECURITY : { ...R.SECURITY, xp_cmdshell_enabled: null }];
    if (/sys\.database_role_members rm/.test(sql)) return meta(R.ROLE_MEMBERS);
    if (/FROM sys\.availability_groups ag/.test(sql)) return dmv(meta(R.AG_REPLICAS));
    if (/FROM sys\.dm_hadr_database_replica_states/.test(sql)) return dmv(meta(R.AG_DATABASES));
    if (/msdb\.dbo\.log_shipping_monitor_primary/.test(sql)) {
      return id.msdbLogShipping || this.hasServer('CONTROL SERVER') === 1 ? R.LOG_SHIPPING : E.deniedObject('log_shipping_monitor_primary', 'msdb', 'dbo');
    }
    throw new Error(`fake SQL Server: no answer for\n${sql}`);
  }

  /** The ConnectDriver the session is handed instead of the real mssql pool. */
  readonly connect: ConnectDriver = async (config) => {
    this.configs.push(config);
    const pool: DriverPool = {
      request: () => ({
        query: async <Row>(command: string): Promise<DriverResult<Row>> => {
          this.sent.push(command);
          const a = this.answer(command);
          if (a instanceof Error) throw a;
          return result(a as object[]) as unknown as DriverResult<Row>;
        },
      }),
      close: async () => {
        this.closed++;
      },
    };
    return pool;
  };
}

/** A connect function that fails the way the driver does (login failed, refused, TLS…). */
export const failingConnect =
  (err: Error): ConnectDriver =>
  async () => {
    throw err;
  };
