/**
 * A target as the agent validates it: the core's fields every target has, each
 * engine's own options (owned by its folder) and the cloud binding, composed in
 * one schema. Modules that need a whole target import it from here; the core
 * knows only TargetBase.
 */
import { z } from 'zod';
import { CloudBindingSchema, SERVICES_BY_ENGINE } from './cloud/binding.js';
import { addKnownFields, checkBaseFields, type Engine, TARGET_BASE_FIELDS } from './core/target.js';
import { checkMongoTarget, MongoOptionsSchema } from './mongodb/target-options.js';
import { MssqlOptionsSchema } from './mssql/target-options.js';
import { OracleOptionsSchema } from './oracle/target-options.js';
import { RedisOptionsSchema } from './redis/target-options.js';

export * from './core/target.js';
export { MongoOptionsSchema } from './mongodb/target-options.js';
export { type MssqlOptions, MssqlOptionsSchema } from './mssql/target-options.js';
export { OracleOptionsSchema } from './oracle/target-options.js';
export { type RedisOptions, RedisOptionsSchema } from './redis/target-options.js';

const {
  id,
  engine,
  name,
  host,
  port,
  user,
  database,
  service,
  password,
  passwordSetAt,
  rotationDays,
  tls,
  intervalSeconds,
  statementTimeoutMs,
  lockTimeoutMs,
  connectTimeoutMs,
  policy,
  schedule,
} = TARGET_BASE_FIELDS;

/** The plain shape; TargetSchema adds the per-engine rules. */
export const TargetShape = z
  .object({
    id,
    engine,
    name,
    host,
    port,
    user,
    database,
    service,
    password,
    passwordSetAt,
    rotationDays,
    tls,
    redis: RedisOptionsSchema.optional(),
    mongodb: MongoOptionsSchema.optional(),
    intervalSeconds,
    statementTimeoutMs,
    lockTimeoutMs,
    connectTimeoutMs,
    policy,
    schedule,
    oracle: OracleOptionsSchema.optional(),
    mssql: MssqlOptionsSchema.optional(),
    /** The managed-service resource this database is, and the read-only identity that reads its provider metrics. */
    cloud: CloudBindingSchema.optional(),
  })
  .strict();

/** Each engine's options block, and the engine it belongs to. */
const OPTION_OWNERS: ReadonlyArray<{ field: 'oracle' | 'mssql' | 'redis' | 'mongodb'; engine: Engine }> = [
  { field: 'oracle', engine: 'oracle' },
  { field: 'mssql', engine: 'mssql' },
  { field: 'redis', engine: 'redis' },
  { field: 'mongodb', engine: 'mongodb' },
];

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
  checkBaseFields(t, ctx);
  for (const { field, engine } of OPTION_OWNERS) {
    if (t.engine !== engine && t[field] !== undefined)
      ctx.addIssue({ code: 'custom', path: [field], message: `applies to ${engine} targets only, not ${t.engine}` });
  }
  if (t.engine === 'mongodb') checkMongoTarget(t, ctx);
  if (t.cloud !== undefined && !(SERVICES_BY_ENGINE[t.engine] ?? []).includes(t.cloud.service)) {
    ctx.addIssue({
      code: 'custom',
      path: ['cloud', 'service'],
      message: `"${t.cloud.service}" is not a managed service for ${t.engine} (choose ${(SERVICES_BY_ENGINE[t.engine] ?? []).join(', ')})`,
    });
  }
}

// "Did you mean" knows every field a target file can have, the engines' options included.
addKnownFields([
  ...Object.keys(TargetShape.shape),
  ...Object.keys(MssqlOptionsSchema.shape),
  ...Object.keys(MongoOptionsSchema.shape),
  ...Object.keys(OracleOptionsSchema.shape),
  'masterName',
  'sentinels',
  'sentinelAuth',
  'sentinelTls',
  'nodes',
]);

export const TargetSchema = TargetShape.superRefine(checkEngineFields);
export type Target = z.infer<typeof TargetSchema>;
export type TargetInput = z.input<typeof TargetSchema>;
