import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import type { DeliveryStatus } from '../../contract/delivery-status.js';
import type { Vault } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';

/** A stand-in vault: reversible, so the test can prove the stored value is the sealed one and not the plaintext. */
const fakeVault: Vault = {
  backend: 'os-keychain',
  seal: async (p) => `sealed:${Buffer.from(p).toString('hex')}`,
  open: async (b) => Buffer.from(b.slice(7), 'hex').toString(),
};

function api(delivery?: { status(): Promise<DeliveryStatus> }, home = mkdtempSync(join(tmpdir(), 'api-dlv-'))) {
  const store = new StateStore(home);
  const ops = new TargetOperations({ id: 'agent-1', version: '0.1.0', host: 'test' }, new AuditLedger(join(home, 'audit')), () => fakeVault, {});
  const { handlers } = createHandlers({ store, ops, ...(delivery ? { delivery } : {}) });
  return { home, store, call: (method: string, params: unknown = {}) => dispatch(handlers, { method, params }, { emit: () => {} }, () => {}) };
}

describe('API: destination settings and delivery status', () => {
  it('stores the destination with the API key sealed; the UI sees where secrets come from, never their value', async () => {
    const { call, store, home } = api();
    const r = await call('settings.update', {
      destination: {
        url: 'https://ingest.logstag.example/v1',
        apiKey: { value: 'lsk_live_abc' },
        proxy: { url: 'http://proxy.corp:3128', username: 'agent', password: { env: 'PROXY_PW' } },
      },
    });
    expect(r).toEqual({
      ok: true,
      result: {
        paused: false,
        policy: {},
        destination: {
          url: 'https://ingest.logstag.example/v1',
          apiKey: 'vault',
          proxy: { url: 'http://proxy.corp:3128', username: 'agent', password: 'env' },
          allowPrivateAddress: false,
          maxBatchesPerSecond: 2,
          maxBytesPerSecond: 1048576,
        },
      },
    });
    expect(store.settings.destination?.apiKey).toEqual({ secret: `sealed:${Buffer.from('lsk_live_abc').toString('hex')}` });
    expect(readFileSync(join(home, 'state.json'), 'utf8')).not.toContain('lsk_live_abc');
    expect(JSON.stringify(await call('settings.get'))).not.toContain('lsk_live_abc');

    // Changing the URL keeps the stored key; null removes the destination.
    await call('settings.update', { destination: { url: 'https://eu.ingest.logstag.example/v1' } });
    expect(store.settings.destination).toMatchObject({ url: 'https://eu.ingest.logstag.example/v1', apiKey: { secret: expect.stringMatching(/^sealed:/) } });
    await call('settings.update', { destination: null });
    expect(store.settings.destination).toBeNull();
  });

  it('refuses what the run config refuses, with one line', async () => {
    const { call } = api();
    expect(await call('settings.update', { destination: { url: 'http://ingest.logstag.example/', apiKey: { env: 'K' } } })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/url: must use https/) },
    });
    expect(await call('settings.update', { destination: { url: 'https://ingest.logstag.example/' } })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/destination\.apiKey: required/) },
    });
    expect(await call('settings.update', { destination: { url: 'https://x.example/', apiKey: 'plaintext' } })).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
  });

  it('status.get carries the delivery status when a pipeline runs, null otherwise', async () => {
    expect(await api().call('status.get')).toMatchObject({ ok: true, result: { delivery: null } });
    const status: DeliveryStatus = {
      destination: 'https://ingest.logstag.example/v1',
      state: 'retrying',
      lastSuccessAt: '2026-11-26T10:00:00.000Z',
      backlog: { payloads: 12, bytes: 40960 },
      oldestUnsentAgeSeconds: 95.5,
      dropped: { count: 3, total: 3, since: '2026-11-26T09:00:00.000Z' },
      lastError: 'the Logstag endpoint ingest.logstag.example refused the connection',
      lastErrorAt: '2026-11-26T10:01:00.000Z',
      nextAttemptAt: '2026-11-26T10:01:04.000Z',
      egressRefusals: 0,
    };
    expect(await api({ status: async () => status }).call('status.get')).toMatchObject({ ok: true, result: { delivery: status } });
  });

  it('a state file from before delivery (destinationUrl) still opens', () => {
    const home = mkdtempSync(join(tmpdir(), 'api-dlv-'));
    writeFileSync(join(home, 'state.json'), JSON.stringify({ version: 1, targets: [], settings: { paused: true, destinationUrl: null } }));
    const store = new StateStore(home);
    expect(store.settings).toMatchObject({ paused: true, destination: null });
  });
});
