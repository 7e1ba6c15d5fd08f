import type { ChecklistItem } from '../../core/engine.js';
import type { GcpBinding } from '../binding.js';
import { windowEnding } from '../metrics.js';
import type { CloudIdentity } from '../provider.js';
import { gcpAccessScript, METRICS_PERMISSION } from './access.js';
import { mapGcpError } from './errors.js';
import { gcpQueries } from './metrics.js';
import type { GcpSession } from './session.js';
import { resourceManagerBase } from './transport.js';

/**
 * Permissions that change something the agent watches, or hand out more access.
 * A read-only metrics identity holds none of them on the instance's project.
 */
export const WRITE_PERMISSIONS = [
  'cloudsql.instances.update',
  'cloudsql.instances.delete',
  'cloudsql.instances.restart',
  'cloudsql.users.update',
  'redis.instances.update',
  'redis.instances.delete',
  'resourcemanager.projects.setIamPolicy',
  'iam.serviceAccountKeys.create',
  'iam.serviceAccounts.actAs',
  'monitoring.alertPolicies.create',
  'monitoring.timeSeries.create',
] as const;

/**
 * Asks Resource Manager which of the write permissions the key's own account
 * holds on the project (projects.testIamPermissions, v1:
 * https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions;
 * it needs no permission and changes nothing). Any returned → not read-only.
 * It sees project-level grants (inherited ones included) only: a grant on a
 * single Cloud SQL instance's own IAM policy does not exist, but one on another
 * project or a bucket is out of its sight.
 */
export async function gcpIdentity(session: GcpSession, binding: GcpBinding): Promise<CloudIdentity> {
  const url = `${resourceManagerBase(binding)}/v1/projects/${binding.projectId}:testIamPermissions`;
  const statement = `testIamPermissions projects/${binding.projectId} ${WRITE_PERMISSIONS.join(',')}`;
  const started = Date.now();
  let held: string[];
  try {
    const res = await session.auth.request<{ permissions?: unknown }>({ url, method: 'POST', data: { permissions: WRITE_PERMISSIONS }, responseType: 'json' });
    const perms = res.data.permissions;
    held = Array.isArray(perms) ? perms.filter((p): p is string => typeof p === 'string' && (WRITE_PERMISSIONS as readonly string[]).includes(p)) : [];
    session.audit(statement, started, undefined, held.length);
  } catch (err) {
    session.audit(statement, started, err);
    return {
      principal: session.principal,
      readOnly: 'unknown',
      reasons: [`the account's own permissions could not be listed: ${mapGcpError(err, binding).detail}`],
    };
  }
  if (held.length === 0) {
    return { principal: session.principal, readOnly: 'yes', reasons: [] };
  }
  return {
    principal: session.principal,
    readOnly: 'no',
    reasons: held.map((p) => `holds ${p} on project ${binding.projectId}`),
  };
}

/** Probes monitoring.timeSeries.list live with one small read: the first metric, the last five minutes, one series. */
export async function gcpChecklist(session: GcpSession, binding: GcpBinding): Promise<ChecklistItem[]> {
  const probe = gcpQueries(binding)[0]!;
  const signals = [...new Set(gcpQueries(binding).map((q) => `cloud.${q.signal}`))];
  try {
    await session.listSeries(probe, windowEnding(new Date(), 5), 1);
    return [
      {
        grant: METRICS_PERMISSION,
        status: 'granted',
        signals,
        detail: `the service account can read Cloud Monitoring metrics in project ${binding.projectId}`,
      },
    ];
  } catch (err) {
    const u = mapGcpError(err, binding);
    // Only a refusal proves the grant is missing; anything else says why it could not be told.
    if (u.reason === 'permission') return [{ grant: METRICS_PERMISSION, status: 'missing', signals, detail: u.detail, fix: gcpAccessScript(binding) }];
    return [{ grant: METRICS_PERMISSION, status: 'missing', signals, detail: `could not be checked: ${u.detail}` }];
  }
}
