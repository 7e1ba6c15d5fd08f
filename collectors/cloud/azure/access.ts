import type { AzureBinding } from '../binding.js';
import { resourceIdOf, subscriptionScope } from './resource.js';

/**
 * The least-privilege role assignment for review. Monitoring Reader is the
 * built-in read-only monitoring role; Reader, Contributor or Owner are not
 * needed. The scope is the subscription, not the resource: the metrics batch
 * API (metrics:getBatch on <region>.metrics.monitor.azure.com) is a
 * subscription-level API and refuses a principal that holds Monitoring Reader
 * on the resource only ("401 authorization errors",
 * https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api#troubleshooting).
 */
export function azureAccessScript(b: AzureBinding): string {
  const resource = resourceIdOf(b);
  return [
    `# Read-only Azure Monitor metrics for ${resource}`,
    '# 1. A dedicated service principal with no role of its own (skip if it exists; keep the secret it prints in the vault).',
    `az ad sp create-for-rbac --name logstag-metrics-reader --skip-assignment`,
    '# 2. Monitoring Reader, the built-in read-only monitoring role. The batch metrics API authorises at the',
    '#    subscription scope; "Reader", "Contributor" and "Owner" are not needed and should not be granted.',
    `az role assignment create --assignee ${b.clientId} --role "Monitoring Reader" --scope ${subscriptionScope(b)}`,
  ].join('\n');
}
