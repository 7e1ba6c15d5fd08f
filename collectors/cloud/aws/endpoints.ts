import type { EgressEndpoint } from '../../core/egress-guard.js';
import type { AwsBinding } from '../binding.js';
import { endpointOf, publicEndpoint } from '../egress.js';

/**
 * The hosts the AWS SDK needs for one binding, and nothing else.
 *
 * Public endpoints follow the documented regional pattern
 * (https://docs.aws.amazon.com/general/latest/gr/cw_region.html,
 * https://docs.aws.amazon.com/general/latest/gr/sts.html): CloudWatch is
 * monitoring.<region>.amazonaws.com; STS is used regionally
 * (sts.<region>.amazonaws.com), never the global sts.amazonaws.com, so a binding
 * for eu-west-1 talks to eu-west-1 only. The China partition uses amazonaws.com.cn.
 */
export const dnsSuffix = (region: string): string => (region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com');

export const monitoringHost = (region: string): string => `monitoring.${region}.${dnsSuffix(region)}`;
export const stsHost = (region: string): string => `sts.${region}.${dnsSuffix(region)}`;

/** The URL each client is pinned to: the override when set, else the region's public endpoint. */
export function awsUrls(binding: AwsBinding): { monitoring: string; sts: string } {
  return {
    monitoring: binding.endpoint ?? `https://${monitoringHost(binding.region)}`,
    sts: binding.stsEndpoint ?? `https://${stsHost(binding.region)}`,
  };
}

export function awsEndpoints(binding: AwsBinding): EgressEndpoint[] {
  const list = [
    binding.endpoint === undefined ? publicEndpoint(monitoringHost(binding.region)) : endpointOf(binding.endpoint),
    binding.stsEndpoint === undefined ? publicEndpoint(stsHost(binding.region)) : endpointOf(binding.stsEndpoint),
  ];
  // One override may serve both APIs (the test responder, a proxy): list each host:port once.
  return list.filter((e, i) => list.findIndex((o) => o.host === e.host && o.port === e.port) === i);
}
