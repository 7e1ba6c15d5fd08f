// What each PostgreSQL major adds, read from a real server of that major: the 'node' project
// runs this on Debian's 15, the postgres-14/16/17/18 projects on the registry builds
// (vitest.config.ts). The expectations below are written out per version from the release
// notes and the servers' own catalogs, not derived from the collector's code.
import { describe, expect, inject, it } from 'vitest';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { agentOps, pgTarget, superClient } from '../helpers/pg.js';
import { unsupportedOn, VIEW_SINCE } from '../helpers/pg-versions.js';

const pg = inject('pg');
const major = pg.major;

type Value = Record<string, unknown>;
type Sig = { id: string; status: string; reason?: string; detail?: string; fix?: string; value?: Value | Value[] };
const sig = (p: PayloadV1, id: string) => p.signals.find((s) => s.id === id) as unknown as Sig;
const rows = (p: PayloadV1, id: string): Value[] => {
  const s = sig(p, id);
  expect(s, id).toMatchObject({ status: 'ok' });
  return s.value as Value[];
};
const one = (p: PayloadV1, id: string): Value => {
  const s = sig(p, id);
  expect(s, id).toMatchObject({ status: 'ok' });
  return s.value as Value;
};

/** A number where the server has the counter, null where this major lacks it: never 0 for "absent". */
function presentFrom(row: Value, since: number, fields: readonly string[]): void {
  for (const f of fields) {
    expect(row, f).toHaveProperty(f);
    if (major >= since) expect(typeof row[f], `${f} on ${major}`).toBe('number');
    else expect(row[f], `${f} on ${major}`).toBeNull();
  }
}
/** The opposite: a counter a later release removed is null from then on. */
function presentUntil(row: Value, last: number, fields: readonly string[]): void {
  for (const f of fields) {
    expect(row, f).toHaveProperty(f);
    if (major <= last) expect(typeof row[f], `${f} on ${major}`).toBe('number');
    else expect(row[f], `${f} on ${major}`).toBeNull();
  }
}

async function collect(role: 'lowpriv' | 'monitor' | 'admin', database = pg.database) {
  const { ops } = agentOps(pg.users[role].password);
  return (await ops.collect(pgTarget({ ...pg, database }, pg.users[role].user))).payload;
}

