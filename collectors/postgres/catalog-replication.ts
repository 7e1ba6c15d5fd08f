import { defineSignal, type AnySignalSpec, type FieldCategories } from '../core/signal.js';
import { type Columns, selectColumns } from './columns.js';
import type { PgSession } from './session.js';
import { needsAllStats } from './visibility.js';

/** The server's current WAL position: the write position on a primary, the received one on a standby. */
const CURRENT_LSN = 'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END';

interface ReplicationRow {
  role: 'primary' | 'standby';
  current_lsn: string | null;
  replay_lsn: string | null;
  replay_delay_seconds: number | null;
  receiver_status: string | null;
  sender_host: string | null;
  sender_port: number | null;
  receiver_slot: string | null;
}
const replication = defineSignal<PgSession, ReplicationRow>({
  id: 'postgres.replication',
  family: 'replication',
  description: 'Role (primary or standby), WAL position and, on a standby, replay delay and WAL receiver state',
  // pg_stat_wal_receiver: on a standby, its details need pg_read_all_stats (a checklist item of its own).
  requires: ['pg_read_all_stats', 'pg_stat_wal_receiver'],
  shape: 'object',
  read: async (s) => {
    const rows = await s.query<ReplicationRow>(
      `SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END AS role,
              (${CURRENT_LSN})::text AS current_lsn,
              pg_last_wal_replay_lsn()::text AS replay_lsn,
              CASE WHEN pg_is_in_recovery()
                   THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_delay_seconds,
              w.status AS receiver_status, w.sender_host, w.sender_port, w.slot_name AS receiver_slot
         FROM (SELECT 1) AS one
         LEFT JOIN pg_stat_wal_receiver w ON true`,
    );
    // The WAL receiver's details are masked without pg_read_all_stats; the primary's view needs nothing. The role
    // comes with the one statement (no round trip of its own to ask first); masked details are never shipped.
    if (rows[0]?.role === 'standby') await needsAllStats(s, 'WAL receiver details');
    return rows;
  },
  fields: {
    role: null,
    current_lsn: null,
    replay_lsn: null,
    replay_delay_seconds: null,
    receiver_status: null,
    sender_host: 'client_metadata',
    sender_port: 'client_metadata',
    receiver_slot: 'object_names',
  },
});

interface StandbyRow {
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  sync_state: string | null;
  lag_bytes: number | null;
  write_lag_seconds: number | null;
  flush_lag_seconds: number | null;
  replay_lag_seconds: number | null;
}
const STANDBY_FIELDS: FieldCategories<StandbyRow> = {
  application_name: 'client_metadata',
  client_addr: 'client_metadata',
  state: null,
  sync_state: null,
  lag_bytes: null,
  write_lag_seconds: null,
  flush_lag_seconds: null,
  replay_lag_seconds: null,
};
const STANDBY_COLUMNS: Columns<StandbyRow> = {
  application_name: 'application_name',
  client_addr: 'host(client_addr)',
  state: 'state',
  sync_state: 'sync_state',
  lag_bytes: `pg_wal_lsn_diff(${CURRENT_LSN}, replay_lsn)::float8`,
  write_lag_seconds: 'extract(epoch FROM write_lag)::float8',
  flush_lag_seconds: 'extract(epoch FROM flush_lag)::float8',
  replay_lag_seconds: 'extract(epoch FROM replay_lag)::float8',
};
const standbys = defineSignal<PgSession, StandbyRow>({
  id: 'postgres.replication_standbys',
  family: 'replication',
  description: 'Standbys streaming from this server, with their state and lag (pg_stat_replication)',
  requires: ['pg_read_all_stats'],
  shape: 'rows',
  read: async (s, ctx) => {
    await needsAllStats(s, 'replication connections');
    return s.query<StandbyRow>(`SELECT ${selectColumns(STANDBY_COLUMNS, STANDBY_FIELDS, ctx)} FROM pg_stat_replication ORDER BY 1`);
  },
  fields: STANDBY_FIELDS,
});

interface SlotRow {
  slot_name: string;
  plugin: string | null;
  slot_type: string;
  database: string | null;
  active: boolean;
  wal_status: string | null;
  retained_bytes: number | null;
  safe_wal_size: number | null;
}
const slots = defineSignal<PgSession, SlotRow>({
  id: 'postgres.replication_slots',
  family: 'replication',
  description: 'Replication slots, whether active, and the WAL each one retains',
  requires: [],
  shape: 'rows',
  read: (s) =>
    s.query<SlotRow>(
      `SELECT slot_name, plugin, slot_type, database, active, wal_status,
              pg_wal_lsn_diff(${CURRENT_LSN}, restart_lsn)::float8 AS retained_bytes,
              safe_wal_size::float8 AS safe_wal_size
         FROM pg_replication_slots
        ORDER BY slot_name`,
    ),
  fields: {
    slot_name: 'object_names',
    plugin: null,
    slot_type: null,
    database: 'object_names',
    active: null,
    wal_status: null,
    retained_bytes: null,
    safe_wal_size: null,
  },
});

export const replicationSignals: readonly AnySignalSpec<PgSession>[] = [replication, standbys, slots];
