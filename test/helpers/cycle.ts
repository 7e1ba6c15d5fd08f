import { resolvePolicy } from '../../collectors/core/policy.js';
import type { Target } from '../../collectors/target.js';

/** The policy and name key a cycle needs, as the agent would supply them for this target (a fixed test key). */
export const testCycleDeps = (target: Target) => ({
  policy: resolvePolicy(target.policy),
  nameKey: async () => new Uint8Array(32).fill(7),
});