describe(`PostgreSQL ${major}: what this version adds is collected, what it lacks is null or unsupported`, () => {
  it('the server is the major this project runs', async () => {
    const server = one(await collect('monitor'), 'postgres.server') as { version_num: number };
    expect(Math.floor(server.version_num / 10000)).toBe(major);
  });

  it('pg_monitor: every signal ok but hba_rules (superuser-only) and the views this major lacks, each unsupported naming the version', async () => {
    const p = await collect('monitor');
    const notOk = p.signals
      .filter((s) => s.status !== 'ok')
      .map((s) => s.id)
      .sort();
    expect(notOk).toEqual(['postgres.hba_rules', ...unsupportedOn(major)].sort());
    for (const id of unsupportedOn(major)) {
      const s = sig(p, id);
      expect(s).toMatchObject({ status: 'unavailable', reason: 'unsupported' });
      expect(s.detail).toContain(VIEW_SINCE[id]!.view);
      expect(s.detail).toMatch(new RegExp(`PostgreSQL ${major}\\.\\d+`));
      expect(s.detail).toContain(`added in PostgreSQL ${VIEW_SINCE[id]!.since}`);
      expect(s).not.toHaveProperty('value');
    }
  });

  it('the new views need no grant beyond LOGIN: readable (or unsupported) for a role without pg_monitor', async () => {
    const p = await collect('lowpriv');
    for (const id of Object.keys(VIEW_SINCE)) {
      expect(sig(p, id).status === 'ok' ? 'ok' : sig(p, id).reason, id).toBe(unsupportedOn(major).includes(id) ? 'unsupported' : 'ok');
    }
  });

  it('pg_stat_io (16+): rows per backend type/object/context; byte counters from 18, op_bytes up to 17', async () => {
    const p = await collect('monitor');
    if (major < 16) {
      expect(sig(p, 'postgres.io').reason).toBe('unsupported');
      return;
    }
    const io = rows(p, 'postgres.io');
    expect(io.length).toBeGreaterThan(10);
    const client = io.find((r) => r.backend_type === 'client backend' && r.object === 'relation' && r.context === 'normal');
    expect(client, 'client backend / relation / normal').toBeDefined();
    presentFrom(client!, 18, ['read_bytes', 'write_bytes', 'extend_bytes']);
    presentUntil(client!, 17, ['op_bytes']);
    expect(typeof client!.hits).toBe('number');
    expect(client!.hits as number).toBeGreaterThan(0);
  });

  it('pg_stat_wal (14+): WAL volume everywhere, write/sync counters only up to 17 (18 moved them to pg_stat_io)', async () => {
    const wal = one(await collect('monitor'), 'postgres.wal');
    presentFrom(wal, 14, ['wal_records', 'wal_fpi', 'wal_bytes', 'wal_buffers_full']);
    presentUntil(wal, 17, ['wal_write', 'wal_sync', 'wal_write_time_ms', 'wal_sync_time_ms']);
    expect(wal.wal_bytes as number).toBeGreaterThan(0);
  });

  it('checkpointer: restartpoints from 17, checkpoints done and SLRU writes from 18, buffers_backend only before 17', async () => {
    const c = one(await collect('monitor'), 'postgres.checkpointer');
    presentFrom(c, 14, ['checkpoints_timed', 'checkpoints_requested', 'buffers_checkpoint', 'buffers_clean', 'buffers_alloc']);
    presentFrom(c, 17, ['restartpoints_timed', 'restartpoints_requested', 'restartpoints_done']);
    presentFrom(c, 18, ['checkpoints_done', 'slru_written']);
    presentUntil(c, 16, ['buffers_backend']);
  });

  it('pg_stat_database: session counters from 14, parallel workers from 18', async () => {
    const dbs = rows(await collect('monitor'), 'postgres.databases');
    const app = dbs.find((d) => d.datname === pg.database);
    expect(app).toBeDefined();
    presentFrom(app!, 14, [
      'sessions',
      'session_time_ms',
      'active_time_ms',
      'idle_in_transaction_time_ms',
      'sessions_abandoned',
      'sessions_fatal',
      'sessions_killed',
    ]);
    presentFrom(app!, 18, ['parallel_workers_to_launch', 'parallel_workers_launched']);
    expect(app!.sessions as number).toBeGreaterThan(0);
  });

  it('vacuum: cumulative (auto)vacuum and analyze time per table from 18', async () => {
    const su = await superClient(pg);
    try {
      await su.query('CREATE TABLE IF NOT EXISTS version_probe (id int)');
      await su.query('INSERT INTO version_probe SELECT generate_series(1, 100)');
      await su.query('VACUUM ANALYZE version_probe');
    } finally {
      await su.end();
    }
    try {
      const t = rows(await collect('monitor'), 'postgres.vacuum').find((r) => r.relname === 'version_probe');
      expect(t).toBeDefined();
      presentFrom(t!, 18, ['total_vacuum_time_ms', 'total_autovacuum_time_ms', 'total_analyze_time_ms', 'total_autoanalyze_time_ms']);
    } finally {
      const cleanup = await superClient(pg);
      await cleanup.query('DROP TABLE IF EXISTS version_probe');
      await cleanup.end();
    }
  });

  it('pg_stat_statements: planning and WAL everywhere, JIT from 15 (deform from 17), stats_since from 17, parallel workers and WAL buffers from 18', async () => {
    const qs = rows(await collect('monitor'), 'postgres.query_stats');
    expect(qs.length).toBeGreaterThan(0);
    for (const r of qs.slice(0, 5)) {
      presentFrom(r, 14, ['plans', 'total_plan_time_ms', 'wal_records', 'wal_fpi', 'wal_bytes']);
      presentFrom(r, 15, [
        'jit_functions',
        'jit_generation_time_ms',
        'jit_inlining_count',
        'jit_inlining_time_ms',
        'jit_optimization_count',
        'jit_optimization_time_ms',
        'jit_emission_count',
        'jit_emission_time_ms',
      ]);
      presentFrom(r, 17, ['jit_deform_count', 'jit_deform_time_ms']);
      presentFrom(r, 18, ['wal_buffers_full', 'parallel_workers_to_launch', 'parallel_workers_launched']);
      if (major >= 17) expect(r.stats_since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      else expect(r.stats_since).toBeNull();
    }
    const info = sig(await collect('monitor'), 'postgres.statements_info');
    expect(info).toMatchObject({ status: 'ok', value: { dealloc: 0 } });
    expect((info.value as Value).stats_reset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('columns follow the installed extension, not the server version: pg_stat_statements 1.8 on this server reads null for what 1.8 lacks', async () => {
    // An extension left at an older SQL version (e.g. after pg_upgrade) has an older view on a newer
    // server: choosing columns by server_version_num would send a statement that fails.
    const admin = await superClient(pg, 'postgres');
    try {
      await admin.query('DROP DATABASE IF EXISTS oldext WITH (FORCE)');
      await admin.query('CREATE DATABASE oldext');
      await admin.query('GRANT CONNECT ON DATABASE oldext TO monitor');
    } finally {
      await admin.end();
    }
    const db = await superClient(pg, 'oldext');
    try {
      await db.query("CREATE EXTENSION pg_stat_statements VERSION '1.8'");
      await db.query('SELECT count(*) FROM pg_class');
    } finally {
      await db.end();
    }
    try {
      const p = await collect('monitor', 'oldext');
      const qs = rows(p, 'postgres.query_stats');
      expect(qs.length).toBeGreaterThan(0);
      for (const r of qs.slice(0, 5)) {
        presentFrom(r, 14, ['plans', 'total_plan_time_ms', 'wal_bytes']);
        for (const f of ['jit_functions', 'jit_deform_count', 'stats_since', 'parallel_workers_launched', 'wal_buffers_full']) expect(r[f], f).toBeNull();
      }
      const info = sig(p, 'postgres.statements_info');
      expect(info).toMatchObject({ status: 'unavailable', reason: 'unsupported' });
      expect(info.detail).toMatch(new RegExp(`PostgreSQL ${major}\\.\\d+ with pg_stat_statements 1\\.8`));
      expect(info.fix).toMatch(/ALTER EXTENSION pg_stat_statements UPDATE/);
    } finally {
      const cleanup = await superClient(pg, 'postgres');
      await cleanup.query('DROP DATABASE IF EXISTS oldext WITH (FORCE)');
      await cleanup.end();
    }
  });

  it('pg_stat_subscription_stats (15+): one row per subscription, conflict counters from 18', async () => {
    const su = await superClient(pg);
    // A subscription that never connects: enough for its statistics row, no publisher needed.
    const create =
      "CREATE SUBSCRIPTION version_probe_sub CONNECTION 'host=127.0.0.1 port=1 dbname=none' PUBLICATION p WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE)";
    try {
      await su.query('DROP SUBSCRIPTION IF EXISTS version_probe_sub');
      await su.query(create);
      const p = await collect('monitor');
      if (major < 15) {
        expect(sig(p, 'postgres.subscription_stats').reason).toBe('unsupported');
        return;
      }
      const sub = rows(p, 'postgres.subscription_stats').find((r) => r.subname === 'version_probe_sub');
      expect(sub).toBeDefined();
      presentFrom(sub!, 15, ['apply_error_count', 'sync_error_count']);
      presentFrom(sub!, 18, [
        'confl_insert_exists',
        'confl_update_origin_differs',
        'confl_update_exists',
        'confl_update_missing',
        'confl_delete_origin_differs',
        'confl_delete_missing',
        'confl_multiple_unique_conflicts',
      ]);
    } finally {
      await su.query('DROP SUBSCRIPTION IF EXISTS version_probe_sub');
      await su.end();
    }
  });
});
