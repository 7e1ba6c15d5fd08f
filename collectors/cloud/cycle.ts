import type { AuditSink } from '../core/audit.js';
import type { Engine } from '../target.js';
import { ConfigError } from '../core/engine.js';
import type { Refusal, Resolver } from '../core/egress-guard.js';
import type { EffectivePolicy } from '../core/policy.js';
import { runSignals, type SignalOutcome } from '../core/runner.js';
import { type AnySignalSpec, type Unavailable, unavailable } from '../core/signal.js';
import { type CloudBinding, SECRET_NAMES } from './binding.js';
import { cloudEgress, egressRefusalIn } from './egress.js';
import { cloudProviderFor } from './index.js';
import { cloudCatalog, CloudReads, type MetricQuery, windowEnding } from './metrics.js';
import type { CloudProvider } from './provider.js';

export interface CloudCycleDeps {
  targetId: string;
  /** The target's engine: per-engine metrics of a multi-engine service are read only for it. */
  engine?: Engine;
  audit: AuditSink;
  policy: EffectivePolicy;
  /** Resolves the binding's secret; a failure (unset variable, foreign vault blob) makes every cloud signal say so. */
  secret(): Promise<string | undefined>;
  now?: () => Date;
  /** For tests: a resolver for the egress guard, and a hook on refusals. */
  resolve?: Resolver;
  onRefuse?(r: Refusal): void;
  /** Client-side ceiling for the whole provider fetch. */
  timeoutMs?: number;
}

export interface CloudCycleResult {
  catalog: AnySignalSpec<unknown>[];
  outcomes: SignalOutcome[];
}

/** The binding's queries for a target of `engine` (all of them when the engine is not given). */
export function queriesFor(provider: CloudProvider, binding: CloudBinding, engine: Engine | undefined): MetricQuery[] {
  return provider.queries(binding).filter((q) => q.engines === undefined || engine === undefined || q.engines.includes(engine));
}

/** Every binding but an AWS profile carries its secret in cloud.secret. */
export const needsSecret = (b: CloudBinding): boolean => !(b.provider === 'aws' && b.auth === 'profile');

export function mapCloudError(provider: CloudProvider, binding: CloudBinding, err: unknown): Unavailable {
  const refused = egressRefusalIn(err);
  if (refused !== undefined) return unavailable('error', `egress guard: ${refused.message}`);
  return provider.mapError(err, binding);
}

/**
 * The cloud half of a target's cycle: the provider's metrics for the binding,
 * as cloud.* signals. Independent of the database connection, so a database that
 * cannot be reached still has its provider's view reported (and the reverse).
 */
export async function collectCloud(binding: CloudBinding, deps: CloudCycleDeps): Promise<CloudCycleResult> {
  const provider = await cloudProviderFor(binding.provider);
  const queries = queriesFor(provider, binding, deps.engine);
  const catalog = cloudCatalog(queries) as AnySignalSpec<unknown>[];
  const everySignal = (u: Unavailable): CloudCycleResult => ({ catalog, outcomes: catalog.map((spec) => ({ spec, result: u, durationMs: 0 })) });
  let secret: string | undefined;
  try {
    secret = await deps.secret();
  } catch (err) {
    if (err instanceof ConfigError) return everySignal(unavailable('error', `cloud credentials: ${err.message}`));
    throw err;
  }
  if (secret === undefined && needsSecret(binding)) {
    return everySignal(unavailable('error', `cloud credentials: ${SECRET_NAMES[binding.provider]} is not set (cloud.secret)`));
  }
  let egress;
  try {
    egress = cloudEgress(binding, provider.endpoints(binding), {
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
      ...(deps.onRefuse ? { onRefuse: deps.onRefuse } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) return everySignal(unavailable('error', err.message));
    throw err;
  }
  try {
    let session;
    try {
      session = await provider.open(binding, secret, { audit: deps.audit, targetId: deps.targetId, egress });
    } catch (err) {
      if (err instanceof ConfigError) return everySignal(unavailable('error', `cloud binding: ${err.message}`));
      return everySignal(mapCloudError(provider, binding, err));
    }
    try {
      const reads = new CloudReads(session, queries, windowEnding(deps.now?.() ?? new Date(), binding.lookbackMinutes));
      const outcomes = await runSignals(catalog, reads, {
        timeoutMs: deps.timeoutMs ?? 30_000,
        mapError: (e) => mapCloudError(provider, binding, e),
        policy: deps.policy,
      });
      return { catalog, outcomes };
    } finally {
      await session.close();
    }
  } finally {
    egress.agent.destroy();
  }
}
