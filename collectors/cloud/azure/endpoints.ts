import type { EgressEndpoint } from '../../core/egress-guard.js';
import type { AzureBinding } from '../binding.js';
import { endpointOf, publicEndpoint } from '../egress.js';

/** Microsoft Entra ID, the token issuer of the public cloud. */
export const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
/** Azure Resource Manager: only the identity's own-permissions read (identity.ts) goes here. */
export const PUBLIC_MANAGEMENT = 'https://management.azure.com';

/** The regional metrics data-plane endpoint (https://learn.microsoft.com/azure/azure-monitor/metrics/migrate-to-batch-api). */
export const metricsUrl = (b: AzureBinding): string => b.endpoint ?? `https://${b.region}.metrics.monitor.azure.com`;
export const authorityUrl = (b: AzureBinding): string => b.authorityHost ?? PUBLIC_AUTHORITY;
/**
 * With an `endpoint` override (a sovereign cloud's gateway, a reverse proxy, the
 * test responder) the permissions read goes to the same origin: the binding has
 * no separate management override, and the agent must never reach the public
 * management endpoint when the operator routed Azure elsewhere.
 */
export const managementUrl = (b: AzureBinding): string => (b.endpoint === undefined ? PUBLIC_MANAGEMENT : new URL(b.endpoint).origin);

/** Exactly the hosts this binding needs: token, the region's metrics endpoint, management; nothing for other regions. */
export function azureEndpoints(b: AzureBinding): EgressEndpoint[] {
  const list = [
    b.authorityHost === undefined ? publicEndpoint(new URL(PUBLIC_AUTHORITY).hostname) : endpointOf(b.authorityHost),
    b.endpoint === undefined ? publicEndpoint(`${b.region}.metrics.monitor.azure.com`) : endpointOf(b.endpoint),
    b.endpoint === undefined ? publicEndpoint(new URL(PUBLIC_MANAGEMENT).hostname) : endpointOf(managementUrl(b)),
  ];
  return list.filter((e, i) => list.findIndex((o) => o.host === e.host && o.port === e.port) === i);
}
