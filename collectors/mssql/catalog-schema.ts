import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import { perDatabase } from './databases.js';
import { GRANTS } from './model.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';
import { requireViews } from './views.js';

const TOP_OBJECTS = 500;

interface TableRow {
  database_name: string;
  schema_name: string;
  table_name: string;
  row_count: number;
  reserved_kb: number;
  used_kb: number;
  is_heap: boolean;
}
const tables = defineSignal<MssqlSession, TableRow>({
  id: 'mssql.tables',
  family: 'schema',
  description: 'User tables of every monitored database with row counts and reserved/used space (largest 500)',
  requires: [GRANTS.anyDefinition, GRANTS.serverState, GRANTS.connectAnyDatabase, GRANTS.viewAnyDatabase],
  shape: 'rows',
  read: async (s) => {
    // Metadata visibility: without VIEW ANY DEFINITION sys.tables lists only what the login owns, with no error.
    await requireGrants(s, [GRANTS.anyDefinition, GRANTS.serverState], 'table metadata and sizes');
    const rows = await perDatabase<TableRow>(
      s,
      (db) => `SELECT TOP (${TOP_OBJECTS}) ${db.literal} AS database_name, sc.name AS schema_name, t.name AS table_name,
              CAST(SUM(CASE WHEN ps.index_id IN (0, 1) THEN ps.row_count ELSE 0 END) AS float) AS row_count,
              CAST(SUM(ps.reserved_page_count) AS float) * 8 AS reserved_kb,
              CAST(SUM(ps.used_page_count) AS float) * 8 AS used_kb,
              CAST(MAX(CASE WHEN ps.index_id = 0 THEN 1 ELSE 0 END) AS bit) AS is_heap
         FROM ${db.ident}.sys.tables t
         JOIN ${db.ident}.sys.schemas sc ON sc.schema_id = t.schema_id
         LEFT JOIN ${db.ident}.sys.dm_db_partition_stats ps ON ps.object_id = t.object_id
        WHERE t.is_ms_shipped = 0
        GROUP BY sc.name, t.name
        ORDER BY SUM(ps.reserved_page_count) DESC`,
    );
    return rows.sort((a, b) => b.reserved_kb - a.reserved_kb).slice(0, TOP_OBJECTS);
  },
  fields: {
    database_name: 'object_names',
    schema_name: 'object_names',
    table_name: 'object_names',
    row_count: null,
    reserved_kb: null,
    used_kb: null,
    is_heap: null,
  },
});

