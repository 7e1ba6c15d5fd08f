import monitoring from '@google-cloud/monitoring';
import { ConfigError } from '../../core/engine.js';
import type { GcpBinding } from '../binding.js';
import type { CloudProvider } from '../provider.js';
import { gcpAccessScript } from './access.js';
import { mapGcpError } from './errors.js';
import { gcpChecklist, gcpIdentity } from './identity.js';
import { parseServiceAccountKey } from './key.js';
import { gcpQueries } from './metrics.js';
import { GcpSession } from './session.js';
import { gcpEndpoints, guardedJwt, monitoringTarget } from './transport.js';

/** Cloud SQL instance names and Memorystore instance ids: lower-case letters, digits, hyphens (they go into a Monitoring filter). */
const INSTANCE_ID = /^[a-z][a-z0-9-]{0,97}$/;

/** Google Cloud: Cloud Monitoring metrics of a Cloud SQL or Memorystore for Redis instance. */
export const gcpProvider: CloudProvider<GcpBinding> = {
  provider: 'gcp',
  queries: gcpQueries,
  endpoints: gcpEndpoints,

  async open(binding, secret, ctx) {
    if (!INSTANCE_ID.test(binding.instanceId)) throw new ConfigError('cloud.instanceId must be the instance name: lower-case letters, digits and hyphens');
    const key = parseServiceAccountKey(secret, binding);
    const { apiEndpoint, port } = monitoringTarget(binding);
    const auth = guardedJwt(key, ctx.egress);
    // fallback: google-gax's REST transport (HTTP/1.1 + JSON) instead of gRPC, so
    // every request is an https request through the JWT client and its guarded agent.
    const client = new monitoring.MetricServiceClient({ authClient: auth, fallback: true, apiEndpoint, port, projectId: binding.projectId });
    // The generated client switches a JWT client to self-signed JWTs sent straight
    // to the API. The agent uses the OAuth exchange instead: one short-lived,
    // read-scoped access token per cycle from the token endpoint the operator
    // reviewed (Google's, or cloud.tokenEndpoint), and a rejected key is told apart
    // as invalid_grant there rather than as a bare 401 from every API.
    auth.useJWTAccessWithScope = false;
    auth.defaultServicePath = undefined;
    return new GcpSession(binding, key.clientEmail, client, auth, ctx);
  },

  mapError: mapGcpError,
  checklist: (session, binding) => gcpChecklist(session as GcpSession, binding),
  accessScript: gcpAccessScript,
  identity: (session, binding) => gcpIdentity(session as GcpSession, binding),
};
