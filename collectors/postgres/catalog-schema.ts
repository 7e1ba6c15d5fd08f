import { defineSignal, type AnySignalSpec, type SignalSpec } from '../core/signal.js';
import type { PgSession } from './session.js';

/** System schemas are the server's, not the application's: left out of schema metadata. */
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/**
 * Rows per statement of a schema read. A database can hold any number of tables: each
 * signal reads its catalog in keyset pages (`WHERE oid > $last ORDER BY oid LIMIT n`),
 * one statement per page, so every statement's time and the driver's buffer are bounded
 * by the page, not by the database (docs/postgres-schema.md). 1,000 rows keep the planner's
 * cost of a page of postgres.tables (about 60,000) under the default jit_above_cost (100,000):
 * a JIT compile cost more server time than the page itself (measured on PostgreSQL 15).
 */
export const SCHEMA_PAGE_ROWS = 1000;

export interface SchemaReadOptions {
  /** Rows per page (statement); SCHEMA_PAGE_ROWS unless a test asks for small pages. */
  pageRows?: number;
}

/** The page cursor every paged statement returns next to the signal's fields; never shipped. */
interface Cursor {
  cursor: number;
}

/**
 * Reads a catalog in keyset pages and stitches them into one value. `sql` selects the
 * rows whose key (an oid, returned as `cursor`) is greater than $1, ordered by it, at most
 * $2 of them. The cursor must strictly increase from page to page, so the loop ends on any
 * answer, even a wrong one; a page shorter than asked is the last.
 */
export async function readPaged<Row extends object>(s: PgSession, sql: string, pageRows: number): Promise<Row[]> {
  if (!Number.isSafeInteger(pageRows) || pageRows < 1) throw new Error(`bad schema page size ${pageRows}`);
  const out: Row[] = [];
  let after = 0;
  for (;;) {
    const page = await s.query<Row & Cursor>(sql, [after, pageRows]);
    for (const r of page) {
      const { cursor, ...row } = r;
      if (!(typeof cursor === 'number' && cursor > after)) throw new Error('the schema page cursor did not advance: the catalog answer is out of order');
      after = cursor;
      out.push(row as unknown as Row);
    }
    if (page.length < pageRows) return out;
  }
}

interface SchemaRow {
  schema: string;
  owner: string;
}

interface TableRow {
  schema: string;
  name: string;
  kind: string;
  rows_estimate: number;
  total_bytes: number;
  table_bytes: number;
  index_bytes: number;
}

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

interface FunctionRow {
  schema: string;
  name: string;
  kind: string;
  language: string;
  arguments: number;
  security_definer: boolean;
}

/** Bytes of `pages` pages of this server's block size. */
const BYTES = (pages: string): string => `(${pages})::float8 * current_setting('block_size')::float8`;
/** Pages of the indexes of the relation `rel` (an oid expression), from pg_class.relpages. */
const INDEX_PAGES = (rel: string): string =>
  `(SELECT coalesce(sum(ic.relpages), 0) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = ${rel})`;

/**
 * The schema signals, with reads paged by `opts.pageRows`. Sizes are the planner's page
 * counts (pg_class.relpages, kept by VACUUM, ANALYZE and CREATE INDEX) times the block
 * size: reading them opens no relation, takes no lock and builds no relation cache entry
 * in the server, where pg_total_relation_size() on 30,000 tables did all three 150,000
 * times a cycle (docs/postgres-schema.md has the measurements).
 */
