import { z } from 'zod';
import { PolicySchema } from './policy.js';

export const ENGINES = ['postgres', 'mssql', 'mongodb', 'redis', 'oracle'] as const;
export const EngineSchema = z.enum(ENGINES);
export type Engine = z.infer<typeof EngineSchema>;

/** Engines that have a database name in their target (the auth database for MongoDB). */
const ENGINES_WITH_DATABASE: readonly Engine[] = ['postgres', 'mssql', 'mongodb'];

/**
 * Where a password comes from. A plaintext password is never accepted: either an
 * environment variable name or a machine-bound blob from `secret encrypt`.
 */
export const SecretRefSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
  z.object({ secret: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRefSchema>;

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

const EndpointSchema = z
  .object({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) })
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

/** The plain shape; TargetSchema adds the per-engine rules. */
export const TargetShape = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_" or "-" (max 63), starting with a letter or digit'),
    engine: EngineSchema,
    name: z.string().min(1).max(200).optional(),
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535),
    user: z.string().min(1).max(128),
    database: z.string().min(1).max(128).optional(),
    service: z.string().min(1).max(128).optional(),
    password: SecretRefSchema.optional(),
    tls: TlsSchema.optional(),
    redis: RedisOptionsSchema.optional(),
    intervalSeconds: z.number().int().min(10).max(86_400).default(60),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
    /** How long one statement may wait for a lock; 0 leaves lock waits bounded by statementTimeoutMs only. */
    lockTimeoutMs: z.number().int().min(0).max(600_000).default(1_000),
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Per-category overrides of the workspace's sensitive-metadata policy (policy.md). */
    policy: PolicySchema.optional(),
    oracle: OracleOptionsSchema.optional(),
    mssql: MssqlOptionsSchema.optional(),
  })
  .strict();

/** Per-engine required fields, shared by every schema built on TargetShape. */
export function checkEngineFields(
  t: { engine: Engine; database?: string | undefined; service?: string | undefined; oracle?: unknown; mssql?: unknown; redis?: unknown },
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
}

export const TargetSchema = TargetShape.superRefine(checkEngineFields);
export type Target = z.infer<typeof TargetSchema>;
export type TargetInput = z.input<typeof TargetSchema>;

/** The one-line explanation of the first problem in a zod error, path included. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid input';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}
