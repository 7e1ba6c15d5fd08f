import { z } from 'zod';
import { CATEGORIES, type Category } from './category.js';

/**
 * What the agent does with the fields of one sensitive-metadata category:
 * - `collect`: shipped as read;
 * - `redact`: shipped in a deterministic, reduced form (normalised text, hashed
 *   names, argument counts, a value marker), see redact/apply.ts and docs/policy.md;
 * - `exclude`: never shipped, and not read from the engine where the signal can avoid it.
 */
export const ACTIONS = ['collect', 'redact', 'exclude'] as const;
export const ActionSchema = z.enum(ACTIONS);
export type Action = z.infer<typeof ActionSchema>;

/**
 * A policy as stored: per-category overrides, any subset. A target's policy
 * overrides the workspace default, which overrides DEFAULT_POLICY.
 */
export const PolicySchema = z.partialRecord(z.enum(CATEGORIES), ActionSchema);
export type Policy = z.infer<typeof PolicySchema>;

/** A policy with every category decided: what one cycle applies. */
export const EffectivePolicySchema = z.record(z.enum(CATEGORIES), ActionSchema);
export type EffectivePolicy = Readonly<Record<Category, Action>>;

/**
 * The built-in defaults: query text normalised, slow-log arguments reduced,
 * current operations off until the operator opts in, everything else collected.
 */
export const DEFAULT_POLICY: EffectivePolicy = Object.freeze({
  query_text: 'redact',
  slowlog_args: 'redact',
  current_ops: 'exclude',
  object_names: 'collect',
  identity_metadata: 'collect',
  client_metadata: 'collect',
  config_posture: 'collect',
});

/** Layers policies, later ones winning, over the built-in defaults. */
export function resolvePolicy(...layers: ReadonlyArray<Policy | undefined>): EffectivePolicy {
  const out: Record<Category, Action> = { ...DEFAULT_POLICY };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const c of CATEGORIES) {
      const a = layer[c];
      if (a !== undefined) out[c] = a;
    }
  }
  return Object.freeze(out);
}

/** The smallest override that turns `base` into `wanted` (what a target stores to differ from the workspace). */
export function policyDiff(base: EffectivePolicy, wanted: EffectivePolicy): Policy {
  const out: Policy = {};
  for (const c of CATEGORIES) if (wanted[c] !== base[c]) out[c] = wanted[c];
  return out;
}

/** The policy a signal's read() sees, so it can avoid reading what will not be shipped. */
export interface ReadContext {
  readonly policy: EffectivePolicy;
  excluded(category: Category): boolean;
}

export function readContext(policy: EffectivePolicy): ReadContext {
  return { policy, excluded: (c) => policy[c] === 'exclude' };
}
