import { isIP } from 'node:net';
import { z } from 'zod';
import { PolicySchema } from './policy.js';
import { SecretRefSchema } from './secret-ref.js';
import { CloudBindingSchema, SERVICES_BY_ENGINE } from '../cloud/binding.js';
import { hostProblem } from './host.js';

export const ENGINES = ['postgres', 'mssql', 'mongodb', 'redis', 'oracle'] as const;
export const EngineSchema = z.enum(ENGINES);
export type Engine = z.infer<typeof EngineSchema>;

/** Engines that have a database name in their target (the auth database for MongoDB). */
const ENGINES_WITH_DATABASE: readonly Engine[] = ['postgres', 'mssql', 'mongodb'];

export { SecretRefSchema, type SecretRef } from './secret-ref.js';

export const TlsSchema = z
  .object({
    mode: z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('prefer'),
    caFile: z.string().min(1).optional(),
    serverName: z.string().min(1).optional(),
    /** Client certificate and its key (PEM files), for servers that authenticate clients by certificate. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together', path: ['keyFile'] });

/** A server address, validated before any network use (collectors/core/host.ts). */
const HostSchema = z.string().min(1).max(255).superRefine((h, ctx) => {
  const problem = hostProblem(h);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const EndpointSchema = z
  .object({ host: HostSchema, port: z.number().int().min(1).max(65535) })
  .strict();

/**
 * Oracle-only options. `diagnosticsPack` is the operator's statement that this
 * database is licensed for the Oracle Diagnostics Pack; without it the agent never
 * touches ASH/AWR views (their mere use requires the licence).
 */
export const OracleOptionsSchema = z.object({ diagnosticsPack: z.boolean().default(false) }).strict();

/**
 * SQL Server connection options with no PostgreSQL equivalent. Secrets never go
 * here: a SQL, NTLM or Entra password (or a service principal's client secret)
 * is the target's `password` reference.
 */
export const MssqlOptionsSchema = z
  .object({
    /** sql: SQL login · ntlm: Windows account (user "DOMAIN\\name" or `domain`) · entra-*: Microsoft Entra ID. */
    authentication: z.enum(['sql', 'ntlm', 'entra-password', 'entra-service-principal', 'entra-managed-identity', 'entra-default']).default('sql'),
    domain: z.string().min(1).max(255).optional(),
    /** Entra: application (client) id; for entra-managed-identity, a user-assigned identity's client id. */
    clientId: z.string().min(1).max(128).optional(),
    tenantId: z.string().min(1).max(128).optional(),
    /** ApplicationIntent=ReadOnly: lets the agent connect to readable AG secondaries; through a listener with read-only routing it lands on a secondary. */
    readOnlyIntent: z.boolean().default(true),
    /** TDS 8.0 strict encryption (SQL Server 2022+, Azure SQL): TLS before any TDS traffic, certificate always validated. */
    strictEncryption: z.boolean().default(false),
  })
  .strict();
export type MssqlOptions = z.infer<typeof MssqlOptionsSchema>;

/**
 * How a Redis/Valkey target is reached. `standalone` (the default) talks to
 * host:port. `sentinel`: host:port is a Sentinel (more in `sentinels`) and the
 * target is whichever server is the current master of `masterName`.
 * `cluster`: host:port is a cluster node (more seeds in `nodes`); the node's own
 * signals are read from host:port and the cluster's topology is reported.
 */
export const RedisOptionsSchema = z.discriminatedUnion(
  'mode',
  [
    z.object({ mode: z.literal('standalone') }).strict(),
    z
      .object({
        mode: z.literal('sentinel'),
        masterName: z.string().min(1).max(128),
        sentinels: z.array(EndpointSchema).max(16).optional(),
        /** `target`: authenticate to the Sentinels with the target's user and password; `none`: Sentinels need no password. */
        sentinelAuth: z.enum(['none', 'target']).default('none'),
        /** Use the target's TLS settings for the Sentinel connections too. */
        sentinelTls: z.boolean().default(false),
      })
      .strict(),
    z.object({ mode: z.literal('cluster'), nodes: z.array(EndpointSchema).max(64).optional() }).strict(),
  ],
  { error: 'must be "standalone", "sentinel" or "cluster"' },
);
export type RedisOptions = z.infer<typeof RedisOptionsSchema>;

/**
 * MongoDB-only connection options. The target's `database` is the authentication
 * database; `tls` carries the CA and verification mode as for every engine.
 */
export const MongoOptionsSchema = z
  .object({
    /** `host` is a DNS SRV name (mongodb+srv://host): the members and ports come from DNS, `port` is not used. */
    srv: z.boolean().default(false),
    /** Connect to the whole replica set through discovery; without it the agent talks to `host:port` only. */
    replicaSet: z.string().min(1).max(128).optional(),
    /** Pins the mechanism; by default the driver negotiates SCRAM-SHA-256 or SCRAM-SHA-1 with the server. */
    authMechanism: z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'MONGODB-X509']).optional(),
    /** PEM file holding the client certificate and its key (mutual TLS, MONGODB-X509). */
    tlsCertificateKeyFile: z.string().min(1).optional(),
    /** The operator's opt-in for current operations ($currentOp); command documents are always redacted. */
    currentOps: z.boolean().default(false),
  })
  .strict();

/** The plain shape; TargetSchema adds the per-engine rules. */
export const TargetShape = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_" or "-" (max 63), starting with a letter or digit'),
    engine: EngineSchema,
    name: z.string().min(1).max(200).optional(),
    host: HostSchema,
    port: z.number().int().min(1).max(65535),
    user: z.string().min(1).max(128),
    database: z.string().min(1).max(128).optional(),
    service: z.string().min(1).max(128).optional(),
    password: SecretRefSchema.optional(),
    /** When the password was last set (ISO time); the rotation clock starts here. */
    passwordSetAt: z.iso.datetime({ offset: true }).optional(),
    /** Rotation period of this target's password (default 90 days). */
    rotationDays: z.number().int().min(1).max(3650).optional(),
    tls: TlsSchema.optional(),
    redis: RedisOptionsSchema.optional(),
    mongodb: MongoOptionsSchema.optional(),
    intervalSeconds: z.number().int().min(10).max(86_400).default(60),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
    /** How long one statement may wait for a lock; 0 leaves lock waits bounded by statementTimeoutMs only. */
    lockTimeoutMs: z.number().int().min(0).max(600_000).default(1_000),
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Per-category overrides of the workspace's sensitive-metadata policy (policy.md). */
    policy: PolicySchema.optional(),
    oracle: OracleOptionsSchema.optional(),
    mssql: MssqlOptionsSchema.optional(),
    /** The managed-service resource this database is, and the read-only identity that reads its provider metrics. */
    cloud: CloudBindingSchema.optional(),
  })
  .strict();

