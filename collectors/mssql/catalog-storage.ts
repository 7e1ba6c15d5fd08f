import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants, requirePlatform } from './visibility.js';

interface FileIoRow {
  database_name: string | null;
  file_id: number;
  type_desc: string | null;
  logical_name: string | null;
  physical_name: string | null;
  size_mb: number | null;
  num_of_reads: number;
  num_of_bytes_read: number;
  io_stall_read_ms: number;
  num_of_writes: number;
  num_of_bytes_written: number;
  io_stall_write_ms: number;
}
const IO_COLUMNS = `CAST(vfs.num_of_reads AS float) AS num_of_reads, CAST(vfs.num_of_bytes_read AS float) AS num_of_bytes_read,
              CAST(vfs.io_stall_read_ms AS float) AS io_stall_read_ms, CAST(vfs.num_of_writes AS float) AS num_of_writes,
              CAST(vfs.num_of_bytes_written AS float) AS num_of_bytes_written, CAST(vfs.io_stall_write_ms AS float) AS io_stall_write_ms`;

const fileIo = defineSignal<MssqlSession, FileIoRow>({
  id: 'mssql.file_io',
  family: 'server_stats',
  description: 'Data and log files with size and cumulative I/O counts, bytes and stalls (sys.dm_io_virtual_file_stats)',
  requires: [GRANTS.serverState, GRANTS.anyDefinition],
  shape: 'rows',
  read: async (s) => {
    // sys.master_files hides other databases' files without VIEW ANY DEFINITION: the join would silently drop them.
    await requireGrants(s, [GRANTS.serverState, GRANTS.anyDefinition], 'file statistics');
    if (s.facts.platform === 'azure_sql_database') {
      return s.query<FileIoRow>(
        `SELECT DB_NAME() AS database_name, vfs.file_id, df.type_desc, df.name AS logical_name, df.physical_name,
                CAST(df.size AS float) * 8 / 1024 AS size_mb, ${IO_COLUMNS}
           FROM sys.dm_io_virtual_file_stats(DB_ID(), NULL) vfs
           JOIN sys.database_files df ON df.file_id = vfs.file_id
          ORDER BY vfs.file_id`,
      );
    }
    return s.query<FileIoRow>(
      `SELECT DB_NAME(vfs.database_id) AS database_name, vfs.file_id, mf.type_desc, mf.name AS logical_name, mf.physical_name,
              CAST(mf.size AS float) * 8 / 1024 AS size_mb, ${IO_COLUMNS}
         FROM sys.dm_io_virtual_file_stats(NULL, NULL) vfs
         JOIN sys.master_files mf ON mf.database_id = vfs.database_id AND mf.file_id = vfs.file_id
        ORDER BY database_name, vfs.file_id`,
    );
  },
  fields: {
    database_name: 'object_names',
    file_id: null,
    type_desc: null,
    logical_name: 'object_names',
    physical_name: 'object_names',
    size_mb: null,
    num_of_reads: null,
    num_of_bytes_read: null,
    io_stall_read_ms: null,
    num_of_writes: null,
    num_of_bytes_written: null,
    io_stall_write_ms: null,
  },
});

interface MemoryRow {
  process_memory_mb: number | null;
  memory_utilization_percentage: number | null;
  process_physical_memory_low: boolean | null;
  total_physical_memory_mb: number | null;
  available_physical_memory_mb: number | null;
  system_memory_state_desc: string | null;
  buffer_pool_mb: number | null;
  page_life_expectancy_s: number | null;
  target_server_memory_mb: number | null;
  total_server_memory_mb: number | null;
}
const counter = (name: string, object: string, scale: string): string =>
  `(SELECT TOP (1) CAST(cntr_value AS float)${scale} FROM sys.dm_os_performance_counters WHERE counter_name = N'${name}' AND object_name LIKE N'%${object}%')`;

