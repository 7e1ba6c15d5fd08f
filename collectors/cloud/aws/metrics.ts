import type { AwsBinding } from '../binding.js';
import type { CloudSignalKind, MetricQuery } from '../metrics.js';

/**
 * The CloudWatch metrics read per service, with the documented names, units and
 * dimensions:
 * - RDS: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
 *   (namespace AWS/RDS, dimension DBInstanceIdentifier);
 * - Aurora: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html
 *   (instance-level metrics, AWS/RDS, DBInstanceIdentifier);
 * - ElastiCache (Valkey / Redis OSS): https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.HostLevel.html
 *   and https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html
 *   (AWS/ElastiCache, CacheClusterId);
 * - DocumentDB: https://docs.aws.amazon.com/documentdb/latest/developerguide/cloud_watch.html
 *   (AWS/DocDB, DBClusterIdentifier: the cluster-level aggregate).
 * CloudWatch's unit is in each comment; `scale` converts it to the agent's unit.
 */

/** One metric: [signal, CloudWatch name, statistic, agent unit, scale]. */
type Spec = readonly [CloudSignalKind, string, string, string, number?];

/** 60 s: the finest period RDS, ElastiCache and DocumentDB publish at (basic monitoring); one point a minute. */
const PERIOD = 60;

const SERVICES: Record<AwsBinding['service'], { namespace: string; dimension: string; metrics: readonly Spec[] }> = {
  rds: {
    namespace: 'AWS/RDS',
    dimension: 'DBInstanceIdentifier',
    metrics: [
      ['cpu', 'CPUUtilization', 'Average', 'percent'], // Percent
      ['memory', 'FreeableMemory', 'Average', 'bytes'], // Bytes
      ['storage', 'FreeStorageSpace', 'Average', 'bytes'], // Bytes
      ['iops', 'ReadIOPS', 'Average', 'count/s'], // Count/Second
      ['iops', 'WriteIOPS', 'Average', 'count/s'], // Count/Second
      ['connections', 'DatabaseConnections', 'Average', 'count'], // Count
      ['replica_lag', 'ReplicaLag', 'Average', 'seconds'], // Seconds (read replicas only)
      ['service', 'DiskQueueDepth', 'Average', 'count'], // Count
      ['service', 'ReadLatency', 'Average', 'milliseconds', 1000], // Seconds
      ['service', 'WriteLatency', 'Average', 'milliseconds', 1000], // Seconds
      ['service', 'SwapUsage', 'Average', 'bytes'], // Bytes
    ],
  },
  aurora: {
    namespace: 'AWS/RDS',
    dimension: 'DBInstanceIdentifier',
    metrics: [
      ['cpu', 'CPUUtilization', 'Average', 'percent'], // Percent
      ['memory', 'FreeableMemory', 'Average', 'bytes'], // Bytes
      ['storage', 'FreeLocalStorage', 'Average', 'bytes'], // Bytes (the cluster volume itself grows on demand)
      ['iops', 'ReadIOPS', 'Average', 'count/s'], // Count/Second
      ['iops', 'WriteIOPS', 'Average', 'count/s'], // Count/Second
      ['connections', 'DatabaseConnections', 'Average', 'count'], // Count
      ['replica_lag', 'AuroraReplicaLag', 'Average', 'milliseconds'], // Milliseconds (Aurora Replicas only)
      ['service', 'BufferCacheHitRatio', 'Average', 'percent'], // Percent
      ['service', 'Deadlocks', 'Average', 'count/s'], // Count/Second
      ['service', 'CommitLatency', 'Average', 'milliseconds'], // Milliseconds
    ],
  },
  elasticache: {
    namespace: 'AWS/ElastiCache',
    dimension: 'CacheClusterId',
    metrics: [
      ['cpu', 'EngineCPUUtilization', 'Average', 'percent'], // Percent: the engine thread, what limits Redis
      ['cpu', 'CPUUtilization', 'Average', 'percent'], // Percent: the whole host
      ['memory', 'DatabaseMemoryUsagePercentage', 'Average', 'percent'], // Percent of maxmemory
      ['memory', 'BytesUsedForCache', 'Average', 'bytes'], // Bytes
      ['connections', 'CurrConnections', 'Average', 'count'], // Count
      ['replica_lag', 'ReplicationLag', 'Average', 'seconds'], // Seconds (replica nodes only)
      ['service', 'CacheHitRate', 'Average', 'percent'], // Percent
      ['service', 'Evictions', 'Sum', 'count'], // Count (per period)
      ['service', 'CurrItems', 'Average', 'count'], // Count
    ],
  },
  documentdb: {
    namespace: 'AWS/DocDB',
    dimension: 'DBClusterIdentifier',
    metrics: [
      ['cpu', 'CPUUtilization', 'Average', 'percent'], // Percent
      ['memory', 'FreeableMemory', 'Average', 'bytes'], // Bytes
      ['storage', 'VolumeBytesUsed', 'Average', 'bytes'], // Bytes
      ['iops', 'ReadIOPS', 'Average', 'count/s'], // Count/Second
      ['iops', 'WriteIOPS', 'Average', 'count/s'], // Count/Second
      ['connections', 'DatabaseConnections', 'Average', 'count'], // Count
      ['replica_lag', 'DBClusterReplicaLagMaximum', 'Maximum', 'milliseconds'], // Milliseconds
      ['service', 'BufferCacheHitRatio', 'Average', 'percent'], // Percent
      ['service', 'IndexBufferCacheHitRatio', 'Average', 'percent'], // Percent
    ],
  },
};

export const awsNamespace = (binding: AwsBinding): string => SERVICES[binding.service].namespace;
export const awsDimension = (binding: AwsBinding): string => SERVICES[binding.service].dimension;

/** MetricDataQuery Ids must start with a lower-case letter and hold only letters, digits and _. */
const queryId = (signal: string, name: string): string => `${signal}_${name}`.toLowerCase();

/** The one dimension that names the binding's resource: queries carry no AWS specifics, the session adds them. */
export const awsDimensions = (binding: AwsBinding): Array<{ Name: string; Value: string }> => [{ Name: awsDimension(binding), Value: binding.resourceId }];

export function awsQueries(binding: AwsBinding): MetricQuery[] {
  const { metrics } = SERVICES[binding.service];
  return metrics.map(([signal, name, statistic, unit, scale]) => ({
    id: queryId(signal, name),
    signal,
    name,
    statistic,
    unit,
    periodSeconds: PERIOD,
    ...(scale === undefined ? {} : { scale }),
  }));
}
