import { ConfigError } from '../../core/engine.js';
import type { CloudProvider } from '../provider.js';

// Placeholder until the aws provider lands on main (issue 13): every call says so plainly.
const notBuilt = (): never => {
  throw new ConfigError('aws cloud metrics are not built in this version of the agent');
};
export const awsProvider: CloudProvider = {
  provider: 'aws',
  queries: () => [],
  endpoints: () => [],
  open: async () => notBuilt(),
  mapError: () => notBuilt(),
  checklist: async () => notBuilt(),
  accessScript: () => notBuilt(),
  identity: async () => notBuilt(),
};