export function schemaSignalsWith(opts: SchemaReadOptions = {}): {
  schemas: SignalSpec<PgSession, SchemaRow>;
  tables: SignalSpec<PgSession, TableRow>;
  indexes: SignalSpec<PgSession, IndexRow>;
  functions: SignalSpec<PgSession, FunctionRow>;
} {
  const pageRows = opts.pageRows ?? SCHEMA_PAGE_ROWS;

  const schemas = defineSignal<PgSession, SchemaRow>({
    id: 'postgres.schemas',
    family: 'schema',
    description: 'Schemas of the monitored database and their owners',
    requires: [],
    shape: 'rows',
    read: (s) =>
      readPaged<SchemaRow>(
        s,
        `SELECT n.oid::int8::float8 AS cursor, n.nspname AS schema, pg_get_userbyid(n.nspowner) AS owner
           FROM pg_namespace n
          WHERE n.oid > $1 AND ${USER_SCHEMAS}
          ORDER BY n.oid
          LIMIT $2`,
        pageRows,
      ),
    fields: { schema: 'object_names', owner: 'identity_metadata' },
  });

  const tables = defineSignal<PgSession, TableRow>({
    id: 'postgres.tables',
    family: 'schema',
    description: 'Tables, partitioned tables and materialized views with row estimates and sizes (from the planner statistics: as of the last VACUUM/ANALYZE)',
    requires: [],
    shape: 'rows',
    // total = the table, its TOAST table and TOAST index, and its indexes (what pg_total_relation_size
    // counts, without the free space and visibility maps).
    read: (s) =>
      readPaged<TableRow>(
        s,
        `SELECT cursor, schema, name, kind, rows_estimate,
                ${BYTES('pages + index_pages + toast_pages')} AS total_bytes,
                ${BYTES('pages')} AS table_bytes,
                ${BYTES('index_pages')} AS index_bytes
           FROM (SELECT c.oid::int8::float8 AS cursor, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
                        c.reltuples::float8 AS rows_estimate, c.relpages AS pages, ${INDEX_PAGES('c.oid')} AS index_pages,
                        coalesce((SELECT t.relpages + ${INDEX_PAGES('t.oid')} FROM pg_class t WHERE t.oid = c.reltoastrelid), 0) AS toast_pages
                   FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.oid > $1 AND c.relkind IN ('r', 'p', 'm') AND ${USER_SCHEMAS}
                  ORDER BY c.oid
                  LIMIT $2) p
          ORDER BY cursor`,
        pageRows,
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

  const indexes = defineSignal<PgSession, IndexRow>({
    id: 'postgres.indexes',
    family: 'schema',
    description: 'Indexes with size (from the planner statistics), validity and how often they are scanned (unused indexes show 0 scans)',
    requires: [],
    shape: 'rows',
    // pg_stat_get_numscans() is what pg_stat_user_indexes.idx_scan reads, asked for this page's
    // indexes only: joining the view made every page compute it for every index of the database.
    // `c.oid > $1` repeats the cursor for pg_class (the planner does not carry an inequality across
    // the join): without it every page scanned pg_class from its first oid.
    read: (s) =>
      readPaged<IndexRow>(
        s,
        `SELECT i.indexrelid::int8::float8 AS cursor, n.nspname AS schema, t.relname AS table, c.relname AS name,
                i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid,
                ${BYTES('c.relpages')} AS bytes, pg_stat_get_numscans(i.indexrelid)::float8 AS scans
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.indexrelid > $1 AND c.oid > $1 AND ${USER_SCHEMAS}
          ORDER BY i.indexrelid
          LIMIT $2`,
        pageRows,
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

  const functions = defineSignal<PgSession, FunctionRow>({
    id: 'postgres.functions',
    family: 'schema',
    description: 'Functions and procedures in application schemas (names, language, SECURITY DEFINER)',
    requires: [],
    shape: 'rows',
    // An extension's functions depend on it (deptype 'e', classid pg_proc): left out. The classid
    // lets the probe use pg_depend's index instead of scanning every dependency of the database.
    read: (s) =>
      readPaged<FunctionRow>(
        s,
        `SELECT p.oid::int8::float8 AS cursor, n.nspname AS schema, p.proname AS name, p.prokind::text AS kind,
                l.lanname AS language, p.pronargs::int AS arguments, p.prosecdef AS security_definer
           FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           JOIN pg_language l ON l.oid = p.prolang
          WHERE p.oid > $1 AND ${USER_SCHEMAS}
            AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
          ORDER BY p.oid
          LIMIT $2`,
        pageRows,
      ),
    fields: { schema: 'object_names', name: 'object_names', kind: null, language: null, arguments: null, security_definer: 'config_posture' },
  });

  return { schemas, tables, indexes, functions };
}

const standard = schemaSignalsWith();
export const schemaSignals: readonly AnySignalSpec<PgSession>[] = [standard.schemas, standard.tables, standard.indexes, standard.functions];
