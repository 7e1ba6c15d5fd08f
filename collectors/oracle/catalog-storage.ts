import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { needsAllContainers } from './visibility.js';

// CDB_ views everywhere: in a PDB they show that PDB, in a non-CDB the database (CON_ID 0),
// in CDB$ROOT every container the user's CONTAINER_DATA allows. One grant name for all three.

interface TablespaceRow {
  con_id: number;
  tablespace_name: string;
  contents: string;
  status: string;
  bigfile: string;
  used_bytes: number;
  max_bytes: number;
  used_percent: number;
}
const tablespaces = defineSignal<OracleSession, TablespaceRow>({
  id: 'oracle.tablespaces',
  family: 'schema',
  description: 'Tablespace usage against the maximum size including autoextend (CDB_TABLESPACE_USAGE_METRICS)',
  requires: ['CDB_TABLESPACE_USAGE_METRICS', 'CDB_TABLESPACES'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'tablespaces');
    return s.query<TablespaceRow>(
      `SELECT m.con_id, m.tablespace_name, t.contents, t.status, t.bigfile,
              m.used_space * t.block_size AS used_bytes, m.tablespace_size * t.block_size AS max_bytes,
              ROUND(m.used_percent, 2) AS used_percent
         FROM cdb_tablespace_usage_metrics m
         JOIN cdb_tablespaces t ON t.con_id = m.con_id AND t.tablespace_name = m.tablespace_name
        ORDER BY m.con_id, m.tablespace_name`,
    );
  },
  fields: {
    con_id: null,
    tablespace_name: 'object_names',
    contents: null,
    status: null,
    bigfile: null,
    used_bytes: null,
    max_bytes: null,
    used_percent: null,
  },
});

interface SegmentRow {
  con_id: number;
  owner: string;
  segment_name: string;
  partition_name: string | null;
  segment_type: string;
  tablespace_name: string | null;
  bytes: number;
}
const segments = defineSignal<OracleSession, SegmentRow>({
  id: 'oracle.segments',
  family: 'schema',
  description: 'The 100 largest segments (tables, indexes, LOBs, partitions) from CDB_SEGMENTS',
  requires: ['CDB_SEGMENTS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'segments');
    return s.query<SegmentRow>(
      `SELECT con_id, owner, segment_name, partition_name, segment_type, tablespace_name, bytes
         FROM cdb_segments
        ORDER BY bytes DESC
        FETCH FIRST 100 ROWS ONLY`,
    );
  },
  fields: {
    con_id: null,
    owner: 'object_names',
    segment_name: 'object_names',
    partition_name: 'object_names',
    segment_type: null,
    tablespace_name: 'object_names',
    bytes: null,
  },
});

interface ObjectCountRow {
  con_id: number;
  owner: string;
  object_type: string;
  status: string;
  objects: number;
}
const schemaObjects = defineSignal<OracleSession, ObjectCountRow>({
  id: 'oracle.schema_objects',
  family: 'schema',
  description: 'Application schema objects by owner, type and status (invalid objects stand out); Oracle-maintained schemas excluded',
  requires: ['CDB_OBJECTS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'schema objects');
    return s.query<ObjectCountRow>(
      `SELECT con_id, owner, object_type, status, COUNT(*) AS objects
         FROM cdb_objects
        WHERE oracle_maintained = 'N'
        GROUP BY con_id, owner, object_type, status
        ORDER BY con_id, owner, object_type, status
        FETCH FIRST 2000 ROWS ONLY`,
    );
  },
  fields: { con_id: null, owner: 'object_names', object_type: null, status: null, objects: null },
});

export const storageSignals: readonly AnySignalSpec<OracleSession>[] = [tablespaces, segments, schemaObjects];
