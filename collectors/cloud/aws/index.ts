import type { ChecklistItem } from '../../core/engine.js';
import type { AwsBinding } from '../binding.js';
import { windowEnding } from '../metrics.js';
import type { CloudIdentity, CloudProvider, CloudSession } from '../provider.js';
import { awsAccessScript, METRICS_ACTION } from './access.js';
import { awsEndpoints } from './endpoints.js';
import { mapAwsError } from './errors.js';
import { awsQueries } from './metrics.js';
import { AwsSession, openAwsSession } from './session.js';

const awsSession = (session: CloudSession): AwsSession => {
  if (!(session instanceof AwsSession)) throw new TypeError('not an AWS cloud session');
  return session;
};

/** The reason readOnly stays 'unknown' for every principal but the root user. */
export const UNKNOWN_READ_ONLY =
  'AWS lets an identity see its own policies only with IAM read permissions (iam:List*/iam:Get* or iam:SimulatePrincipalPolicy) that the agent deliberately does not ask for: review the policies attached to this principal against the access script';

async function checklist(session: CloudSession, binding: AwsBinding): Promise<ChecklistItem[]> {
  const queries = awsQueries(binding);
  const probe = queries.slice(0, 1);
  const signals = [...new Set(queries.map((q) => `cloud.${q.signal}`))];
  const item = (status: 'granted' | 'missing', detail: string): ChecklistItem =>
    status === 'granted'
      ? { grant: METRICS_ACTION, status, signals, detail }
      : { grant: METRICS_ACTION, status, signals, detail, fix: awsAccessScript(binding) };
  try {
    // One small read: one metric over the last five minutes.
    const answer = await awsSession(session).fetch(probe, windowEnding(new Date(), 5));
    const r = answer.get(probe[0]!.id);
    if (r !== undefined && 'status' in r && r.reason === 'permission') return [item('missing', r.detail)];
    return [item('granted', `GetMetricData answered for ${probe[0]!.name} of ${binding.resourceId}`)];
  } catch (err) {
    const u = mapAwsError(err, binding);
    if (u.reason === 'permission') return [item('missing', u.detail)];
    throw err;
  }
}

async function identity(session: CloudSession): Promise<CloudIdentity> {
  const who = await awsSession(session).callerIdentity();
  if (who.arn.endsWith(':root')) {
    return {
      principal: who.arn,
      readOnly: 'no',
      reasons: [
        `these are the root user's credentials of account ${who.account}: root can change and delete every resource; use a dedicated IAM user or role with only ${METRICS_ACTION}`,
      ],
    };
  }
  return { principal: who.arn, readOnly: 'unknown', reasons: [UNKNOWN_READ_ONLY] };
}

export const awsProvider: CloudProvider<AwsBinding> = {
  provider: 'aws',
  queries: awsQueries,
  endpoints: awsEndpoints,
  open: openAwsSession,
  mapError: mapAwsError,
  checklist,
  accessScript: awsAccessScript,
  identity,
};
