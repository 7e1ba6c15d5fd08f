import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { PgSession } from './session.js';

/** System schemas are the server's, not the application's: left out of schema metadata. */
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

interface SchemaRow {
  schema: string;
  owner: string;
}
const schemas = defineSignal<PgSession, SchemaRow>({
  id: 'postgres.schemas',
  family: 'schema',
  description: 'Schemas of the monitored database and their owners',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<SchemaRow>(
      `SELECT n.nspname AS schema, pg_get_userbyid(n.nspowner) AS owner
         FROM pg_namespace n
        WHERE ${USER_SCHEMAS}
        ORDER BY n.nspname`,
    ),
  fields: { schema: 'object_names', owner: 'identity_metadata' },
});

interface TableRow {
  schema: string;
  name: string;
  kind: string;
  rows_estimate: number;
  total_bytes: number;
  table_bytes: number;
  index_bytes: number;
}
const tables = defineSignal<PgSession, TableRow>({
  id: 'postgres.tables',
  family: 'schema',
  description: 'Tables, partitioned tables and materialized views with row estimates and sizes',
  requires: [],
  shape: 'rows',
  // Sizes take a brief AccessShareLock per relation; lock_timeout bounds the wait behind DDL.
  read: (s) =>
    s.query<TableRow>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
              c.reltuples::float8 AS rows_estimate,
              pg_total_relation_size(c.oid)::float8 AS total_bytes,
              pg_relation_size(c.oid)::float8 AS table_bytes,
              pg_indexes_size(c.oid)::float8 AS index_bytes
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND ${USER_SCHEMAS}
        ORDER BY n.nspname, c.relname`,
    ),
  fields: {
    schema: 'object_names',
    name: 'object_names',
    kind: null,
    rows_estimate: null,
    total_bytes: null,
    table_bytes: null,
    index_bytes: null,
  },
});

interface IndexRow {
  schema: string;
  table: string;
  name: string;
  is_unique: boolean;
  is_primary: boolean;
  is_valid: boolean;
  bytes: number;
  scans: number | null;
}
const indexes = defineSignal<PgSession, IndexRow>({
  id: 'postgres.indexes',
  family: 'schema',
  description: 'Indexes with size, validity and how often they are scanned (unused indexes show 0 scans)',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<IndexRow>(
      `SELECT n.nspname AS schema, t.relname AS table, c.relname AS name, i.indisunique AS is_unique,
              i.indisprimary AS is_primary, i.indisvalid AS is_valid,
              pg_relation_size(c.oid)::float8 AS bytes, st.idx_scan::float8 AS scans
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_user_indexes st ON st.indexrelid = i.indexrelid
        WHERE ${USER_SCHEMAS}
        ORDER BY n.nspname, t.relname, c.relname`,
    ),
  fields: {
    schema: 'object_names',
    table: 'object_names',
    name: 'object_names',
    is_unique: null,
    is_primary: null,
    is_valid: null,
    bytes: null,
    scans: null,
  },
});

interface FunctionRow {
  schema: string;
  name: string;
  kind: string;
  language: string;
  arguments: number;
  security_definer: boolean;
}
const functions = defineSignal<PgSession, FunctionRow>({
  id: 'postgres.functions',
  family: 'schema',
  description: 'Functions and procedures in application schemas (names, language, SECURITY DEFINER)',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<FunctionRow>(
      `SELECT n.nspname AS schema, p.proname AS name, p.prokind::text AS kind, l.lanname AS language,
              p.pronargs::int AS arguments, p.prosecdef AS security_definer
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_language l ON l.oid = p.prolang
        WHERE ${USER_SCHEMAS}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        ORDER BY n.nspname, p.proname, p.oid`,
    ),
  fields: { schema: 'object_names', name: 'object_names', kind: null, language: null, arguments: null, security_definer: 'config_posture' },
});

export const schemaSignals: readonly AnySignalSpec<PgSession>[] = [schemas, tables, indexes, functions];
