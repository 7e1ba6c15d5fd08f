/**
 * The agent API: the one definition of every call the renderer, the CLI and the
 * tests make, with runtime schemas for parameters and results. The handler table
 * (handlers.ts) implements it; transports (Electron IPC, tests) only carry
 * messages. This module is pure (no Node APIs) so the renderer can import it.
 */
import { z } from 'zod';

/* What the window needs of the agent's own vocabulary comes through here, so the renderer imports nothing else. */
export { checkEngineFields, ENGINES, type Engine } from '../collectors/target.js';
export { CLOUD_PROVIDERS, CloudBindingSchema, type CloudProviderId, SERVICES_BY_ENGINE, SERVICES_BY_PROVIDER } from '../collectors/cloud/binding.js';
import { CHECKLIST_STATUSES, CONNECT_FAILURE_KINDS } from '../collectors/core/engine.js';
import { CLOUD_PROVIDERS } from '../collectors/cloud/binding.js';
import { checkEngineFields, ENGINES, TargetShape } from '../collectors/target.js';
import { PayloadV1Schema } from '../collectors/core/payload.js';
import { CategorySchema } from '../collectors/core/category.js';
import { FamilySchema } from '../collectors/core/signal.js';
import { ActionSchema, EffectivePolicySchema, PolicySchema } from '../collectors/core/policy.js';
import { DestinationSchema, ProxySchema } from './destination.js';
import { DeliveryStatusSchema } from './delivery-status.js';
import { CredentialAgeSchema } from './credential-age.js';

const Id = z.object({ id: z.string().min(1).max(63) }).strict();
const Empty = z.object({}).strict();

/** A target as the UI sees it: everything but secret material. */
export const TargetViewSchema = z
  .object({
    id: z.string(),
    engine: z.enum(ENGINES),
    name: z.string(),
    host: z.string(),
    port: z.number().int(),
    user: z.string(),
    database: z.string().optional(),
    service: z.string().optional(),
    intervalSeconds: z.number().int(),
    password: z.enum(['none', 'env', 'vault']),
    /** The target's own policy overrides ({} when it follows the workspace default). */
    policy: PolicySchema,
    /** The cloud binding with its secret reduced to where it comes from. */
    cloud: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type TargetView = z.infer<typeof TargetViewSchema>;

/** What a caller may set on a target; passwords go through targets.setPassword only, policy changes through policy.set. */
const TargetInputShape = TargetShape.omit({ password: true, passwordSetAt: true }).extend({
  password: z
    .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) })
    .strict()
    .optional(),
});
/** A cloud secret from the UI is an environment variable name; a value goes through targets.setCloudSecret, which seals it. */
function cloudSecretIsEnv(t: { cloud?: { secret?: object | undefined; secretSetAt?: string | undefined } | undefined }, ctx: z.RefinementCtx): void {
  if (t.cloud?.secret !== undefined && !('env' in t.cloud.secret)) {
    ctx.addIssue({ code: 'custom', path: ['cloud', 'secret'], message: 'must be {"env": NAME}; set a value with targets.setCloudSecret' });
  }
  if (t.cloud?.secretSetAt !== undefined) ctx.addIssue({ code: 'custom', path: ['cloud', 'secretSetAt'], message: 'is set by the agent' });
}
export const TargetInputSchema = TargetInputShape.superRefine((t, ctx) => {
  checkEngineFields(t, ctx);
  cloudSecretIsEnv(t, ctx);
});

/**
 * A target that is not stored yet (the setup wizard's draft): its settings, and the
 * secrets typed for it, which the agent holds in memory for this one call only
 * (never sealed, written or logged). A draft never ships, never advances the
 * target's state between cycles and never reaches the live feed.
 */
export const DraftSchema = z
  .object({
    target: TargetInputSchema,
    password: z.string().min(1).max(4096).optional(),
    cloudSecret: z.string().min(1).max(16_384).optional(),
  })
  .strict();
