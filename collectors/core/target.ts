import { z } from 'zod';
import { PolicySchema } from './policy.js';
import { SecretRefSchema } from './secret-ref.js';

/*
 * What every target has, whatever its engine. The engine folders own their
 * options (collectors/<engine>/target-options.ts) and the cloud folder its
 * binding; collectors/target.ts composes them into the schema targets are
 * validated with. The core imports none of them.
 */

export const ENGINES = ['postgres', 'mssql', 'mongodb', 'redis', 'oracle'] as const;
export const EngineSchema = z.enum(ENGINES);
export type Engine = z.infer<typeof EngineSchema>;

/** Engines that have a database name in their target (the auth database for MongoDB). */
export const ENGINES_WITH_DATABASE: readonly Engine[] = ['postgres', 'mssql', 'mongodb'];

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

export const EndpointSchema = z
  .object({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) })
  .strict();

/** The fields every target has, in the order a target file lists them. */
export const TARGET_BASE_FIELDS = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_" or "-" (max 63), starting with a letter or digit'),
  engine: EngineSchema,
  name: z.string().min(1).max(200).optional(),
  host: z.string().min(1).max(255),
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
  intervalSeconds: z.number().int().min(10).max(86_400).default(60),
  statementTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
  /** How long one statement may wait for a lock; 0 leaves lock waits bounded by statementTimeoutMs only. */
  lockTimeoutMs: z.number().int().min(0).max(600_000).default(1_000),
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Per-category overrides of the workspace's sensitive-metadata policy (docs/policy.md). */
  policy: PolicySchema.optional(),
};

export const TargetBaseShape = z.object(TARGET_BASE_FIELDS);
/** A target as the core sees it: what every engine's target has. */
export type TargetBase = z.infer<typeof TargetBaseShape>;

/** The rules every target follows, whatever its engine. */
export function checkBaseFields(t: { engine: Engine; database?: string | undefined; service?: string | undefined }, ctx: z.RefinementCtx): void {
  if (ENGINES_WITH_DATABASE.includes(t.engine) && t.database === undefined) {
    ctx.addIssue({ code: 'custom', path: ['database'], message: `is required for ${t.engine}` });
  }
  if (t.engine === 'oracle' && t.service === undefined) {
    ctx.addIssue({ code: 'custom', path: ['service'], message: 'is required for oracle' });
  }
}

/** The one-line explanation of the first problem in a zod error, path included. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid input';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}
