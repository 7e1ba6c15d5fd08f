import type { IdentityReport } from '../../collectors/core/engine.js';
import type { Target } from '../../collectors/target.js';
import { TargetOperations } from '../target-operations.js';
import type { Vault } from './vault.js';

const CANDIDATE = 'logstag-candidate';

/**
 * Connects to `target` with `password` instead of its stored one, without storing
 * it: a copy of the target refers to a vault that holds only this value, in memory.
 */
export function probeWithPassword(ops: TargetOperations, target: Target, password: string): Promise<IdentityReport> {
  const memory: Vault = {
    backend: 'os-keychain',
    seal: () => Promise.reject(new Error('the candidate vault cannot seal')),
    open: async (blob) => {
      if (blob !== CANDIDATE) throw new Error('unexpected blob in the candidate vault');
      return password;
    },
  };
  const probe = new TargetOperations(ops.agent, ops.audit, () => memory, ops.env);
  return probe.testConnection({ ...target, password: { secret: CANDIDATE } });
}

const DRAFT_PASSWORD = 'logstag-draft-password';
const DRAFT_CLOUD_SECRET = 'logstag-draft-cloud-secret';

/**
 * Operations on a target that is not stored yet (the setup wizard's draft), with the
 * secrets typed for it held in memory for this call only. Isolated by construction:
 * a vault that can only hand back these values and cannot seal, no per-target memory
 * store (no cursor is read or advanced), and its own cycle emitter and health map
 * (nobody listens: a draft cycle never reaches the shipper, the spool or the feed).
 * Statements are still recorded in the shared audit ledger.
 */
export function draftOperations(
  ops: TargetOperations,
  target: Target,
  secrets: { password?: string; cloudSecret?: string },
): { ops: TargetOperations; target: Target } {
  const values = new Map<string, string>();
  if (secrets.password !== undefined) values.set(DRAFT_PASSWORD, secrets.password);
  if (secrets.cloudSecret !== undefined) values.set(DRAFT_CLOUD_SECRET, secrets.cloudSecret);
  const memory: Vault = {
    backend: 'os-keychain',
    seal: () => Promise.reject(new Error('a draft cannot seal')),
    open: async (blob) => {
      const v = values.get(blob);
      if (v === undefined) throw new Error('unexpected blob in the draft vault');
      return v;
    },
  };
  const draft: Target = {
    ...target,
    ...(secrets.password === undefined ? {} : { password: { secret: DRAFT_PASSWORD } }),
    ...(secrets.cloudSecret === undefined || target.cloud === undefined ? {} : { cloud: { ...target.cloud, secret: { secret: DRAFT_CLOUD_SECRET } } }),
  };
  return { ops: new TargetOperations(ops.agent, ops.audit, () => memory, ops.env, ops.nameKey), target: draft };
}
