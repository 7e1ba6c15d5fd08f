import { z } from 'zod';
import { EngineSchema } from './target.js';
import { FAMILIES, FamilySchema, UnavailableReasonSchema } from './signal.js';
import type { SignalOutcome } from './runner.js';
import type { AnySignalSpec } from './signal.js';

/** The payload wire format the agent writes. Documented in docs/payload-v2.md (v1: docs/payload-v1.md, history); change both together. */
export const PAYLOAD_SCHEMA = 'logstag.payload/v2' as const;
/** The format before per-family schedules and deltas; still accepted when read back (old spool entries). */
export const PAYLOAD_SCHEMA_V1 = 'logstag.payload/v1' as const;

/** A content digest: sha256 over the canonical JSON of a signal's full (rebuilt) value. */
export const DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** The shipped payload a delta or `unchanged` value is relative to: the last one that carried this signal. */
export const BaseRefSchema = z.object({ sequence: z.number().int().min(1), collectedAt: z.iso.datetime({ offset: true }) }).strict();

export const VALUE_MODES = ['full', 'delta', 'unchanged'] as const;
/** Why a value is full although the signal can ship less (docs/payload-v2.md). */
export const FULL_REASONS = ['first', 'periodic', 'reset', 'changed', 'unkeyed'] as const;

type JsonValue = z.infer<ReturnType<typeof z.json>>;

/**
 * What `z.json()` accepts, checked in place: a string, a finite number, a boolean, null,
 * an array of such values without holes, or a plain object (zod's isPlainObject: an
 * Object or null prototype) of such values under string keys. Refused besides what
 * `z.json()` refuses: an own `__proto__` key (zod drops it from its copy, so the
 * original's JSON would carry what the copy did not) and nesting deeper than 256.
 * Nothing is copied or allocated:
 * the value that is checked is the value that ships.
 */
