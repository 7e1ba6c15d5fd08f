import type { AwsBinding } from '../binding.js';
import { awsDimension, awsNamespace } from './metrics.js';

/** The one IAM action the agent needs; the checklist's grant name. */
export const METRICS_ACTION = 'cloudwatch:GetMetricData';

const policyName = 'LogstagAgentCloudWatchRead';

/**
 * The least-privilege policy for review. cloudwatch:GetMetricData supports no
 * resource-level scoping and no condition keys (Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html:
 * its Resource types column is empty), so Resource must be "*"; the agent itself
 * only ever asks for the binding's namespace and resource. sts:GetCallerIdentity
 * needs no permission (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
 */
export function awsAccessScript(binding: AwsBinding): string {
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'ReadMetricsOnly', Effect: 'Allow', Action: [METRICS_ACTION], Resource: '*' }],
  };
  const doc = JSON.stringify(policy, null, 2);
  const principal = binding.auth === 'profile' ? 'the role or user of profile ' + binding.profile : 'a dedicated IAM user';
  return [
    `# Read-only CloudWatch metrics for ${awsNamespace(binding)} ${awsDimension(binding)}=${binding.resourceId} (${binding.region}).`,
    '# cloudwatch:GetMetricData cannot be scoped to a resource (AWS offers no resource type or condition key for it): Resource is "*".',
    '# sts:GetCallerIdentity (who am I) needs no permission. Nothing here can change a resource.',
    `cat > ${policyName}.json <<'JSON'`,
    doc,
    'JSON',
    `aws iam create-policy --policy-name ${policyName} --policy-document file://${policyName}.json`,
    `# Attach it to ${principal}, and attach nothing else:`,
    'aws iam create-user --user-name logstag-agent',
    `aws iam attach-user-policy --user-name logstag-agent --policy-arn arn:${partition(binding.region)}:iam::<ACCOUNT_ID>:policy/${policyName}`,
    'aws iam create-access-key --user-name logstag-agent',
    '# or, for a role assumed by a profile:',
    `# aws iam attach-role-policy --role-name <ROLE_NAME> --policy-arn arn:${partition(binding.region)}:iam::<ACCOUNT_ID>:policy/${policyName}`,
  ].join('\n');
}

const partition = (region: string): string => (region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws');
