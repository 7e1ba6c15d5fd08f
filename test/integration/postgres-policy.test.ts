// The policy end to end against the harness PostgreSQL: what the preview API
// returns is byte for byte what the shipper writes for the same cycle, excluded
// columns are not even selected, redacted names are stable across cycles.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PayloadV1Schema, serializePayload } from '../../collectors/core/payload.js';
import type { FeedEvent, Preview } from '../../contract/api.js';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { Delivery } from '../../agent/delivery/delivery.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { jsonFile, runAgentCli } from '../helpers/cli.js';
import { readStatements } from '../../agent/audit/reader.js';
import { superClient } from '../helpers/pg.js';

const pg = inject('pg');

function agent() {
  const home = mkdtempSync(join(tmpdir(), 'policy-it-'));
  const store = new StateStore(home);
  const ledger = new AuditLedger(join(home, 'audit'));
  const noVault = () => {
    throw new VaultError('unavailable', 'no OS keystore in this test');
  };
  const nameKeys = new NameKeyStore(home, noVault);
  const ops = new TargetOperations(
    { id: '0c5b1a4e-6f1d-4a8e-9b7c-2d3e4f5a6b7c', version: '0.1.0', host: 'it-host' },
    ledger,
    noVault,
    { IT_PG: pg.users.monitor.password },
    () => nameKeys.load(),
  );
  // The delivery of this agent: every finished cycle goes into the spool, as `run` does.
  const delivery = Delivery.open({ agent: ops.agent, spool: { dir: join(home, 'spool'), maxBytes: 16 * 1024 * 1024 }, destination: null });
  const shipped: Array<Promise<unknown>> = [];
  ops.cycles.on('cycle', (r) => shipped.push(delivery.then((d) => d.put(r.payload))));
  const { handlers } = createHandlers({ store, ops });
  const events: FeedEvent[] = [];
  const conn = { emit: (e: FeedEvent) => events.push(JSON.parse(JSON.stringify(e)) as FeedEvent) };
  const call = async <T>(method: string, params: unknown): Promise<T> => {
    const res = await dispatch(handlers, { method, params }, conn, (e) => {
      throw e;
    });
    if (!res.ok) throw new Error(`${method}: ${res.error.message}`);
    return res.result as T;
  };
  return { home, ledger, delivery, shipped, events, call };
}

const target = (extra: Record<string, unknown> = {}) => ({
  id: 'appdb',
  engine: 'postgres',
  host: pg.host,
  port: pg.port,
  user: pg.users.monitor.user,
  database: pg.database,
  password: { env: 'IT_PG' },
  tls: { mode: 'disable' },
  ...extra,
});

type Row = Record<string, unknown>;
const rowsOf = (p: Preview['payload'], id: string): Row[] => {
  const s = p.signals.find((x) => x.id === id);
  if (s?.status !== 'ok') throw new Error(`${id} is not ok: ${JSON.stringify(s)}`);
  return s.value as Row[];
};