export function isJsonValue(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  // Deeper than any value a collector reads; also keeps the walk off the stack's end.
  if (depth > 256) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !isJsonValue(v[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(v)) return false;
  if (Object.hasOwn(v, '__proto__')) return false;
  for (const s of Object.getOwnPropertySymbols(v)) if (Object.prototype.propertyIsEnumerable.call(v, s)) return false;
  for (const k in v) {
    // Own keys only, like zod and JSON.stringify (an inherited enumerable key is neither checked nor shipped).
    if (Object.hasOwn(v, k) && !isJsonValue((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/** zod's isPlainObject (zod/v4/core util), so the check accepts exactly the objects `z.json()` accepts. */
function isPlainObject(o: object): boolean {
  const ctor = (o as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prot = (ctor as { prototype?: unknown }).prototype;
  if (typeof prot !== 'object' || prot === null || Array.isArray(prot)) return false;
  return Object.prototype.hasOwnProperty.call(prot, 'isPrototypeOf');
}

/** A JSON value, checked without copying (isJsonValue); typed like `z.json()`. */
const JsonInPlace = z.custom<JsonValue>((v) => isJsonValue(v), {
  message: 'not a JSON value (finite numbers, strings, booleans, null, arrays, plain objects)',
});

/**
 * The ok signal's schema around a value schema: `z.json()` when a payload is read back
 * (it copies every value), the in-place check when the agent checks what it built.
 */
const okSignalSchema = (value: z.ZodType<JsonValue>) =>
  z
    .object({
      id: z.string().min(1),
      family: FamilySchema,
      status: z.literal('ok'),
      /** v2: how `value` is to be read; absent in v1 (always full). */
      mode: z.enum(VALUE_MODES).optional(),
      /** v2, full values of delta/digest signals: why this value starts a new chain (first, periodic, reset…). */
      baseline: z.enum(FULL_REASONS).optional(),
      /** v2: the payload this delta/unchanged value applies to. */
      base: BaseRefSchema.optional(),
      /** v2: digest of the full value after this one is applied (delta/unchanged: required). */
      digest: DigestSchema.optional(),
      /** The value (absent when `unchanged`). */
      value: value.optional(),
      /** Fields the policy redacted or excluded (absent when every field was collected as read). */
      policy: z.record(z.string().min(1), z.enum(['redact', 'exclude'])).optional(),
    })
    .strict()
    .superRefine((s, ctx) => {
      const mode = s.mode ?? 'full';
      if (mode !== 'unchanged' && s.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `a ${mode} signal has a value` });
      if (mode === 'unchanged' && s.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'an unchanged signal has no value' });
      if (mode === 'full' && s.base !== undefined) ctx.addIssue({ code: 'custom', path: ['base'], message: 'a full value has no base' });
      if (mode !== 'full' && (s.base === undefined || s.digest === undefined))
        ctx.addIssue({ code: 'custom', path: ['base'], message: `a ${mode} value names its base and the digest of the result` });
      if (mode !== 'full' && s.baseline !== undefined) ctx.addIssue({ code: 'custom', path: ['baseline'], message: 'only a full value starts a baseline' });
    });

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

const payloadSignalSchema = (value: z.ZodType<JsonValue>) => z.discriminatedUnion('status', [okSignalSchema(value), UnavailableSignalSchema]);
export const PayloadSignalSchema = payloadSignalSchema(z.json());

/** Which agent sent a payload: its installation id, version and host name. */
export const AgentIdentitySchema = z.object({ id: z.string().min(1), version: z.string().min(1), host: z.string().min(1) }).strict();
export type AgentIdentity = z.infer<typeof AgentIdentitySchema>;

/**
 * A payload: v2 as the agent writes it, v1 as older agents (and old spool entries)
 * wrote it. v2 adds the per-target `sequence`, the `families` the payload covers
 * (a family not listed was not due: its absence says nothing about the server)
 * and each ok signal's `mode`.
 */
const payloadSchema = (value: z.ZodType<JsonValue>) =>
  z
    .object({
      schema: z.enum([PAYLOAD_SCHEMA, PAYLOAD_SCHEMA_V1]),
      agent: AgentIdentitySchema,
      target: z.object({ id: z.string().min(1), engine: EngineSchema, name: z.string().min(1) }).strict(),
      collectedAt: z.iso.datetime({ offset: true }),
      /** v2: this target's shipped-payload counter (1, 2, …); a delta names the sequence it applies to. */
      sequence: z.number().int().min(1).optional(),
      /** v2: the families this payload covers (those due this cycle), in catalog order. */
      families: z.array(FamilySchema).optional(),
      signals: z.array(payloadSignalSchema(value)),
    })
    .strict()
    .superRefine((p, ctx) => {
      const seen = new Set<string>();
      p.signals.forEach((s, i) => {
        if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['signals', i, 'id'], message: `duplicate signal id ${s.id}` });
        seen.add(s.id);
      });
      if (p.schema === PAYLOAD_SCHEMA_V1) {
        if (p.sequence !== undefined || p.families !== undefined || p.signals.some((s) => s.status === 'ok' && s.mode !== undefined))
          ctx.addIssue({ code: 'custom', path: ['schema'], message: 'sequence, families and mode are v2 fields' });
        return;
      }
      if (p.sequence === undefined) ctx.addIssue({ code: 'custom', path: ['sequence'], message: 'a v2 payload has a sequence' });
      if (p.families === undefined) {
        ctx.addIssue({ code: 'custom', path: ['families'], message: 'a v2 payload lists the families it covers' });
        return;
      }
      const families = new Set(p.families);
      if (families.size !== p.families.length) ctx.addIssue({ code: 'custom', path: ['families'], message: 'a family is listed once' });
      p.signals.forEach((s, i) => {
        if (!families.has(s.family)) ctx.addIssue({ code: 'custom', path: ['signals', i, 'family'], message: `family ${s.family} is not in families` });
        if (s.status === 'ok' && s.mode === undefined) ctx.addIssue({ code: 'custom', path: ['signals', i, 'mode'], message: 'a v2 ok signal has a mode' });
        if (s.status === 'ok' && s.base !== undefined && s.base.sequence >= (p.sequence ?? 0))
          ctx.addIssue({ code: 'custom', path: ['signals', i, 'base'], message: 'a base is an earlier payload' });
      });
    });
export const PayloadSchema = payloadSchema(z.json());
/**
 * The same schema with every value checked in place (isJsonValue) rather than copied by
 * `z.json()`: what buildPayload checks the payload it built with. Only the envelope and
 * each signal's few fields go through zod; a payload it refuses, PayloadSchema refuses.
 */
const PayloadInPlaceSchema = payloadSchema(JsonInPlace);

/**
 * Checks a payload against the v2/v1 schema without re-materialising it: on success the
 * very object given is the payload (its values are not copied); on failure it throws the
 * schema's ZodError.
 */
export function checkPayload(p: unknown): Payload {
  const r = PayloadInPlaceSchema.safeParse(p);
  if (!r.success) throw r.error;
  return p as Payload;
}
/** @deprecated the name from v1; the schema reads v1 and v2. */
export const PayloadV1Schema = PayloadSchema;

export type Payload = z.infer<typeof PayloadSchema>;
/** @deprecated the name from v1: a payload of either version. */
export type PayloadV1 = Payload;
export type PayloadSignal = z.infer<typeof PayloadSignalSchema>;
export type OkPayloadSignal = Extract<PayloadSignal, { status: 'ok' }>;

export interface PayloadContext {
  agent: AgentIdentity;
  target: PayloadV1['target'];
  collectedAt: Date;
  /** This target's payload counter (1 when the agent keeps no memory for it). */
  sequence?: number;
  /** The families due this cycle (all of them when not given). */
  families?: readonly (typeof FAMILIES)[number][];
  /**
   * Turns a full, policy-applied ok signal into what ships (full, delta or
   * unchanged: collectors/core/incremental.ts). Runs after the policy, so a
   * delta or digest is computed only over shipped values.
   */
  incremental?(signal: OkPayloadSignal, spec: AnySignalSpec<unknown>): OkPayloadSignal;
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
  const present = new Set([...(ctx.families ?? FAMILIES), ...outcomes.map((o) => o.spec.family)]);
  const payload: PayloadV1 = {
    schema: PAYLOAD_SCHEMA,
    agent: ctx.agent,
    target: ctx.target,
    collectedAt: ctx.collectedAt.toISOString(),
    sequence: ctx.sequence ?? 1,
    families: FAMILIES.filter((f) => present.has(f)),
    signals: outcomes.map(({ spec, result }): PayloadSignal => {
      if (result.status === 'ok') {
        const shaped = shape(spec, result.value);
        const full: OkPayloadSignal = {
          id: spec.id,
          family: spec.family,
          status: 'ok',
          mode: 'full',
          value: shaped.value as JsonValue,
          ...(shaped.policy ? { policy: shaped.policy } : {}),
        };
        return ctx.incremental === undefined ? full : ctx.incremental(full, spec);
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
  // Validate what we built: a payload that does not match v2 never leaves the agent. Checked in
  // place (no copy of any value), then frozen: the bytes serialised once are the bytes of this object.
  return seal(checkPayload(payload));
}

/** Payloads buildPayload checked and froze, with their serialisation once it was made. */
const sealed = new WeakMap<object, { text?: string }>();

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  // Into frozen objects too: one frozen by a collector may still hold something that is not.
  Object.freeze(v);
  if (Array.isArray(v)) for (const x of v) deepFreeze(x);
  else for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
}

function seal(p: Payload): Payload {
  deepFreeze(p);
  sealed.set(p, {});
  return p;
}

/**
 * The bytes that leave the machine for a payload: the spool, the CLI's --json and the
 * preview comparison use this one function. A payload built by buildPayload is frozen,
 * so its text is made once and every caller of the cycle (spool, history, feed) gets
 * that same string; it lives as long as the payload does.
 */
export function serializePayload(payload: PayloadV1): string {
  const memo = sealed.get(payload);
  if (memo === undefined) return JSON.stringify(payload);
  memo.text ??= JSON.stringify(payload);
  return memo.text;
}

/**
 * The same bytes as serializePayload, handed to `write` in pieces of about `chunkChars`
 * characters (each signal's rows one by one), so a payload of many megabytes is written
 * without ever being one string (the CLI's `collect --once --json`). For a payload that
 * already has its text, the pieces are slices of it.
 */
export function writePayload(payload: PayloadV1, write: (chunk: string) => void, chunkChars = 1 << 16): void {
  const text = sealed.get(payload)?.text;
  if (text !== undefined) {
    for (let i = 0; i < text.length; i += chunkChars) write(text.slice(i, i + chunkChars));
    return;
  }
  let buf = '';
  const put = (s: string): void => {
    buf += s;
    if (buf.length >= chunkChars) {
      write(buf);
      buf = '';
    }
  };
  // Arrays are opened down to the rows of a delta's added/changed/removed; objects down to a
  // signal's value; anything deeper is one JSON.stringify (a row), which is what it is in the whole text.
  const emit = (v: unknown, depth: number): void => {
    if (Array.isArray(v) && depth <= 5) {
      put('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) put(',');
        const x: unknown = v[i];
        // As JSON.stringify: in an array, what JSON has no text for is null.
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') put('null');
        else emit(x, depth + 1);
      }
      put(']');
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && depth <= 3 && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      put('{');
      let first = true;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        put(`${first ? '' : ','}${JSON.stringify(k)}:`);
        first = false;
        emit(x, depth + 1);
      }
      put('}');
    } else {
      put(JSON.stringify(v) ?? 'null');
    }
  };
  emit(payload, 0);
  if (buf.length > 0) write(buf);
}
