import { ConfigError } from '../../core/engine.js';
import type { CloudProvider } from '../provider.js';

// Placeholder until the azure provider lands on main (issue 13): every call says so plainly.
const notBuilt = (): never => {
  throw new ConfigError('azure cloud metrics are not built in this version of the agent');
};
export const azureProvider: CloudProvider = {
  provider: 'azure',
  queries: () => [],
  endpoints: () => [],
  open: async () => notBuilt(),
  mapError: () => notBuilt(),
  checklist: async () => notBuilt(),
  accessScript: () => notBuilt(),
  identity: async () => notBuilt(),
};
