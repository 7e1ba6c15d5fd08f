import type { GcpBinding } from '../binding.js';

/** The IAM permission every cloud.* signal needs (https://cloud.google.com/monitoring/access-control). */
export const METRICS_PERMISSION = 'monitoring.timeSeries.list';
/** The least role that carries it; read-only across Cloud Monitoring. */
export const METRICS_ROLE = 'roles/monitoring.viewer';
export const SERVICE_ACCOUNT_NAME = 'logstag-metrics';

/**
 * The reviewable gcloud script for a dedicated, read-only metrics identity.
 * Cloud Monitoring grants read access per project (or folder/organisation), not
 * per Cloud SQL or Memorystore instance: there is no finer resource scope, so the
 * role is bound on the instance's project and nowhere else.
 */
export function gcpAccessScript(binding: GcpBinding): string {
  const project = binding.projectId;
  const account = `${SERVICE_ACCOUNT_NAME}@${project}.iam.gserviceaccount.com`;
  return [
    `# Read-only Cloud Monitoring access for the Logstag agent on project ${project}.`,
    `# Cloud Monitoring has no per-instance scope: ${METRICS_ROLE} (which carries ${METRICS_PERMISSION}) is bound on the project.`,
    `gcloud iam service-accounts create ${SERVICE_ACCOUNT_NAME} --project=${project} --display-name="Logstag agent (read-only metrics)"`,
    `gcloud projects add-iam-policy-binding ${project} --member="serviceAccount:${account}" --role="${METRICS_ROLE}" --condition=None`,
    `# The key file is the agent's one secret: store it in the agent's vault, then delete the local copy.`,
    `gcloud iam service-accounts keys create logstag-metrics-key.json --iam-account=${account} --project=${project}`,
  ].join('\n');
}
