import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import type { Vault } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';

/** A vault that "seals" by prefixing, so the test can see what was stored. */
const fakeVault: Vault = { backend: 'os-keychain', seal: async (p) => `sealed:${p}`, open: async (b) => b.slice('sealed:'.length) };

function api() {
  const home = mkdtempSync(join(tmpdir(), 'cloud-api-'));
  const store = new StateStore(home);
  const ops = new TargetOperations({ id: 'a', version: '0.1.0', host: 't' }, new AuditLedger(join(home, 'audit')), () => fakeVault, {});
  const { handlers } = createHandlers({ store, ops });
  const call = (method: string, params: unknown) => dispatch(handlers, { method, params }, { emit: () => {} });
  return { store, call };
}

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app' };
const cloud = { provider: 'aws', region: 'eu-west-1', service: 'rds', resourceId: 'orders-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' };

describe('cloud binding through the API', () => {
  it('seals the secret with setCloudSecret; the view shows only where it comes from; status has its rotation clock', async () => {
    const { store, call } = api();
    await call('targets.create', { target: { ...target, cloud } });
    expect(await call('status.get', {})).toMatchObject({ ok: true, result: { targets: [{ id: 'pg-1', cloudCredentials: { state: 'unknown' } }] } });
    expect(await call('targets.setCloudSecret', { id: 'pg-1', secret: 'wJalrXUtnFEMI/K7MDENG' })).toEqual({ ok: true, result: { stored: true } });
    expect(store.target('pg-1')?.cloud).toMatchObject({ secret: { secret: 'sealed:wJalrXUtnFEMI/K7MDENG' }, secretSetAt: expect.any(String) });
    const view = await call('targets.get', { id: 'pg-1' });
    expect(view).toMatchObject({ ok: true, result: { cloud: { provider: 'aws', resourceId: 'orders-1', secret: 'vault' } } });
    expect(JSON.stringify(view)).not.toContain('wJalrXUtnFEMI');
    expect(await call('status.get', {})).toMatchObject({ ok: true, result: { targets: [{ cloudCredentials: { state: 'ok' } }] } });
  });

  it('an edited binding keeps the sealed secret for the same provider; null removes the binding', async () => {
    const { store, call } = api();
    await call('targets.create', { target: { ...target, cloud } });
    await call('targets.setCloudSecret', { id: 'pg-1', secret: 's3cret' });
    expect(await call('targets.update', { id: 'pg-1', patch: { cloud: { ...cloud, resourceId: 'orders-2' } } })).toMatchObject({ ok: true });
    expect(store.target('pg-1')?.cloud).toMatchObject({ resourceId: 'orders-2', secret: { secret: 'sealed:s3cret' } });
    expect(await call('targets.update', { id: 'pg-1', patch: { cloud: null } })).toMatchObject({ ok: true });
    expect(store.target('pg-1')?.cloud).toBeUndefined();
  });

  it('refuses a vault blob or a forged secretSetAt from the caller, and a secret for a target without a binding', async () => {
    const { call } = api();
    const blob = await call('targets.create', { target: { ...target, cloud: { ...cloud, secret: { secret: 'logstag-secret:v1:x' } } } });
    expect(blob).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/cloud.secret: must be \{"env": NAME\}/) } });
    const forged = await call('targets.create', { target: { ...target, cloud: { ...cloud, secretSetAt: new Date().toISOString() } } });
    expect(forged).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/secretSetAt: is set by the agent/) } });
    await call('targets.create', { target });
    expect(await call('targets.setCloudSecret', { id: 'pg-1', secret: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/has no cloud binding/) },
    });
  });
});
