import { z } from 'zod';
import { EngineSchema } from './target.js';
import { FamilySchema, UnavailableReasonSchema } from './signal.js';
import type { SignalOutcome } from './runner.js';
import type { AnySignalSpec } from './signal.js';

/** The payload wire format. Documented in docs/payload-v1.md; change both together. */
export const PAYLOAD_SCHEMA = 'logstag.payload/v1' as const;

const OkSignalSchema = z
  .object({
    id: z.string().min(1),
    family: FamilySchema,
    status: z.literal('ok'),
    value: z.json(),
    /** Fields the policy redacted or excluded (absent when every field was collected as read). */
    policy: z.record(z.string().min(1), z.enum(['redact', 'exclude'])).optional(),
  })
  .strict();

const UnavailableSignalSchema = z
  .object({
    id: z.string().min(1),
    family: FamilySchema,
    status: z.literal('unavailable'),
    reason: UnavailableReasonSchema,
    detail: z.string().min(1),
    fix: z.string().min(1).optional(),
  })
  .strict();

type JsonValue = z.infer<ReturnType<typeof z.json>>;

export const PayloadSignalSchema = z.discriminatedUnion('status', [OkSignalSchema, UnavailableSignalSchema]);

/** Which agent sent a payload: its installation id, version and host name. */
export const AgentIdentitySchema = z.object({ id: z.string().min(1), version: z.string().min(1), host: z.string().min(1) }).strict();
export type AgentIdentity = z.infer<typeof AgentIdentitySchema>;

export const PayloadV1Schema = z
  .object({
    schema: z.literal(PAYLOAD_SCHEMA),
    agent: AgentIdentitySchema,
    target: z.object({ id: z.string().min(1), engine: EngineSchema, name: z.string().min(1) }).strict(),
    collectedAt: z.iso.datetime({ offset: true }),
    signals: z.array(PayloadSignalSchema),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.signals.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['signals', i, 'id'], message: `duplicate signal id ${s.id}` });
      seen.add(s.id);
    });
  });

export type PayloadV1 = z.infer<typeof PayloadV1Schema>;
export type PayloadSignal = z.infer<typeof PayloadSignalSchema>;

export interface PayloadContext {
  agent: AgentIdentity;
  target: PayloadV1['target'];
  collectedAt: Date;
}

/**
 * Applies the policy to one ok signal's value (redact/apply.ts applyPolicy). A
 * parameter rather than an import so this module stays free of Node APIs: the
 * renderer imports the schema.
 */
export type ValueShaper = (spec: AnySignalSpec<unknown>, value: unknown) => { value: unknown; policy?: Record<string, 'redact' | 'exclude'> };

/**
 * The final payload of a cycle, built once: the policy applied to every ok
 * signal, then validated. The shipper, the CLI and the preview all serialise
 * this one object with serializePayload, so what is previewed is what leaves.
 */
export function buildPayload(ctx: PayloadContext, outcomes: readonly SignalOutcome[], shape: ValueShaper): PayloadV1 {
  const payload: PayloadV1 = {
    schema: PAYLOAD_SCHEMA,
    agent: ctx.agent,
    target: ctx.target,
    collectedAt: ctx.collectedAt.toISOString(),
    signals: outcomes.map(({ spec, result }): PayloadSignal => {
      if (result.status === 'ok') {
        const shaped = shape(spec, result.value);
        return { id: spec.id, family: spec.family, status: 'ok', value: shaped.value as JsonValue, ...(shaped.policy ? { policy: shaped.policy } : {}) };
      }
      return {
        id: spec.id,
        family: spec.family,
        status: 'unavailable',
        reason: result.reason,
        detail: result.detail,
        ...(result.fix === undefined ? {} : { fix: result.fix }),
      };
    }),
  };
  // Validate what we built: a payload that does not match v1 never leaves the agent.
  return PayloadV1Schema.parse(payload);
}

/** The bytes that leave the machine for a payload: the outbox, the CLI's --json and the preview comparison use this one function. */
export function serializePayload(payload: PayloadV1): string {
  return JSON.stringify(payload);
}