const memory = defineSignal<MssqlSession, MemoryRow>({
  id: 'mssql.memory',
  family: 'server_stats',
  description: 'Process and host memory, buffer pool size, page life expectancy, target and total server memory',
  requires: [GRANTS.serverState],
  shape: 'object',
  read: async (s) => {
    requirePlatform(s, ['sql_server', 'managed_instance'], 'instance memory');
    await requireGrants(s, [GRANTS.serverState], 'memory statistics');
    // Buffer pool size from the Buffer Manager counter, not sys.dm_os_buffer_descriptors: that view scans every buffer.
    return s.query<MemoryRow>(
      `SELECT CAST(pm.physical_memory_in_use_kb AS float) / 1024 AS process_memory_mb, pm.memory_utilization_percentage,
              pm.process_physical_memory_low,
              CAST(sm.total_physical_memory_kb AS float) / 1024 AS total_physical_memory_mb,
              CAST(sm.available_physical_memory_kb AS float) / 1024 AS available_physical_memory_mb, sm.system_memory_state_desc,
              ${counter('Database pages', 'Buffer Manager', ' * 8 / 1024')} AS buffer_pool_mb,
              ${counter('Page life expectancy', 'Buffer Manager', '')} AS page_life_expectancy_s,
              ${counter('Target Server Memory (KB)', 'Memory Manager', ' / 1024')} AS target_server_memory_mb,
              ${counter('Total Server Memory (KB)', 'Memory Manager', ' / 1024')} AS total_server_memory_mb
         FROM sys.dm_os_process_memory pm CROSS JOIN sys.dm_os_sys_memory sm`,
    );
  },
  fields: {
    process_memory_mb: null,
    memory_utilization_percentage: null,
    process_physical_memory_low: null,
    total_physical_memory_mb: null,
    available_physical_memory_mb: null,
    system_memory_state_desc: null,
    buffer_pool_mb: null,
    page_life_expectancy_s: null,
    target_server_memory_mb: null,
    total_server_memory_mb: null,
  },
});

interface ClerkRow {
  clerk_type: string;
  memory_mb: number;
}
const memoryClerks = defineSignal<MssqlSession, ClerkRow>({
  id: 'mssql.memory_clerks',
  family: 'server_stats',
  description: 'The 20 largest memory clerks by type (sys.dm_os_memory_clerks)',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    requirePlatform(s, ['sql_server', 'managed_instance'], 'memory clerks');
    await requireGrants(s, [GRANTS.serverState], 'memory clerks');
    return s.query<ClerkRow>(
      `SELECT TOP (20) type AS clerk_type, CAST(SUM(pages_kb) AS float) / 1024 AS memory_mb
         FROM sys.dm_os_memory_clerks
        GROUP BY type
        ORDER BY SUM(pages_kb) DESC`,
    );
  },
  fields: { clerk_type: null, memory_mb: null },
});

interface TempdbRow {
  data_files: number;
  total_mb: number | null;
  free_mb: number | null;
  user_objects_mb: number | null;
  internal_objects_mb: number | null;
  version_store_mb: number | null;
}
const tempdb = defineSignal<MssqlSession, TempdbRow>({
  id: 'mssql.tempdb',
  family: 'server_stats',
  description: 'TempDB space: free, user objects, internal objects (sorts, spools) and version store',
  requires: [GRANTS.serverState],
  shape: 'object',
  read: async (s) => {
    await requireGrants(s, [GRANTS.serverState], 'TempDB space usage');
    return s.query<TempdbRow>(
      `SELECT COUNT(*) AS data_files,
              CAST(SUM(total_page_count) AS float) * 8 / 1024 AS total_mb,
              CAST(SUM(unallocated_extent_page_count) AS float) * 8 / 1024 AS free_mb,
              CAST(SUM(user_object_reserved_page_count) AS float) * 8 / 1024 AS user_objects_mb,
              CAST(SUM(internal_object_reserved_page_count) AS float) * 8 / 1024 AS internal_objects_mb,
              CAST(SUM(version_store_reserved_page_count) AS float) * 8 / 1024 AS version_store_mb
         FROM tempdb.sys.dm_db_file_space_usage`,
    );
  },
  fields: { data_files: null, total_mb: null, free_mb: null, user_objects_mb: null, internal_objects_mb: null, version_store_mb: null },
});

export const storageSignals: readonly AnySignalSpec<MssqlSession>[] = [fileIo, memory, memoryClerks, tempdb];
