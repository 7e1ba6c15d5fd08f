import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { TargetSchema } from '../../collectors/target.js';
import { DestinationSchema } from '../../contract/destination.js';
import { AgentRuntime, type RuntimeStatus } from '../../agent/run/app-runtime.js';
import { credentialAge, targetCredentialAge } from '../../agent/secrets/rotation.js';
import type { Vault } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { trayViewOf } from '../../electron/shell/tray-state.js';

const DAY = 86_400_000;
const now = new Date('2026-06-01T00:00:00.000Z');
const ago = (days: number): string => new Date(now.getTime() - days * DAY).toISOString();

describe('credential rotation clock', () => {
  it('is ok until 14 days before the period ends, then due, then overdue', () => {
    expect(credentialAge(ago(0), 90, now)).toEqual({ setAt: ago(0), dueAt: new Date(now.getTime() + 90 * DAY).toISOString(), state: 'ok' });
    expect(credentialAge(ago(75), 90, now).state).toBe('ok');
    expect(credentialAge(ago(76), 90, now).state).toBe('due');
    expect(credentialAge(ago(89), 90, now).state).toBe('due');
    expect(credentialAge(ago(90), 90, now).state).toBe('overdue');
    expect(credentialAge(ago(10), 20, now).state).toBe('due');
    expect(credentialAge(undefined, 90, now)).toEqual({ state: 'unknown' });
    expect(credentialAge('not a date', 90, now)).toEqual({ state: 'unknown' });
  });

  it('uses the target override and knows nothing about a target without a password', () => {
    expect(targetCredentialAge({ password: { secret: 'x' }, passwordSetAt: ago(40) }, now).state).toBe('ok');
    expect(targetCredentialAge({ password: { secret: 'x' }, passwordSetAt: ago(40), rotationDays: 30 }, now).state).toBe('overdue');
    expect(targetCredentialAge({ passwordSetAt: ago(400) }, now).state).toBe('unknown');
  });

  it('turns the tray to attention for a due or overdue password or API key', () => {
    const base: RuntimeStatus = { paused: false, targets: [{ id: 'pg-1', name: 'pg-1', engine: 'postgres', state: 'ok' }] };
    expect(trayViewOf(base).state).toBe('healthy');
    const due = trayViewOf({ ...base, targets: [{ ...base.targets[0]!, rotation: { state: 'overdue', dueAt: ago(1) } }] });
    expect(due.state).toBe('attention');
    expect(due.tooltip).toContain('pg-1: password overdue for rotation');
    expect(trayViewOf({ ...base, apiKeyRotation: { state: 'due', dueAt: ago(-3) } }).tooltip).toContain('API key due for rotation');
  });
});

/** A vault that "seals" by prefixing, so the test can see what was stored. */
const fakeVault: Vault = { backend: 'os-keychain', seal: async (p) => `sealed:${p}`, open: async (b) => b.slice('sealed:'.length) };

function api() {
  const home = mkdtempSync(join(tmpdir(), 'rot-'));
  const store = new StateStore(home);
  const ops = new TargetOperations({ id: 'a', version: '0.1.0', host: 't' }, new AuditLedger(join(home, 'audit')), () => fakeVault, {});
  const { handlers } = createHandlers({ store, ops });
  const call = (method: string, params: unknown) => dispatch(handlers, { method, params }, { emit: () => {} });
  return { store, call };
}

