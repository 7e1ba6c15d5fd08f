import { readBoundedFileSync } from '../core/bounded-read.js';
import { ConfigError } from '../core/engine.js';
import { type MssqlOptions, MssqlOptionsSchema, type Target } from '../target.js';
import { type DriverConfig, READ_UNCOMMITTED } from './driver.js';

export const mssqlOptions = (target: Target): MssqlOptions => target.mssql ?? MssqlOptionsSchema.parse({});

/** How the agent's own connection is protected; drives the visible TLS warning in the checklist. */
export interface TlsPosture {
  /** 'login-only': tedious encrypts the login packet only, unless the server forces encryption. */
  encryption: 'strict' | 'full' | 'login-only';
  certificateValidated: boolean;
}

export function tlsPosture(target: Target): TlsPosture {
  const mode = target.tls?.mode;
  if (mssqlOptions(target).strictEncryption) return { encryption: 'strict', certificateValidated: true };
  if (mode === 'disable') return { encryption: 'login-only', certificateValidated: false };
  if (mode === 'prefer' || mode === 'require') return { encryption: 'full', certificateValidated: false };
  return { encryption: 'full', certificateValidated: true };
}

function tlsOptions(
  target: Target,
): Pick<NonNullable<DriverConfig['options']>, 'encrypt' | 'trustServerCertificate' | 'cryptoCredentialsDetails' | 'serverName'> {
  const tls = target.tls;
  const strict = mssqlOptions(target).strictEncryption;
  if (tls?.mode === 'verify-ca') {
    // tedious always checks the host name when it validates a certificate; it has no CA-only mode.
    throw new ConfigError('tls.mode verify-ca is not available for SQL Server: use verify-full (with tls.serverName when the certificate names another host)');
  }
  if (strict && tls !== undefined && tls.mode !== 'verify-full') {
    throw new ConfigError(`mssql.strictEncryption always validates the server certificate: use tls.mode verify-full (not ${tls.mode})`);
  }
  // No tls block: encrypt and validate against the system CAs, as tedious does by default.
  if (tls === undefined) return { encrypt: strict ? 'strict' : true, trustServerCertificate: false };
  if (tls.mode === 'disable') return { encrypt: false, trustServerCertificate: false };
  if (tls.mode === 'prefer' || tls.mode === 'require') return { encrypt: true, trustServerCertificate: true };
  let ca: string | undefined;
  if (tls.caFile !== undefined) {
    ca = readBoundedFileSync(tls.caFile, { what: 'tls.caFile' }).toString('utf8');
  }
  return {
    encrypt: strict ? 'strict' : true,
    trustServerCertificate: false,
    ...(ca === undefined ? {} : { cryptoCredentialsDetails: { ca } }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
  };
}

function authentication(target: Target, password: string | undefined): Pick<DriverConfig, 'user' | 'password' | 'authentication'> {
  const o = mssqlOptions(target);
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined) throw new ConfigError(`mssql.authentication ${o.authentication} needs ${what}`);
    return value;
  };
  switch (o.authentication) {
    case 'sql':
      return { user: target.user, password: need(password, 'a password') };
    case 'ntlm': {
      // "DOMAIN\name" in user, or user + mssql.domain.
      const [domain, userName] =
        o.domain !== undefined ? [o.domain, target.user] : target.user.includes('\\') ? target.user.split('\\', 2) : [undefined, target.user];
      return {
        authentication: {
          type: 'ntlm',
          options: { userName: userName!, password: need(password, 'a password'), domain: need(domain, 'a domain (user "DOMAIN\\\\name" or mssql.domain)') },
        },
      };
    }
    case 'entra-password':
      return {
        authentication: {
          type: 'azure-active-directory-password',
          options: {
            userName: target.user,
            password: need(password, 'a password'),
            clientId: need(o.clientId, 'mssql.clientId'),
            tenantId: o.tenantId ?? 'common',
          },
        },
      };
    case 'entra-service-principal':
      return {
        authentication: {
          type: 'azure-active-directory-service-principal-secret',
          options: {
            clientId: o.clientId ?? target.user,
            clientSecret: need(password, 'the client secret as password'),
            tenantId: need(o.tenantId, 'mssql.tenantId'),
          },
        },
      };
    case 'entra-managed-identity':
      return { authentication: { type: 'azure-active-directory-msi-vm', options: o.clientId === undefined ? {} : { clientId: o.clientId } } };
    case 'entra-default':
      return { authentication: { type: 'azure-active-directory-default', options: o.clientId === undefined ? {} : { clientId: o.clientId } } };
  }
}

/**
 * The mssql/tedious configuration for one monitoring session. Read-only where the
 * driver can help: READ UNCOMMITTED for every statement (DMV reads take no shared
 * locks behind writers), ApplicationIntent=ReadOnly, bounded requests, and an
 * application name the DBA can see in sys.dm_exec_sessions.
 */
export function buildDriverConfig(target: Target, password: string | undefined, applicationName: string): DriverConfig {
  const o = mssqlOptions(target);
  if (target.database === undefined) throw new ConfigError('database is required for mssql');
  return {
    server: target.host,
    port: target.port,
    database: target.database,
    ...authentication(target, password),
    connectionTimeout: target.connectTimeoutMs,
    requestTimeout: target.statementTimeoutMs,
    // One connection per session, like a PostgreSQL client: session settings stay put.
    pool: { min: 0, max: 1, idleTimeoutMillis: 60_000 },
    options: {
      ...tlsOptions(target),
      appName: applicationName,
      readOnlyIntent: o.readOnlyIntent,
      // tedious sends this in the login batch, before any statement of ours.
      connectionIsolationLevel: READ_UNCOMMITTED,
      abortTransactionOnError: true,
      enableArithAbort: true,
    },
  };
}
