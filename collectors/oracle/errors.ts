import { TargetConnectError } from '../core/engine.js';
import { type Unavailable, unavailable } from '../core/signal.js';
import { ReadOnlyViolation } from './guard.js';
import { oneLine } from '../core/text.js';

/** The fields node-oracledb sets on its errors (DBError): `code` 'ORA-00942' / 'NJS-123', `errorNum` for ORA- only. */
interface OracleLikeError {
  code?: string;
  errorNum?: number;
  message?: string;
}

const asOracleError = (err: unknown): OracleLikeError => (typeof err === 'object' && err !== null ? (err as OracleLikeError) : {});

/** One line: Thin mode's "Help: <url>" line and per-attempt CONNECTION_ID dropped, the socket cause kept; capped. */
const brief = (msg: string | undefined): string =>
  oneLine(
    (msg ?? 'unknown error')
      .split('\n')
      .filter((l) => !l.startsWith('Help:'))
      .join(' ')
      .replace(/\s*\(CONNECTION_ID=[^)]*\)\.?/g, ''),
  );

const codeOf = (e: OracleLikeError): string =>
  e.code ?? (e.errorNum !== undefined ? `ORA-${String(e.errorNum).padStart(5, '0')}` : (/^([A-Z]{2,4}-\d{3,5}):/.exec(e.message ?? '')?.[1] ?? ''));

/**
 * Raised by the session when Oracle refuses an object (ORA-00942 / ORA-01031):
 * carries the exact GRANT for the objects the refused statement reads, because
 * Oracle's own message does not say which object (before 23ai) nor how to fix it.
 */
export class OraclePermissionError extends Error {
  constructor(
    readonly oraCode: string,
    readonly objects: readonly string[],
    readonly fix: string | undefined,
  ) {
    super(`${oraCode}: ${objects.length > 0 ? `no SELECT privilege on ${objects.join(', ')}` : 'insufficient privileges'}`);
    this.name = 'OraclePermissionError';
  }
}

/** Quotes an Oracle identifier only when it needs it (C##LOGSTAG_MONITOR stays bare). */
export function oracleIdent(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_$#]*$/.test(name) ? name.toUpperCase() : `"${name.replace(/"/g, '""')}"`;
}

/**
 * The grantable object behind a name used in a query: V$X and GV$X are public
 * synonyms of SYS.V_$X / SYS.GV_$X, and Oracle refuses grants on the synonyms
 * (ORA-02030), so the GRANT names the V_$ view.
 */
export function grantableObject(name: string): string {
  const n = name.toUpperCase();
  const m = /^(G?V)\$(\w+)$/.exec(n);
  return m ? `SYS.${m[1]}_$${m[2]}` : `SYS.${n}`;
}

/** In CDB$ROOT the grant goes to a common user in every container, or the PDBs' rows stay out of reach. */
export const grantSelect = (object: string, user: string, allContainers: boolean): string =>
  `GRANT SELECT ON ${grantableObject(object)} TO ${oracleIdent(user)}${allContainers ? ' CONTAINER=ALL' : ''};`;

/** Dictionary and dynamic performance objects a statement names (V$…, GV$…, DBA_…, CDB_…, AUDIT_UNIFIED_…). */
export function objectsIn(sql: string): string[] {
  const found = new Set<string>();
  // Names inside string literals are values (role names like 'PDB_DBA'), not objects read.
  const code = sql.replace(/'(?:[^']|'')*'/g, "''");
  for (const m of code.matchAll(/\b(G?V_?\$\w+|DBA_\w+|CDB_\w+|AUDIT_UNIFIED_\w+)\b/gi)) found.add(m[1]!.toUpperCase().replace(/^(G?V)_\$/, '$1$'));
  return [...found];
}