/** Per-engine required fields, shared by every schema built on TargetShape. */
export function checkEngineFields(
  t: {
    engine: Engine;
    host?: string | undefined;
    database?: string | undefined;
    service?: string | undefined;
    password?: unknown;
    tls?: { mode?: string | undefined } | undefined;
    oracle?: unknown;
    mssql?: unknown;
    redis?: unknown;
    mongodb?: z.infer<typeof MongoOptionsSchema> | undefined;
    cloud?: { provider: string; service: string } | undefined;
  },
  ctx: z.RefinementCtx,
): void {
    if (ENGINES_WITH_DATABASE.includes(t.engine) && t.database === undefined) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: `is required for ${t.engine}` });
    }
    if (t.engine === 'oracle' && t.service === undefined) {
      ctx.addIssue({ code: 'custom', path: ['service'], message: 'is required for oracle' });
    }
    if (t.engine !== 'oracle' && t.oracle !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['oracle'], message: `applies to oracle targets only, not ${t.engine}` });
    }
    if (t.engine !== 'mssql' && t.mssql !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['mssql'], message: 'applies only to engine mssql' });
    }
    if (t.engine !== 'redis' && t.redis !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'is only for engine redis' });
    }
    if (t.engine === 'mongodb' && t.tls?.mode === 'prefer') {
      ctx.addIssue({ code: 'custom', path: ['tls', 'mode'], message: 'MongoDB has no opportunistic TLS ("prefer"): choose disable, require, verify-ca or verify-full' });
    }
    if (t.mongodb !== undefined) checkMongoOptions(t, t.mongodb, ctx);
    if (t.cloud !== undefined && !(SERVICES_BY_ENGINE[t.engine] ?? []).includes(t.cloud.service)) {
      ctx.addIssue({ code: 'custom', path: ['cloud', 'service'], message: `"${t.cloud.service}" is not a managed service for ${t.engine} (choose ${(SERVICES_BY_ENGINE[t.engine] ?? []).join(', ')})` });
    }
}