describe('policy against the harness PostgreSQL', () => {
  // postgres.activity lists sessions doing something: a transaction left open gives every cycle such a row.
  let open: Client;
  beforeAll(async () => {
    open = await superClient(pg);
    await open.query('BEGIN');
    await open.query('SELECT 1');
  });
  afterAll(async () => {
    await open.end();
  });

  it('preview and shipped payload are byte-identical for the same cycle, and the feed carries the same bytes', async () => {
    const a = agent();
    await a.call('targets.create', { target: target() });
    const { subscription } = await a.call<{ subscription: string }>('feed.subscribe', {});
    await a.call('policy.set', { id: 'appdb', policy: { client_metadata: 'exclude', identity_metadata: 'redact' } });

    const preview = await a.call<Preview>('preview.get', { id: 'appdb' });
    expect(a.shipped).toHaveLength(1);
    await a.shipped[0];
    // The bytes as they sit in the spool, which is what the shipper sends.
    const spooled = await (await a.delivery).spool.peek(10, 64 * 1024 * 1024);
    expect(spooled.records).toHaveLength(1);
    const shippedBytes = spooled.records[0]!.body;
    expect(Buffer.from(serializePayload(preview.payload)).equals(shippedBytes)).toBe(true);
    // The feed carried the entry only; its bytes, asked for by the subscriber, are the spooled bytes.
    expect(a.events).toHaveLength(1);
    expect(a.events[0]!.entry.bytes).toBe(shippedBytes.length);
    const { json } = await a.call<{ json: string }>('feed.bytes', { subscription, entry: a.events[0]!.entry.entry });
    expect(json).toBe(shippedBytes.toString('utf8'));
    PayloadV1Schema.parse(JSON.parse(shippedBytes.toString('utf8')));

    // The policy applied: client metadata absent (not even selected), users hashed, the annotations say so.
    const activity = rowsOf(preview.payload, 'postgres.activity');
    expect(activity.length).toBeGreaterThan(0);
    for (const r of activity) {
      for (const k of ['client_addr', 'application_name', 'pid', 'blocked_by']) expect(r).not.toHaveProperty(k);
      expect(r).toHaveProperty('state');
      if (r['usename'] !== null) expect(r['usename']).toMatch(/^h:[0-9a-f]{16}$/);
    }
    expect(preview.payload.signals.find((s) => s.id === 'postgres.activity')).toMatchObject({ policy: { client_addr: 'exclude', usename: 'redact' } });
    expect(preview.annotations).toContainEqual({ signalId: 'postgres.activity', field: 'client_addr', category: 'client_metadata', action: 'exclude' });
    expect(preview.policy).toMatchObject({ client_metadata: 'exclude', identity_metadata: 'redact', query_text: 'redact' });
    expect(shippedBytes.toString('utf8')).not.toContain(`"${pg.users.monitor.user}"`);

    const statements = readStatements(a.ledger.dir);
    const activitySql = statements.map((e) => e.statement ?? '').filter((s) => s.includes('FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND'));
    expect(activitySql).toHaveLength(1);
    expect(activitySql[0]).not.toMatch(/client_addr|application_name|pg_blocking_pids/);
    expect(activitySql[0]).toMatch(/usename/); // redacted, so read (then hashed)
  });

  it('hashes are stable across cycles and a policy change applies from the next cycle', async () => {
    const a = agent();
    await a.call('targets.create', { target: target({ policy: { object_names: 'redact', identity_metadata: 'redact' } }) });
    const first = await a.call<Preview>('preview.get', { id: 'appdb' });
    const second = await a.call<Preview>('preview.get', { id: 'appdb' });
    const dbs = (p: Preview) => rowsOf(p.payload, 'postgres.databases').map((r) => r['datname']);
    expect(dbs(first).length).toBeGreaterThan(0);
    expect(dbs(second)).toEqual(dbs(first));
    for (const d of dbs(first)) expect(d).toMatch(/^h:[0-9a-f]{16}$/);
    expect(dbs(first)).not.toContain(pg.database);

    await a.call('policy.set', { id: 'appdb', policy: { object_names: 'collect' } });
    const third = await a.call<Preview>('preview.get', { id: 'appdb' });
    expect(dbs(third)).toContain(pg.database);
    const settings = rowsOf(third.payload, 'postgres.settings');
    expect(settings.some((r) => r['name'] === 'max_connections' && r['setting'] !== '?')).toBe(true);

    await a.call('settings.update', { policy: { config_posture: 'exclude' } });
    const fourth = await a.call<Preview>('preview.get', { id: 'appdb' });
    for (const r of rowsOf(fourth.payload, 'postgres.settings')) expect(Object.keys(r).sort()).toEqual(['name', 'pending_restart', 'unit']);
  });

  it('the CLI applies a policy from the target file and prints the shipped bytes', async () => {
    const file = jsonFile(target({ policy: { client_metadata: 'redact' } }));
    const r = await runAgentCli(['collect', '--once', '--target', file, '--json'], { env: { IT_PG: pg.users.monitor.password } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    expect(r.stdout.trimEnd()).toBe(serializePayload(p));
    const activity = rowsOf(p, 'postgres.activity');
    expect(activity.length).toBeGreaterThan(0);
    for (const row of activity) {
      expect(row['pid']).toMatch(/^h:[0-9a-f]{16}$/);
      for (const b of row['blocked_by'] as unknown[]) expect(b).toMatch(/^h:/);
    }
  });
});
