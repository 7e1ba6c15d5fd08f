import type { GcpBinding } from '../binding.js';
import type { CloudSignalKind, MetricQuery } from '../metrics.js';

/**
 * The Cloud Monitoring metric types read per service. Names, kinds and units are
 * Google's, from https://cloud.google.com/monitoring/api/metrics_gcp (Cloud SQL:
 * https://cloud.google.com/sql/docs/postgres/admin-api/metrics; Memorystore for
 * Redis: https://cloud.google.com/memorystore/docs/redis/supported-monitoring-metrics).
 *
 * Each metric is one listTimeSeries call (the API takes one metric type per
 * filter). Points are aligned per 60 s (ALIGN_MEAN for GAUGE metrics, ALIGN_RATE
 * for DELTA counters, which turns them into a per-second rate) and then reduced
 * across the metric's own labels (database, node, role, …) into one series per
 * region: REDUCE_SUM where the parts add up (connections, operations), REDUCE_MAX
 * where the worst part is what matters (memory pressure, lag).
 */
export type Reducer = 'REDUCE_SUM' | 'REDUCE_MAX' | 'REDUCE_MEAN';
export type Aligner = 'ALIGN_MEAN' | 'ALIGN_RATE';

interface MetricDef {
  signal: CloudSignalKind;
  /** The full metric type. */
  type: string;
  aligner: Aligner;
  reducer: Reducer;
  unit: string;
  scale?: number;
  engines?: MetricQuery['engines'];
}

export const PERIOD_SECONDS = 60;

/** The service prefix of each binding service. */
const CLOUDSQL = 'cloudsql.googleapis.com/database';
const REDIS = 'redis.googleapis.com';

const DEFS: Record<GcpBinding['service'], MetricDef[]> = {
  // cloudsql_database: GAUGE DOUBLE 10^2.% values are fractions 0.0–1.0 (×100 → percent).
  cloudsql: [
    { signal: 'cpu', type: `${CLOUDSQL}/cpu/utilization`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'percent', scale: 100 },
    { signal: 'memory', type: `${CLOUDSQL}/memory/utilization`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'percent', scale: 100 },
    { signal: 'memory', type: `${CLOUDSQL}/memory/usage`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'bytes' },
    { signal: 'storage', type: `${CLOUDSQL}/disk/bytes_used`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'bytes' },
    // DELTA INT64 counts per sample: ALIGN_RATE gives operations per second.
    { signal: 'iops', type: `${CLOUDSQL}/disk/read_ops_count`, aligner: 'ALIGN_RATE', reducer: 'REDUCE_SUM', unit: 'count/s' },
    { signal: 'iops', type: `${CLOUDSQL}/disk/write_ops_count`, aligner: 'ALIGN_RATE', reducer: 'REDUCE_SUM', unit: 'count/s' },
    // PostgreSQL reports backends per database; SQL Server its user connections: each read only for its engine.
    { signal: 'connections', type: `${CLOUDSQL}/postgresql/num_backends`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_SUM', unit: 'count', engines: ['postgres'] },
    {
      signal: 'connections',
      type: `${CLOUDSQL}/sqlserver/connections/user_connections`,
      aligner: 'ALIGN_MEAN',
      reducer: 'REDUCE_SUM',
      unit: 'count',
      engines: ['mssql'],
    },
    // GAUGE DOUBLE s: only a read replica publishes it.
    { signal: 'replica_lag', type: `${CLOUDSQL}/replication/replica_lag`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'seconds' },
    {
      signal: 'service',
      type: `${CLOUDSQL}/postgresql/transaction_count`,
      aligner: 'ALIGN_RATE',
      reducer: 'REDUCE_SUM',
      unit: 'count/s',
      engines: ['postgres'],
    },
    { signal: 'service', type: `${CLOUDSQL}/postgresql/deadlock_count`, aligner: 'ALIGN_RATE', reducer: 'REDUCE_SUM', unit: 'count/s', engines: ['postgres'] },
  ],
  // redis_instance (one series per node: primary and replica in the Standard tier).
  'memorystore-redis': [
    // GAUGE DOUBLE s{CPU}/s per role/space/relationship: summed, ×100 → percent of one vCPU.
    { signal: 'cpu', type: `${REDIS}/stats/cpu_utilization`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_SUM', unit: 'percent', scale: 100 },
    // GAUGE DOUBLE 10^2.%, a fraction of maxmemory.
    { signal: 'memory', type: `${REDIS}/stats/memory/usage_ratio`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'percent', scale: 100 },
    { signal: 'memory', type: `${REDIS}/stats/memory/usage`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'bytes' },
    { signal: 'connections', type: `${REDIS}/clients/connected`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_SUM', unit: 'count' },
    // GAUGE INT64 s per replica, and the bytes not yet replicated.
    { signal: 'replica_lag', type: `${REDIS}/replication/master/slaves/lag`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'seconds' },
    { signal: 'replica_lag', type: `${REDIS}/replication/offset_diff`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MAX', unit: 'bytes' },
    // GAUGE DOUBLE fraction of keyspace lookups that hit.
    { signal: 'service', type: `${REDIS}/stats/cache_hit_ratio`, aligner: 'ALIGN_MEAN', reducer: 'REDUCE_MEAN', unit: 'percent', scale: 100 },
    // DELTA INT64: ALIGN_RATE → keys evicted per second.
    { signal: 'service', type: `${REDIS}/stats/evicted_keys`, aligner: 'ALIGN_RATE', reducer: 'REDUCE_SUM', unit: 'count/s' },
  ],
};

/** The query id: the metric type without its service prefix ('cpu/utilization'). */
const queryId = (type: string): string => type.replace(/^[a-z]+\.googleapis\.com\/(database\/)?/, '');

export function gcpQueries(binding: GcpBinding): MetricQuery[] {
  return DEFS[binding.service].map((d) => ({
    id: queryId(d.type),
    signal: d.signal,
    name: d.type,
    statistic: d.aligner,
    unit: d.unit,
    periodSeconds: PERIOD_SECONDS,
    ...(d.scale === undefined ? {} : { scale: d.scale }),
    ...(d.engines === undefined ? {} : { engines: d.engines }),
  }));
}

/** How a query's series are reduced across the metric's labels (the MetricQuery carries the aligner). */
export function reducerOf(binding: GcpBinding, q: MetricQuery): Reducer {
  return DEFS[binding.service].find((d) => d.type === q.name)?.reducer ?? 'REDUCE_MEAN';
}

/** The monitored resource of each service and how its filter names this instance. */
export function resourceFilter(binding: GcpBinding): string {
  if (binding.service === 'cloudsql') {
    // cloudsql_database: database_id is "<project>:<instance>".
    return `resource.type = "cloudsql_database" AND resource.labels.database_id = "${binding.projectId}:${binding.instanceId}"`;
  }
  // redis_instance: instance_id is the full resource name.
  return `resource.type = "redis_instance" AND resource.labels.instance_id = "projects/${binding.projectId}/locations/${binding.region}/instances/${binding.instanceId}"`;
}

export function metricFilter(binding: GcpBinding, q: MetricQuery): string {
  return `metric.type = "${q.name}" AND ${resourceFilter(binding)}`;
}
