import { z } from 'zod';
import { PolicySchema } from './policy.js';
import { SecretRefSchema } from './secret-ref.js';
import { hostProblem } from './host.js';
import { SCHEDULE_KEYS, ScheduleSchema } from './schedule.js';

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

/** A server address, validated before any network use (collectors/core/host.ts). */
export const HostSchema = z
  .string()
  .min(1)
  .max(255)
  .superRefine((h, ctx) => {
    const problem = hostProblem(h);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const EndpointSchema = z.object({ host: HostSchema, port: z.number().int().min(1).max(65535) }).strict();

/** The fields every target has, in the order a target file lists them. */
export const TARGET_BASE_FIELDS = {
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
  intervalSeconds: z.number().int().min(10).max(86_400).default(60),
  statementTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
  /** How long one statement may wait for a lock; 0 leaves lock waits bounded by statementTimeoutMs only. */
  lockTimeoutMs: z.number().int().min(0).max(600_000).default(1_000),
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Per-category overrides of the workspace's sensitive-metadata policy (docs/policy.md). */
  policy: PolicySchema.optional(),
  /** Per-family periods overriding the defaults (collectors/core/schedule.ts, docs/payload-v2.md). */
  schedule: ScheduleSchema.optional(),
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

/** Field names of the agent's files, for "did you mean" (the engines' options, run-config and destination add theirs). */
const KNOWN_FIELDS = new Set<string>([
  ...Object.keys(TARGET_BASE_FIELDS),
  'mode',
  'caFile',
  'serverName',
  'certFile',
  'keyFile',
  'env',
  'secret',
  ...SCHEDULE_KEYS,
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