export type Draft = z.infer<typeof DraftSchema>;

export const ConnectionVerdictSchema = z
  .object({
    verdict: z.enum(['ok', ...CONNECT_FAILURE_KINDS, 'config']),
    detail: z.string(),
    serverVersion: z.string().optional(),
  })
  .strict();

export const ChecklistItemSchema = z
  .object({
    grant: z.string(),
    status: z.enum(CHECKLIST_STATUSES),
    signals: z.array(z.string()),
    detail: z.string(),
    fix: z.string().optional(),
    /** Not expected of a least-privilege setup (superuser-only view, opt-in, not applicable): never counts as missing. */
    optional: z.literal(true).optional(),
  })
  .strict();

export const PermissionReportSchema = z
  .object({
    identity: z.object({ user: z.string(), isAdministrator: z.boolean(), reasons: z.array(z.string()), serverVersion: z.string() }).strict(),
    items: z.array(ChecklistItemSchema),
    script: z.string(),
    /** The cloud binding's identity and checks; its script is for the cloud administrator. */
    cloud: z
      .object({
        provider: z.enum(CLOUD_PROVIDERS),
        region: z.string(),
        identity: z
          .object({ principal: z.string(), readOnly: z.enum(['yes', 'no', 'unknown']), reasons: z.array(z.string()) })
          .strict()
          .optional(),
        items: z.array(ChecklistItemSchema),
        script: z.string(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The destination as the UI sees it: secrets reduced to where they come from. */
export const DestinationViewSchema = z
  .object({
    url: z.string(),
    apiKey: z.enum(['env', 'vault']),
    caFile: z.string().optional(),
    pin: z.string().optional(),
    proxy: z
      .object({ url: z.string(), username: z.string().optional(), password: z.enum(['none', 'env', 'vault']) })
      .strict()
      .optional(),
    allowPrivateAddress: z.boolean(),
    maxBatchesPerSecond: z.number(),
    maxBytesPerSecond: z.number(),
  })
  .strict();
export type DestinationView = z.infer<typeof DestinationViewSchema>;

/** A secret from the UI: an environment variable name, or the value itself, which the agent seals at once. */
const SecretInputSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }).strict(),
  z.object({ value: z.string().min(1).max(4096) }).strict(),
]);

/** The destination settings (config/destination.ts) with secrets as SecretInput; an omitted apiKey keeps the stored one. */
export const DestinationInputSchema = DestinationSchema.extend({
  apiKey: SecretInputSchema.optional(),
  proxy: z
    .object({
      url: ProxySchema.shape.url,
      username: z.string().min(1).max(256).optional(),
      /** Omitted: keep the stored one (same proxy host only); null: no password. */
      password: SecretInputSchema.nullable().optional(),
    })
    .strict()
    .optional(),
});

/** The verdict of a test send to the destination (destination.testSend). */
export const TestSendResultSchema = z
  .object({
    verdict: z.enum(['acknowledged', 'dns', 'refused', 'tls', 'authentication', 'http', 'timeout', 'egress', 'proxy', 'config', 'other']),
    /** The HTTP status, when the service answered. */
    status: z.number().int().optional(),
    detail: z.string(),
    at: z.string(),
  })
  .strict();

export const SettingsSchema = z
  .object({
    paused: z.boolean(),
    destination: DestinationViewSchema.nullable(),
    /** Set when a test send of exactly this destination configuration was acknowledged by the service (since the agent started). */
    verified: z.object({ at: z.string() }).strict().optional(),
    /** The workspace default policy: per-category overrides of the built-in defaults. */
    policy: PolicySchema,
  })
  .strict();
export const SettingsUpdateSchema = z
  .object({
    paused: z.boolean().optional(),
    /** null: no destination (the spool is the sink). */
    destination: DestinationInputSchema.nullable().optional(),
    policy: PolicySchema.optional(),
  })
  .strict();

/** One field of one signal: its category and what the policy does with it. */
export const AnnotationSchema = z.object({ signalId: z.string(), field: z.string(), category: CategorySchema.nullable(), action: ActionSchema }).strict();

/**
 * A cycle as the operator sees it: `payload` is exactly what is shipped (the same
 * object, serialised the same way), `annotations` say for each field its category
 * and the action applied, `policy` is the effective policy of that cycle.
 */
/** Each family's period for the target (collectors/core/schedule.ts describeSchedule): the window shows it beside the signals. */
export const FamilyPeriodSchema = z.object({ family: FamilySchema, seconds: z.number().int().min(1), label: z.string(), overridden: z.boolean() }).strict();
export const PreviewSchema = z
  .object({
    payload: PayloadV1Schema,
    annotations: z.array(AnnotationSchema),
    policy: EffectivePolicySchema,
    schedule: z.array(FamilyPeriodSchema).optional(),
  })
  .strict();
export type Preview = z.infer<typeof PreviewSchema>;

/**
 * A target's policy: its own overrides (`target`), the workspace default's
 * overrides (`workspace`), what the target inherits without its own overrides
 * (`inherited`: built-in defaults + workspace) and the result (`effective`).
 */
export const PolicyViewSchema = z
  .object({ targetId: z.string(), target: PolicySchema, workspace: PolicySchema, inherited: EffectivePolicySchema, effective: EffectivePolicySchema })
  .strict();

export const StatusSchema = z
  .object({
    agent: z.object({ id: z.string(), version: z.string(), host: z.string() }).strict(),
    paused: z.boolean(),
    /** Null while no delivery pipeline runs in this process. */
    delivery: DeliveryStatusSchema.nullable(),
    targets: z.array(
      z
        .object({
          id: z.string(),
          engine: z.enum(ENGINES),
          state: z.enum(['never_collected', 'ok', 'limited', 'unreachable']),
          lastCollectedAt: z.string().optional(),
          unavailableSignals: z.number().int().optional(),
          /** The password's rotation clock ('unknown': no stored secret or no record of when it was set). */
          credentials: CredentialAgeSchema,
          /** The cloud binding secret's rotation clock; absent without a cloud binding. */
          cloudCredentials: CredentialAgeSchema.optional(),
        })
        .strict(),
    ),
    /** The destination API key's rotation clock; absent while no destination is set. */
    destinationApiKey: CredentialAgeSchema.optional(),
    /**
     * The agent's configuration (state file and home) checked for access by other
     * users: one finding per problem, empty when private. Absent from an agent that
     * does not check (the readiness page then says so).
     */
    configPermissions: z.array(z.object({ path: z.string(), problem: z.string() }).strict()).optional(),
  })
  .strict();

/** Every call: its parameters and its result. */
export const API = {
  'status.get': { params: Empty, result: StatusSchema },
  'targets.list': { params: Empty, result: z.array(TargetViewSchema) },
  'targets.get': { params: Id, result: TargetViewSchema },
  /** With `password` / `cloudSecret`: sealed and stored with the target in one write (nothing stored if sealing fails). */
  'targets.create': {
    params: z
      .object({ target: TargetInputSchema, password: z.string().min(1).max(4096).optional(), cloudSecret: z.string().min(1).max(16_384).optional() })
      .strict(),
    result: TargetViewSchema,
  },
  'targets.update': {
    params: z
      .object({
        id: z.string().min(1).max(63),
        patch: TargetInputShape.omit({ id: true, engine: true, policy: true })
          .partial()
          // null removes the cloud binding.
          .extend({ cloud: TargetShape.shape.cloud.unwrap().nullable().optional() })
          .superRefine((t, ctx) => cloudSecretIsEnv({ cloud: t.cloud ?? undefined }, ctx)),
      })
      .strict(),
    result: TargetViewSchema,
  },
  'targets.delete': { params: Id, result: z.object({ deleted: z.literal(true) }).strict() },
  'targets.setPassword': {
    params: z.object({ id: z.string().min(1).max(63), password: z.string().min(1).max(4096) }).strict(),
    result: z.object({ stored: z.literal(true) }).strict(),
  },
  /** Test-then-swap: the new password is stored only after a connection with it succeeds. */
  'targets.rotatePassword': {
    params: z.object({ id: z.string().min(1).max(63), password: z.string().min(1).max(4096) }).strict(),
    result: z.object({ stored: z.literal(true), setAt: z.string() }).strict(),
  },
  /** Seals the cloud binding's secret (AWS secret access key, Azure client secret, GCP key JSON) on this machine. */
  'targets.setCloudSecret': {
    params: z.object({ id: z.string().min(1).max(63), secret: z.string().min(1).max(16_384) }).strict(),
    result: z.object({ stored: z.literal(true) }).strict(),
  },
  'targets.test': { params: Id, result: ConnectionVerdictSchema },
  'targets.checkPermissions': { params: Id, result: PermissionReportSchema },
  'collect.now': { params: Id, result: PayloadV1Schema },
  'preview.get': { params: Id, result: PreviewSchema },
  /** The target's recent cycles (the agent's own bounded history, oldest first): the dashboard draws its charts from them on load. */
  'history.get': { params: Id, result: z.object({ payloads: z.array(PayloadV1Schema) }).strict() },
  /** The same calls on a target not stored yet (DraftSchema): nothing is stored, shipped or remembered. */
  'drafts.test': { params: DraftSchema, result: ConnectionVerdictSchema },
  'drafts.checkPermissions': { params: DraftSchema, result: PermissionReportSchema },
  'drafts.preview': { params: DraftSchema, result: PreviewSchema },
  /** The policy view a target with these own overrides would have (targetId is ''). */
  'drafts.policy': { params: z.object({ policy: PolicySchema }).strict(), result: PolicyViewSchema },
  'policy.get': { params: Id, result: PolicyViewSchema },
  'policy.set': { params: z.object({ id: z.string().min(1).max(63), policy: PolicySchema }).strict(), result: PolicyViewSchema },
  'feed.subscribe': { params: Empty, result: z.object({ subscription: z.string() }).strict() },
  'feed.unsubscribe': { params: z.object({ subscription: z.string().min(1).max(64) }).strict(), result: z.object({ unsubscribed: z.boolean() }).strict() },
  /**
   * The exact JSON of a recent feed entry's payload (the bytes the spool and the shipper have), for the connection
   * that owns the subscription; the agent keeps them for the newest entries only (FEED_BYTES_KEPT).
   */
  'feed.bytes': {
    params: z.object({ subscription: z.string().min(1).max(64), entry: z.number().int().min(0) }).strict(),
    result: z.object({ json: z.string() }).strict(),
  },
  'settings.get': { params: Empty, result: SettingsSchema },
  'settings.update': { params: SettingsUpdateSchema, result: SettingsSchema },
  /** Sends a test batch (docs/batch-v1.md, `test: true`) to the saved destination, the way delivery sends; nothing is spooled. */
  'destination.testSend': { params: Empty, result: TestSendResultSchema },
} as const;

export type Method = keyof typeof API;
export const METHODS = Object.keys(API) as Method[];
export type Params<M extends Method> = z.infer<(typeof API)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof API)[M]['result']>;

/** A request on any transport. `id` correlates the answer; the transport may add it. */
export const RequestSchema = z
  .object({
    id: z.union([z.string().max(64), z.number().int()]).optional(),
    method: z.string().max(64),
    params: z.unknown().optional(),
  })
  .strict();

export const ERROR_CODES = ['bad_request', 'unknown_method', 'not_found', 'conflict', 'unavailable', 'target_unreachable', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Response = { id?: string | number; ok: true; result: unknown } | { id?: string | number; ok: false; error: { code: ErrorCode; message: string } };

export { type FeedEntry, FeedEntrySchema, type FeedEvent, FeedEventSchema, type FeedField, FEED_BYTES_KEPT } from './feed.js';
