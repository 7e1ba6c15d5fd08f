import type { AuditSink } from '../core/audit.js';
import { type ChecklistItem, ConfigError } from '../core/engine.js';
import { type CloudBinding, type CloudProviderId, SECRET_NAMES } from './binding.js';
import { mapCloudError, needsSecret } from './cycle.js';
import { cloudEgress } from './egress.js';
import { cloudProviderFor } from './index.js';
import type { CloudIdentity } from './provider.js';

/** What `check` and the permission report show for a target's cloud binding. */
export interface CloudCheck {
  provider: CloudProviderId;
  region: string;
  /** Absent when the identity could not be established (the items say why). */
  identity?: CloudIdentity;
  items: ChecklistItem[];
  /** The least-privilege script for the provider, always shown for review. */
  script: string;
}

/**
 * Probes the binding's identity and its read-only metrics permission live. Never
 * throws for a provider-side failure: an identity that cannot be checked is a
 * checklist item that says why, with the script that fixes it.
 */
export async function checkCloud(
  binding: CloudBinding,
  deps: { targetId: string; audit: AuditSink; secret(): Promise<string | undefined> },
): Promise<CloudCheck> {
  const provider = await cloudProviderFor(binding.provider);
  const script = provider.accessScript(binding);
  const base = { provider: binding.provider, region: binding.region, script };
  const failed = (detail: string): CloudCheck => ({
    ...base,
    items: [{ grant: `${binding.provider}:metrics-read`, status: 'missing', signals: ['cloud.*'], detail, fix: script }],
  });
  let egress;
  try {
    const secret = await deps.secret();
    if (secret === undefined && needsSecret(binding)) return failed(`${SECRET_NAMES[binding.provider]} is not set (cloud.secret)`);
    egress = cloudEgress(binding, provider.endpoints(binding));
    const session = await provider.open(binding, secret, { audit: deps.audit, targetId: deps.targetId, egress });
    try {
      let identity: CloudIdentity | undefined;
      try {
        identity = await provider.identity(session, binding);
      } catch (err) {
        identity = { principal: 'unknown', readOnly: 'unknown', reasons: [`the identity could not be read: ${mapCloudError(provider, binding, err).detail}`] };
      }
      let items: ChecklistItem[];
      try {
        items = await provider.checklist(session, binding);
      } catch (err) {
        return { ...failed(mapCloudError(provider, binding, err).detail), identity };
      }
      return { ...base, identity, items };
    } finally {
      await session.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) return failed(`cloud binding: ${err.message}`);
    return failed(mapCloudError(provider, binding, err).detail);
  } finally {
    egress?.agent.destroy();
  }
}
