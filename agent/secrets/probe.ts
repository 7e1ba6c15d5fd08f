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
