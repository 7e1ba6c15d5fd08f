import type { ChecklistItem } from '../../core/engine.js';
import type { AzureBinding } from '../binding.js';
import type { CloudProvider, CloudSession } from '../provider.js';
import { azureAccessScript } from './access.js';
import { azureEndpoints } from './endpoints.js';
import { mapAzureError } from './errors.js';
import { azureIdentity } from './identity.js';
import { azureQueries } from './queries.js';
import { AzureSession, openAzure } from './session.js';

/** The grant the checklist probes: the Azure RBAC action behind every metrics read. */
export const METRICS_GRANT = 'Microsoft.Insights/metrics/read';

function azureSession(s: CloudSession): AzureSession {
  if (!(s instanceof AzureSession)) throw new TypeError('not an Azure cloud session');
  return s;
}

export const azureProvider: CloudProvider<AzureBinding> = {
  provider: 'azure',
  queries: azureQueries,
  endpoints: azureEndpoints,
  open: openAzure,
  mapError: mapAzureError,
  accessScript: azureAccessScript,
  async checklist(session, binding): Promise<ChecklistItem[]> {
    const s = azureSession(session);
    const queries = azureQueries(binding);
    const signals = [...new Set(queries.map((q) => `cloud.${q.signal}`))];
    try {
      await s.probe(queries[0]!.name);
    } catch (err) {
      const u = mapAzureError(err, binding);
      if (u.reason === 'permission') return [{ grant: METRICS_GRANT, status: 'missing', signals, detail: u.detail, fix: azureAccessScript(binding) }];
      if (u.reason === 'not_enabled')
        return [{ grant: METRICS_GRANT, status: 'not_enabled', signals, detail: u.detail, ...(u.fix === undefined ? {} : { fix: u.fix }) }];
      // Authentication, throttling, network: the probe says nothing about the grant.
      throw err;
    }
    return [
      {
        grant: METRICS_GRANT,
        status: 'granted',
        signals,
        detail: `the service principal ${binding.clientId} can read Azure Monitor metrics of ${s.resourceId}`,
      },
    ];
  },
  identity: (session, binding) => azureIdentity(azureSession(session), binding),
};
