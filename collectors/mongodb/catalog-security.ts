import { type AnySignalSpec, defineSignal } from '../core/signal.js';
import { databaseList, eachWithinBudget } from './catalog-schema.js';
import type { MongoSession } from './session.js';
import { bool, list, num, str, strings, sub } from './values.js';

type Doc = Record<string, unknown>;

/** getCmdLineOpts' parsed options (argv is never kept: it can hold secrets passed on the command line). */
const startupOptions = (s: MongoSession): Promise<Doc> => s.memo('getCmdLineOpts', async () => sub(await s.command('admin', { getCmdLineOpts: 1 }), 'parsed'));
const parameters = (s: MongoSession): Promise<Doc> => s.memo('getParameter', () => s.command('admin', { getParameter: '*' }));

const roleName = (r: unknown): string | null => {
  const role = str(sub(r)['role']);
  const db = str(sub(r)['db']);
  return role === null ? null : db === null ? role : `${role}@${db}`;
};
const roleNames = (raw: unknown): string[] =>
  list(raw)
    .map(roleName)
    .filter((n): n is string => n !== null);

interface UserRow {
  user: string;
  db: string;
  roles: string[];
  mechanisms: string[];
}
const users = defineSignal<MongoSession, UserRow>({
  id: 'mongodb.users',
  family: 'security_posture',
  description: 'Users of every database with their roles and authentication mechanisms (usersInfo; never credentials or custom data)',
  requires: ['viewUser'],
  shape: 'rows',
  read: async (s) => {
    const res = await s.command('admin', { usersInfo: { forAllDBs: true } });
    return list(res['users'])
      .map((u) => sub(u))
      .flatMap((u) => {
        const user = str(u['user']);
        const db = str(u['db']);
        return user === null || db === null ? [] : [{ user, db, roles: roleNames(u['roles']), mechanisms: strings(u['mechanisms']) }];
      })
      .sort((a, b) => a.db.localeCompare(b.db) || a.user.localeCompare(b.user));
  },
  fields: { user: 'identity_metadata', db: 'identity_metadata', roles: 'identity_metadata', mechanisms: 'config_posture' },
});

/** A privilege resource in the short form DBAs read: cluster, anyResource, db.collection, *.collection. */
function resourceText(r: unknown): string {
  const d = sub(r);
  if (d['cluster'] === true) return 'cluster';
  if (d['anyResource'] === true) return 'anyResource';
  const db = str(d['db']);
  const coll = str(d['collection']);
  if (db === null && coll === null) return Object.keys(d).join('+') || 'unknown';
  return `${db === '' || db === null ? '*' : db}.${coll === '' || coll === null ? '*' : coll}`;
}

interface RoleRow {
  role: string;
  db: string;
  roles: string[];
  privileges: Array<{ resource: string; actions: string[] }>;
}
const roles = defineSignal<MongoSession, RoleRow>({
  id: 'mongodb.roles',
  family: 'security_posture',
  description: 'Custom roles of every database with their privileges and inherited roles (rolesInfo; built-in roles are documented by MongoDB)',
  requires: ['listDatabases', 'viewRole'],
  shape: 'rows',
  read: async (s) => {
    // Custom roles live in admin and application databases (viewRole on every database does not reach local or config).
    const dbs = ['admin', ...(await databaseList(s)).map((d) => d.name).filter((n) => n !== 'admin' && n !== 'local' && n !== 'config')];
    return eachWithinBudget(s, dbs, 'databases', async (db) => {
      const res = await s.command(db, { rolesInfo: 1, showPrivileges: true, showBuiltinRoles: false });
      return list(res['roles'])
        .map((x) => sub(x))
        .flatMap((r): RoleRow[] => {
          const role = str(r['role']);
          if (role === null || r['isBuiltin'] === true) return [];
          const privileges = list(r['privileges']).map((p) => ({ resource: resourceText(sub(p)['resource']), actions: strings(sub(p)['actions']) }));
          return [{ role, db: str(r['db']) ?? db, roles: roleNames(r['roles']), privileges }];
        });
    });
  },
  fields: { role: 'identity_metadata', db: 'identity_metadata', roles: 'identity_metadata', privileges: 'identity_metadata' },
});

interface SecurityRow {
  authorization: string;
  transition_to_auth: boolean | null;
  cluster_auth_mode: string | null;
  key_file_configured: boolean;
  authentication_mechanisms: string[];
  tls_mode: string;
  tls_allow_invalid_certificates: boolean | null;
  tls_allow_invalid_hostnames: boolean | null;
  tls_disabled_protocols: string | null;
  bind_ip: string | null;
  bind_ip_all: boolean;
  port: number | null;
  javascript_enabled: boolean;
  redact_client_log_data: boolean | null;
  audit_log_destination: string | null;
  encryption_at_rest: boolean;
  localhost_auth_bypass: boolean | null;
  agent_connection_tls: boolean;
}

/**
 * Access control is on when security.authorization says so, or implicitly when
 * the members authenticate each other (keyFile, x509): mongod then enforces it.
 */
function authorization(security: Doc): string {
  const explicit = str(security['authorization']);
  if (explicit !== null) return explicit;
  if (str(security['keyFile']) !== null || ['x509', 'sendX509', 'sendKeyFile', 'keyFile'].includes(str(security['clusterAuthMode']) ?? '')) return 'enabled';
  return 'disabled';
}

