import { JWT } from 'google-auth-library';
import { ConfigError } from '../../core/engine.js';
import type { EgressEndpoint } from '../../core/egress-guard.js';
import type { GcpBinding } from '../binding.js';
import { endpointOf, publicEndpoint, type CloudEgress } from '../egress.js';
import { GOOGLE_TOKEN_URL, type ServiceAccountKey } from './key.js';

export const MONITORING_HOST = 'monitoring.googleapis.com';
export const TOKEN_HOST = 'oauth2.googleapis.com';
export const RESOURCE_MANAGER_HOST = 'cloudresourcemanager.googleapis.com';
/**
 * Read-only OAuth scopes: Monitoring reads (projects.timeSeries.list) and the
 * read-only platform scope Resource Manager's testIamPermissions accepts
 * (https://developers.google.com/identity/protocols/oauth2/scopes). The token can
 * read even where the account's roles would allow more.
 */
export const SCOPES = ['https://www.googleapis.com/auth/monitoring.read', 'https://www.googleapis.com/auth/cloud-platform.read-only'];

/**
 * Cloud Monitoring is a global API: the same hosts serve every region, so the
 * region is enforced on the answer instead (each series' resource.labels.region
 * must be the binding's; see session.ts). An `endpoint` override (Private Service
 * Connect, private.googleapis.com, the test responder) serves every Google API
 * the agent calls, as those do: Monitoring and, for the read-only check,
 * Resource Manager.
 */
export function gcpEndpoints(binding: GcpBinding): EgressEndpoint[] {
  const api = binding.endpoint === undefined ? [publicEndpoint(MONITORING_HOST), publicEndpoint(RESOURCE_MANAGER_HOST)] : [endpointOf(binding.endpoint)];
  const token = binding.tokenEndpoint === undefined ? publicEndpoint(TOKEN_HOST) : endpointOf(binding.tokenEndpoint);
  const all = [...api, token];
  return all.filter((e, i) => all.findIndex((o) => o.host === e.host && o.port === e.port) === i);
}

/** Where the Monitoring client sends its REST calls. */
export function monitoringTarget(binding: GcpBinding): { apiEndpoint: string; port: number } {
  if (binding.endpoint === undefined) return { apiEndpoint: MONITORING_HOST, port: 443 };
  const u = new URL(binding.endpoint);
  // The guarded agent speaks TLS only; the schema's loopback http exception is not for this provider.
  if (u.protocol !== 'https:') throw new ConfigError('cloud.endpoint must be an https URL for Google Cloud');
  return { apiEndpoint: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 443 : Number(u.port) };
}

/** The base URL of Resource Manager v1 (projects.testIamPermissions). */
export function resourceManagerBase(binding: GcpBinding): string {
  return binding.endpoint === undefined ? `https://${RESOURCE_MANAGER_HOST}` : new URL(binding.endpoint).origin;
}

/**
 * A JWT service-account client whose every request (the token exchange, the
 * Monitoring REST calls google-gax makes through it, the Resource Manager call)
 * leaves through the guarded agent. google-gax's REST transport passes an agent of
 * its own on each request, so the agent is set in a request interceptor, after
 * every caller's options are merged, rather than as a default that a request
 * would override. The same interceptor sends gtoken's fixed Google token URL to
 * the configured token endpoint when the binding overrides it.
 */
export function guardedJwt(key: ServiceAccountKey, egress: CloudEgress): JWT {
  const jwt = new JWT({
    email: key.clientEmail,
    key: key.privateKey,
    ...(key.privateKeyId === undefined ? {} : { keyId: key.privateKeyId }),
    scopes: SCOPES,
  });
  const tokenUrl = new URL(key.tokenUrl);
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (key.tokenUrl !== GOOGLE_TOKEN_URL && config.url.href === GOOGLE_TOKEN_URL) config.url = tokenUrl;
      config.agent = egress.agent;
      // gtoken asks gaxios to retry the token POST (3 times, and twice more without
      // an answer): for a 60 s collector one retry of an answered failure is enough,
      // and a request that got no answer (refused, unreachable) waits for the next cycle.
      if (config.retryConfig !== undefined) config.retryConfig = { ...config.retryConfig, retry: 1, noResponseRetries: 0 };
      return config;
    },
  });
  return jwt;
}