describe('rotation through the API', () => {
  const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app', connectTimeoutMs: 2000 };

  it('setPassword records when; status.get reports the clock; passwordSetAt cannot be forged through create', async () => {
    const { store, call } = api();
    await call('targets.create', { target });
    expect(await call('status.get', {})).toMatchObject({ ok: true, result: { targets: [{ id: 'pg-1', credentials: { state: 'unknown' } }] } });
    const before = Date.now();
    expect(await call('targets.setPassword', { id: 'pg-1', password: 'pw-1' })).toMatchObject({ ok: true });
    const setAt = Date.parse(store.target('pg-1')!.passwordSetAt!);
    expect(setAt).toBeGreaterThanOrEqual(before);
    expect(await call('status.get', {})).toMatchObject({
      ok: true,
      result: { targets: [{ credentials: { state: 'ok', setAt: new Date(setAt).toISOString() } }] },
    });
    expect(await call('targets.create', { target: { ...target, id: 'pg-2', passwordSetAt: ago(1) } })).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
  });

  it('status.get reports the state file and home open to other users (readiness page), and nothing when private', async () => {
    const priv = api();
    await priv.call('targets.create', { target });
    expect(await priv.call('status.get', {})).toMatchObject({ ok: true, result: { configPermissions: [] } });
    const open = api();
    await open.call('targets.create', { target });
    chmodSync(open.store.file, 0o644);
    const r = (await open.call('status.get', {})) as { result: { configPermissions: { path: string; problem: string }[] } };
    expect(r.result.configPermissions).toEqual([{ path: open.store.file, problem: expect.stringContaining(`chmod 600 "${open.store.file}"`) }]);
  });

  it('rotatePassword refuses a password it cannot connect with and keeps the old one', async () => {
    const { store, call } = api();
    await call('targets.create', { target });
    await call('targets.setPassword', { id: 'pg-1', password: 'old-pw' });
    const old = store.target('pg-1')!;
    const r = await call('targets.rotatePassword', { id: 'pg-1', password: 'new-pw' });
    expect(r).toMatchObject({ ok: false, error: { code: 'target_unreachable' } });
    expect(JSON.stringify(r)).toMatch(/new password not stored \(the current one is kept\)/);
    expect(JSON.stringify(r)).not.toContain('new-pw');
    expect(store.target('pg-1')).toEqual(old);
  });
});

describe('switching a password to an environment variable', () => {
  it('forgets when the sealed one was set (its clock no longer applies)', async () => {
    const { store, call } = api();
    await call('targets.create', { target: { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app' } });
    await call('targets.setPassword', { id: 'pg-1', password: 'pw' });
    expect(store.target('pg-1')!.passwordSetAt).toBeDefined();
    await call('targets.update', { id: 'pg-1', patch: { name: 'renamed' } });
    expect(store.target('pg-1')!.passwordSetAt).toBeDefined();
    await call('targets.update', { id: 'pg-1', patch: { password: { env: 'PG_PW' } } });
    expect(store.target('pg-1')).toMatchObject({ password: { env: 'PG_PW' } });
    expect(store.target('pg-1')!.passwordSetAt).toBeUndefined();
  });
});

describe('the tray runtime', () => {
  it('reports an overdue password and a due API key from the stored set times', async () => {
    const { store } = api();
    const t0 = Date.now();
    const days = (n: number) => new Date(t0 - n * DAY).toISOString();
    await store.putTarget(
      TargetSchema.parse({
        id: 'pg-old',
        engine: 'postgres',
        host: 'h',
        port: 5432,
        user: 'u',
        database: 'd',
        password: { secret: 'sealed:x' },
        passwordSetAt: days(100),
      }),
    );
    await store.putTarget(
      TargetSchema.parse({
        id: 'pg-new',
        engine: 'postgres',
        host: 'h',
        port: 5432,
        user: 'u',
        database: 'd',
        password: { secret: 'sealed:y' },
        passwordSetAt: days(1),
      }),
    );
    await store.updateSettings({ destination: DestinationSchema.parse({ url: 'https://ingest.example.com/v1', apiKey: { env: 'K' }, apiKeySetAt: days(80) }) });
    const ops = new TargetOperations({ id: 'a', version: '0.1.0', host: 't' }, new AuditLedger(mkdtempSync(join(tmpdir(), 'rot-a-'))), () => fakeVault, {});
    const status = new AgentRuntime({ store, ops, deliver: async () => {}, platform: 'linux' }).status();
    const byId = new Map(status.targets.map((t) => [t.id, t]));
    expect(byId.get('pg-old')!.rotation).toEqual({ state: 'overdue', dueAt: new Date(Date.parse(days(100)) + 90 * DAY).toISOString() });
    expect(byId.get('pg-new')!.rotation).toBeUndefined();
    expect(status.apiKeyRotation?.state).toBe('due');
    expect(trayViewOf(status).state).toBe('attention');
  });
});
