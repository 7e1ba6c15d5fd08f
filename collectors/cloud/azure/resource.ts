import { ConfigError } from '../../core/engine.js';
import type { AzureBinding } from '../binding.js';

/** The Azure Monitor metric namespace of each service: the ARM resource type (the batch API requires it). */
export const NAMESPACE: Record<AzureBinding['service'], string> = {
  'sql-database': 'Microsoft.Sql/servers/databases',
  'postgresql-flexible': 'Microsoft.DBforPostgreSQL/flexibleServers',
  'redis-cache': 'Microsoft.Cache/redis',
};

/** An ARM name segment: no slash, nothing that would change the path (.., ?, #, %). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._()-]{0,127}$/;

function segment(value: string, what: string): string {
  if (!SEGMENT.test(value) || value.includes('..')) throw new ConfigError(`cloud.resourceName: ${what} "${value}" is not an Azure resource name`);
  return value;
}

/**
 * The ARM resource id the metrics belong to. `resourceName` is "server/database"
 * for sql-database and a single name otherwise; each part is checked so a name
 * can never point the query at another resource path.
 */
export function resourceIdOf(b: AzureBinding): string {
  const group = segment(b.resourceGroup, 'resource group');
  const base = `/subscriptions/${b.subscriptionId}/resourceGroups/${group}/providers`;
  if (b.service === 'sql-database') {
    const parts = b.resourceName.split('/');
    if (parts.length !== 2) throw new ConfigError('cloud.resourceName: for sql-database give "server/database"');
    return `${base}/Microsoft.Sql/servers/${segment(parts[0]!, 'server')}/databases/${segment(parts[1]!, 'database')}`;
  }
  return `${base}/${NAMESPACE[b.service]}/${segment(b.resourceName, 'resource')}`;
}

/** The subscription scope: the batch metrics API authorises at this level (see access.ts). */
export const subscriptionScope = (b: AzureBinding): string => `/subscriptions/${b.subscriptionId}`;
