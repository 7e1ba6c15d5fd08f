import type { CloudBinding, CloudProviderId } from './binding.js';
import type { CloudProvider } from './provider.js';

/**
 * Each provider's SDK is loaded when a binding of that provider is first used:
 * an agent without cloud bindings never loads an SDK (tens of MB resident).
 */
const LOADERS: Record<CloudProviderId, () => Promise<CloudProvider>> = {
  aws: async () => (await import('./aws/index.js')).awsProvider as unknown as CloudProvider,
  azure: async () => (await import('./azure/index.js')).azureProvider as unknown as CloudProvider,
  gcp: async () => (await import('./gcp/index.js')).gcpProvider as unknown as CloudProvider,
};

export function cloudProviderFor(provider: CloudProviderId): Promise<CloudProvider<CloudBinding>> {
  return LOADERS[provider]();
}