interface IndexRow {
  database_name: string;
  schema_name: string;
  table_name: string;
  index_name: string | null;
  type_desc: string;
  is_unique: boolean;
  is_primary_key: boolean;
  is_disabled: boolean;
  size_kb: number;
  user_seeks: number;
  user_scans: number;
  user_lookups: number;
  user_updates: number;
  /** No seek, scan or lookup since the server started (sys.dm_db_index_usage_stats is reset at restart). */
  unused: boolean;
}
const indexes = defineSignal<MssqlSession, IndexRow>({
  id: 'mssql.indexes',
  family: 'schema',
  description: 'Indexes with size and usage since start (seeks, scans, lookups, updates; unused ones flagged), largest 500',
  requires: [GRANTS.anyDefinition, GRANTS.serverState, GRANTS.connectAnyDatabase, GRANTS.viewAnyDatabase],
  shape: 'rows',
  read: async (s) => {
    await requireGrants(s, [GRANTS.anyDefinition, GRANTS.serverState], 'index metadata and usage');
    const rows = await perDatabase<IndexRow>(
      s,
      (db) => `SELECT TOP (${TOP_OBJECTS}) ${db.literal} AS database_name, sc.name AS schema_name, t.name AS table_name, i.name AS index_name,
              i.type_desc, i.is_unique, i.is_primary_key, i.is_disabled,
              CAST(ISNULL(sz.used_pages, 0) AS float) * 8 AS size_kb,
              CAST(ISNULL(us.user_seeks, 0) AS float) AS user_seeks, CAST(ISNULL(us.user_scans, 0) AS float) AS user_scans,
              CAST(ISNULL(us.user_lookups, 0) AS float) AS user_lookups, CAST(ISNULL(us.user_updates, 0) AS float) AS user_updates,
              CAST(CASE WHEN ISNULL(us.user_seeks, 0) + ISNULL(us.user_scans, 0) + ISNULL(us.user_lookups, 0) = 0 THEN 1 ELSE 0 END AS bit) AS unused
         FROM ${db.ident}.sys.indexes i
         JOIN ${db.ident}.sys.tables t ON t.object_id = i.object_id
         JOIN ${db.ident}.sys.schemas sc ON sc.schema_id = t.schema_id
         LEFT JOIN (SELECT object_id, index_id, SUM(used_page_count) AS used_pages
                      FROM ${db.ident}.sys.dm_db_partition_stats GROUP BY object_id, index_id) sz
                ON sz.object_id = i.object_id AND sz.index_id = i.index_id
         LEFT JOIN sys.dm_db_index_usage_stats us ON us.database_id = DB_ID(${db.literal}) AND us.object_id = i.object_id AND us.index_id = i.index_id
        WHERE t.is_ms_shipped = 0 AND i.index_id > 0
        ORDER BY sz.used_pages DESC`,
    );
    return rows.sort((a, b) => b.size_kb - a.size_kb).slice(0, TOP_OBJECTS);
  },
  fields: {
    database_name: 'object_names',
    schema_name: 'object_names',
    table_name: 'object_names',
    index_name: 'object_names',
    type_desc: null,
    is_unique: null,
    is_primary_key: null,
    is_disabled: null,
    size_kb: null,
    user_seeks: null,
    user_scans: null,
    user_lookups: null,
    user_updates: null,
    unused: null,
  },
});

interface MissingIndexRow {
  database_name: string | null;
  table_name: string;
  equality_columns: string | null;
  inequality_columns: string | null;
  included_columns: string | null;
  user_seeks: number;
  user_scans: number;
  avg_total_user_cost: number;
  avg_user_impact: number;
  improvement_measure: number;
}
const missingIndexes = defineSignal<MssqlSession, MissingIndexRow>({
  id: 'mssql.missing_indexes',
  family: 'schema',
  description: 'Indexes the optimizer asked for since start, ranked by estimated improvement (missing-index DMVs, top 100)',
  requires: [GRANTS.serverState],
  shape: 'rows',
  read: async (s) => {
    await requireGrants(s, [GRANTS.serverState], 'missing-index suggestions');
    await requireViews(
      s,
      ['sys.dm_db_missing_index_details', 'sys.dm_db_missing_index_groups', 'sys.dm_db_missing_index_group_stats'],
      'missing-index suggestions',
    );
    return s.query<MissingIndexRow>(
      `SELECT TOP (100) DB_NAME(d.database_id) AS database_name, d.statement AS table_name,
              d.equality_columns, d.inequality_columns, d.included_columns,
              CAST(gs.user_seeks AS float) AS user_seeks, CAST(gs.user_scans AS float) AS user_scans,
              gs.avg_total_user_cost, gs.avg_user_impact,
              gs.avg_total_user_cost * gs.avg_user_impact * (gs.user_seeks + gs.user_scans) AS improvement_measure
         FROM sys.dm_db_missing_index_details d
         JOIN sys.dm_db_missing_index_groups g ON g.index_handle = d.index_handle
         JOIN sys.dm_db_missing_index_group_stats gs ON gs.group_handle = g.index_group_handle
        ORDER BY improvement_measure DESC`,
    );
  },
  fields: {
    database_name: 'object_names',
    table_name: 'object_names',
    equality_columns: 'object_names',
    inequality_columns: 'object_names',
    included_columns: 'object_names',
    user_seeks: null,
    user_scans: null,
    avg_total_user_cost: null,
    avg_user_impact: null,
    improvement_measure: null,
  },
});

export const schemaSignals: readonly AnySignalSpec<MssqlSession>[] = [tables, indexes, missingIndexes];