/** Oracle error → unavailable reason for one signal's read. */
export function mapOracleSignalError(err: unknown): Unavailable {
  if (err instanceof ReadOnlyViolation) return unavailable('error', err.message);
  if (err instanceof OraclePermissionError) return unavailable('permission', err.message, err.fix);
  const e = asOracleError(err);
  const code = codeOf(e);
  switch (code) {
    case 'ORA-00942':
    case 'ORA-01031':
      return unavailable('permission', brief(e.message));
    case 'ORA-00904':
      return unavailable('unsupported', `not available in this Oracle release: ${brief(e.message)}`);
    case 'NJS-123':
    case 'ORA-01013':
    case 'DPI-1067':
      return unavailable('timeout', 'cancelled by the call timeout (statementTimeoutMs)');
    case 'ORA-01456':
      return unavailable('error', 'the server refused a write in the read-only transaction');
    case 'ORA-01555':
      return unavailable('error', 'snapshot too old (undo retention shorter than the cycle); the next cycle retries');
  }
  if (/^NJS-(003|500|501|521)$/.test(code) || code === 'ORA-03113' || code === 'ORA-03114') {
    return unavailable('error', `connection lost: ${brief(e.message)}`);
  }
  return unavailable('error', brief(e.message));
}

const NNE =
  'the server requires Oracle native network encryption (sqlnet.ora SQLNET.ENCRYPTION_SERVER / CRYPTO_CHECKSUM_SERVER = REQUIRED), which node-oracledb Thin mode does not support; connect over TLS instead: a TCPS listener endpoint with tls.mode "require" or "verify-full"';
const OLD_VERIFIER =
  "this account's password has only the 10G verifier, which node-oracledb Thin mode cannot use; make sure sec_case_sensitive_logon is not FALSE and reset the password (ALTER USER … IDENTIFIED BY …) so the server stores an 11G/12C verifier";

/** Errors while opening a session → why the target as a whole is unusable (CLI exit code 3). */
export function mapOracleConnectError(err: unknown, where: string): TargetConnectError {
  const e = asOracleError(err);
  const code = codeOf(e);
  const msg = brief(e.message);
  switch (code) {
    case 'ORA-01017':
      return new TargetConnectError('authentication', `${where}: authentication failed (ORA-01017: invalid user name or password)`);
    case 'ORA-28000':
      return new TargetConnectError('authentication', `${where}: the account is locked (ORA-28000)`);
    case 'ORA-28001':
      return new TargetConnectError('authentication', `${where}: the password has expired (ORA-28001); set a new one`);
    case 'ORA-01045':
      return new TargetConnectError('authentication', `${where}: the user lacks CREATE SESSION (ORA-01045): GRANT CREATE SESSION TO <user>;`);
    case 'ORA-28009':
      return new TargetConnectError('authentication', `${where}: SYS can only connect AS SYSDBA (ORA-28009); use a dedicated monitoring user`);
    case 'NJS-116':
      return new TargetConnectError('authentication', `${where}: ${OLD_VERIFIER}`);
    case 'NJS-533':
    case 'ORA-12660':
      return new TargetConnectError('tls', `${where}: ${NNE}`);
    case 'NJS-138':
      return new TargetConnectError('unreachable', `${where}: this Oracle release is older than 12.1, which node-oracledb Thin mode cannot connect to`);
    case 'NJS-510':
      return new TargetConnectError('timeout', `${where}: no answer in time (${msg})`);
    case 'NJS-505':
    case 'NJS-506':
    case 'NJS-507':
    case 'NJS-508':
      return new TargetConnectError('tls', `${where}: TLS failed (${msg})`);
    case 'NJS-518':
    case 'ORA-12514':
      return new TargetConnectError('unreachable', `${where}: the listener does not know this service name (check "service")`);
    case 'ORA-01033':
    case 'ORA-01034':
    case 'ORA-01109':
      return new TargetConnectError('unreachable', `${where}: the database is not open (${msg})`);
  }
  // A connect string with a wrong protocol or a dead host surfaces as NJS-5xx with the socket cause.
  return new TargetConnectError('unreachable', `${where}: ${msg}`);
}
