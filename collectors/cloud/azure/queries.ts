import type { AzureBinding } from '../binding.js';
import type { CloudSignalKind, MetricQuery } from '../metrics.js';

/**
 * The metrics read per service, by their "Name in REST API" from the Azure
 * Monitor supported-metrics reference:
 * - https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-sql-servers-databases-metrics
 * - https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-dbforpostgresql-flexibleservers-metrics
 * - https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-cache-redis-metrics
 * The statistic is the metric's documented default aggregation (Total for
 * counters, Maximum for Redis gauges, Average for utilisation). Every metric
 * here is published at PT1M, so one batch call per cycle reads them all.
 */
type Row = [signal: CloudSignalKind, name: string, statistic: 'Average' | 'Maximum' | 'Total', unit: string];

const PERIOD = 60;

const METRICS: Record<AzureBinding['service'], Row[]> = {
  'sql-database': [
    ['cpu', 'cpu_percent', 'Average', 'percent'],
    ['memory', 'sql_instance_memory_percent', 'Average', 'percent'],
    ['storage', 'storage', 'Maximum', 'bytes'],
    ['storage', 'storage_percent', 'Maximum', 'percent'],
    // Azure SQL publishes I/O as a share of the service tier's limit, not as operations per second.
    ['iops', 'physical_data_read_percent', 'Average', 'percent'],
    ['iops', 'log_write_percent', 'Average', 'percent'],
    ['connections', 'sessions_count', 'Average', 'count'],
    ['connections', 'connection_successful', 'Total', 'count'],
    // Geo-replication lag; published on the primary only (a database without a geo-secondary shows no_data).
    ['replica_lag', 'replication_lag_seconds', 'Maximum', 'seconds'],
    ['service', 'deadlock', 'Total', 'count'],
    ['service', 'workers_percent', 'Average', 'percent'],
  ],
  'postgresql-flexible': [
    ['cpu', 'cpu_percent', 'Average', 'percent'],
    ['memory', 'memory_percent', 'Average', 'percent'],
    ['storage', 'storage_used', 'Average', 'bytes'],
    ['storage', 'storage_percent', 'Average', 'percent'],
    // Documented unit "Count", described as operations per second.
    ['iops', 'read_iops', 'Average', 'count/s'],
    ['iops', 'write_iops', 'Average', 'count/s'],
    ['connections', 'active_connections', 'Average', 'count'],
    ['replica_lag', 'physical_replication_delay_in_seconds', 'Maximum', 'seconds'],
    ['service', 'connections_failed', 'Total', 'count'],
    // Enhanced metric (metrics.collector_database_activity): no_data until the server parameter is on.
    ['service', 'deadlocks', 'Total', 'count'],
    ['service', 'maximum_used_transactionIDs', 'Maximum', 'count'],
  ],
  'redis-cache': [
    ['cpu', 'percentProcessorTime', 'Maximum', 'percent'],
    ['memory', 'usedmemory', 'Maximum', 'bytes'],
    ['memory', 'usedmemorypercentage', 'Maximum', 'percent'],
    ['connections', 'connectedclients', 'Maximum', 'count'],
    ['service', 'cachehits', 'Total', 'count'],
    ['service', 'cachemisses', 'Total', 'count'],
    ['service', 'evictedkeys', 'Total', 'count'],
    // Documented unit "Count", an instantaneous operations-per-second gauge.
    ['service', 'operationsPerSecond', 'Maximum', 'count/s'],
    ['service', 'serverLoad', 'Maximum', 'percent'],
  ],
};

export function azureQueries(b: AzureBinding): MetricQuery[] {
  return METRICS[b.service].map(([signal, name, statistic, unit]) => ({ id: name, signal, name, statistic, unit, periodSeconds: PERIOD }));
}

/** ISO 8601 duration of a period, the batch API's `interval`. */
export function isoInterval(seconds: number): string {
  if (seconds % 3600 === 0) return `PT${seconds / 3600}H`;
  if (seconds % 60 === 0) return `PT${seconds / 60}M`;
  return `PT${seconds}S`;
}