const security = defineSignal<MongoSession, SecurityRow>({
  id: 'mongodb.security',
  family: 'security_posture',
  description:
    "Access control, TLS, bind addresses, authentication mechanisms, audit log and encryption at rest (getCmdLineOpts, getParameter), and TLS on the agent's own connection",
  requires: ['getCmdLineOpts', 'getParameter'],
  shape: 'object',
  read: async (s) => {
    const opts = await startupOptions(s);
    const params = await parameters(s);
    const sec = sub(opts, 'security');
    const net = sub(opts, 'net');
    const tls = { ...sub(net, 'ssl'), ...sub(net, 'tls') };
    return [
      {
        authorization: authorization(sec),
        transition_to_auth: bool(sec['transitionToAuth']),
        cluster_auth_mode: str(sec['clusterAuthMode']),
        key_file_configured: str(sec['keyFile']) !== null,
        authentication_mechanisms: strings(params['authenticationMechanisms']),
        // The runtime parameter wins: it can be raised with setParameter after startup.
        tls_mode: str(params['tlsMode']) ?? str(tls['mode']) ?? 'disabled',
        tls_allow_invalid_certificates: bool(tls['allowInvalidCertificates']),
        tls_allow_invalid_hostnames: bool(tls['allowInvalidHostnames']),
        tls_disabled_protocols: str(tls['disabledProtocols']),
        bind_ip: str(net['bindIp']),
        bind_ip_all: bool(net['bindIpAll']) ?? false,
        port: num(net['port']),
        javascript_enabled: bool(sec['javascriptEnabled']) ?? true,
        redact_client_log_data: bool(sec['redactClientLogData']),
        audit_log_destination: str(sub(opts, 'auditLog')['destination']),
        encryption_at_rest: bool(sec['enableEncryption']) ?? false,
        localhost_auth_bypass: bool(params['enableLocalhostAuthBypass']),
        agent_connection_tls: s.tlsInUse,
      },
    ];
  },
  fields: {
    authorization: 'config_posture',
    transition_to_auth: 'config_posture',
    cluster_auth_mode: 'config_posture',
    key_file_configured: 'config_posture',
    authentication_mechanisms: 'config_posture',
    tls_mode: 'config_posture',
    tls_allow_invalid_certificates: 'config_posture',
    tls_allow_invalid_hostnames: 'config_posture',
    tls_disabled_protocols: 'config_posture',
    bind_ip: 'config_posture',
    bind_ip_all: 'config_posture',
    port: 'config_posture',
    javascript_enabled: 'config_posture',
    redact_client_log_data: 'config_posture',
    audit_log_destination: 'config_posture',
    encryption_at_rest: 'config_posture',
    localhost_auth_bypass: 'config_posture',
    agent_connection_tls: 'config_posture',
  },
});

/** Startup options worth watching (dotted paths into getCmdLineOpts' parsed document). */
export const VETTED_OPTIONS = [
  'storage.engine',
  'storage.wiredTiger.engineConfig.cacheSizeGB',
  'storage.oplogMinRetentionHours',
  'storage.journal.commitIntervalMs',
  'replication.oplogSizeMB',
  'replication.enableMajorityReadConcern',
  'net.maxIncomingConnections',
  'net.compression.compressors',
  'operationProfiling.mode',
  'operationProfiling.slowOpThresholdMs',
  'operationProfiling.slowOpSampleRate',
  'sharding.clusterRole',
] as const;

/** Runtime parameters worth watching (getParameter names). */
export const VETTED_PARAMETERS = [
  'featureCompatibilityVersion',
  'logLevel',
  'cursorTimeoutMillis',
  'transactionLifetimeLimitSeconds',
  'maxTransactionLockRequestTimeoutMillis',
  'notablescan',
  'ttlMonitorEnabled',
  'diagnosticDataCollectionEnabled',
  'wiredTigerConcurrentReadTransactions',
  'wiredTigerConcurrentWriteTransactions',
  'storageEngineConcurrentReadTransactions',
  'storageEngineConcurrentWriteTransactions',
  'replWriterThreadCount',
  'internalQueryMaxBlockingSortMemoryUsageBytes',
] as const;

type ConfigValue = string | number | boolean | string[] | null;

/** Scalars and lists of strings only; featureCompatibilityVersion is a document with a version. */
function configValue(v: unknown): ConfigValue | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  const n = num(v);
  if (n !== null) return n;
  if (Array.isArray(v)) return strings(v);
  const version = str(sub(v)['version']);
  return version ?? null;
}

const atPath = (doc: Doc, path: string): unknown => {
  let cur: unknown = doc;
  for (const key of path.split('.')) cur = typeof cur === 'object' && cur !== null ? (cur as Doc)[key] : undefined;
  return cur;
};

interface ConfigRow {
  name: string;
  value: ConfigValue;
  source: 'startup' | 'runtime';
}
const config = defineSignal<MongoSession, ConfigRow>({
  id: 'mongodb.config',
  family: 'config',
  description: 'Vetted startup options (getCmdLineOpts) and runtime parameters (getParameter) that are set on this server',
  requires: ['getCmdLineOpts', 'getParameter'],
  shape: 'rows',
  read: async (s) => {
    const opts = await startupOptions(s);
    const params = await parameters(s);
    const rows: ConfigRow[] = [];
    for (const name of VETTED_OPTIONS) {
      const value = configValue(atPath(opts, name));
      if (value !== undefined) rows.push({ name, value, source: 'startup' });
    }
    for (const name of VETTED_PARAMETERS) {
      const value = configValue(params[name]);
      if (value !== undefined) rows.push({ name, value, source: 'runtime' });
    }
    return rows;
  },
  fields: { name: null, value: 'config_posture', source: null },
});

export const securitySignals: readonly AnySignalSpec<MongoSession>[] = [users, roles, security, config];