function checkMongoOptions(
  t: { engine: Engine; host?: string | undefined; database?: string | undefined; password?: unknown; tls?: { mode?: string | undefined } | undefined },
  m: z.infer<typeof MongoOptionsSchema>,
  ctx: z.RefinementCtx,
): void {
  if (t.engine !== 'mongodb') {
    ctx.addIssue({ code: 'custom', path: ['mongodb'], message: 'only applies to engine "mongodb"' });
    return;
  }
  // mongodb+srv:// looks the members up under _mongodb._tcp.<host>: an IP address has no SRV records.
  if (m.srv && t.host !== undefined && isIP(t.host) !== 0) {
    ctx.addIssue({ code: 'custom', path: ['host'], message: 'must be a DNS name with mongodb.srv (an IP address has no SRV records)' });
  }
  if (m.authMechanism === 'MONGODB-X509') {
    // X.509 users live in $external and prove themselves with the client certificate, never a password.
    if (m.tlsCertificateKeyFile === undefined) ctx.addIssue({ code: 'custom', path: ['mongodb', 'tlsCertificateKeyFile'], message: 'is required for MONGODB-X509' });
    if (t.database !== undefined && t.database !== '$external') ctx.addIssue({ code: 'custom', path: ['database'], message: 'must be "$external" for MONGODB-X509' });
    if (t.password !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'is not used with MONGODB-X509 (the client certificate authenticates)' });
  }
  // mongodb+srv turns TLS on by default; otherwise a client certificate needs TLS asked for explicitly.
  if (m.tlsCertificateKeyFile !== undefined && ((t.tls === undefined && !m.srv) || t.tls?.mode === 'disable')) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'mode'], message: 'must enable TLS (require, verify-ca or verify-full) to present mongodb.tlsCertificateKeyFile' });
  }
}

export const TargetSchema = TargetShape.superRefine(checkEngineFields);
export type Target = z.infer<typeof TargetSchema>;
export type TargetInput = z.input<typeof TargetSchema>;

/** Field names of the agent's files, for "did you mean" (run-config and destination add theirs). */
const KNOWN_FIELDS = new Set<string>([
  ...Object.keys(TargetShape.shape),
  ...Object.keys(MssqlOptionsSchema.shape),
  ...Object.keys(MongoOptionsSchema.shape),
  ...Object.keys(OracleOptionsSchema.shape),
  'mode', 'caFile', 'serverName', 'certFile', 'keyFile', 'env', 'secret', 'masterName', 'sentinels', 'sentinelAuth', 'sentinelTls', 'nodes',
]);

export function addKnownFields(names: Iterable<string>): void {
  for (const n of names) KNOWN_FIELDS.add(n);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The known field closest to `key` (case-insensitive, at most 2 edits, fewer for short names), if any. */
export function didYouMean(key: string): string | undefined {
  if (key.length > 64) return undefined;
  let best: { name: string; d: number } | undefined;
  for (const name of KNOWN_FIELDS) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d <= Math.min(2, Math.floor(name.length / 3)) && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** The one-line explanation of the first problem in a zod error, path included. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid input';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') {
    const hints = issue.keys.flatMap((k) => {
      const near = didYouMean(k);
      return near === undefined || near === k ? [] : [`"${k}": did you mean "${near}"?`];
    });
    return `${path}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`;
  }
  return `${path}: ${issue.message}`;
}
