import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';

function agentApi() {
  const home = mkdtempSync(join(tmpdir(), 'api-policy-'));
  const store = new StateStore(home);
  const ledger = new AuditLedger(join(home, 'audit'));
  const ops = new TargetOperations(
    { id: 'agent-1', version: '0.1.0', host: 'test' },
    ledger,
    () => {
      throw new VaultError('unavailable', 'no vault in this test');
    },
    {},
  );
  const { handlers } = createHandlers({ store, ops });
  const call = (method: string, params?: unknown) =>
    dispatch(handlers, { method, params }, { emit: () => {} }, (e) => {
      throw e;
    });
  const ledgerLines = () =>
    readFileSync(ledger.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { home, store, call, ledgerLines };
}

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app' };

describe('policy API', () => {
  it('reads and sets a target policy over the workspace default, recording each change', async () => {
    const { call, store, ledgerLines, home } = agentApi();
    await call('targets.create', { target });
    expect(await call('policy.get', { id: 'pg-1' })).toMatchObject({
      ok: true,
      result: { targetId: 'pg-1', target: {}, workspace: {}, effective: { query_text: 'redact', current_ops: 'exclude', client_metadata: 'collect' } },
    });

    const ws = await call('settings.update', { policy: { object_names: 'redact' } });
    expect(ws).toMatchObject({ ok: true, result: { policy: { object_names: 'redact' } } });
    const set = await call('policy.set', { id: 'pg-1', policy: { client_metadata: 'exclude', query_text: 'collect' } });
    expect(set).toMatchObject({
      ok: true,
      result: {
        target: { query_text: 'collect', client_metadata: 'exclude' },
        workspace: { object_names: 'redact' },
        effective: { object_names: 'redact', client_metadata: 'exclude', query_text: 'collect' },
      },
    });
    expect(store.target('pg-1')?.policy).toEqual({ query_text: 'collect', client_metadata: 'exclude' });
    expect(await call('targets.get', { id: 'pg-1' })).toMatchObject({ result: { policy: { client_metadata: 'exclude' } } });

    // The same policy again is not a change; clearing it is.
    await call('policy.set', { id: 'pg-1', policy: { client_metadata: 'exclude', query_text: 'collect' } });
    await call('policy.set', { id: 'pg-1', policy: {} });
    expect(store.target('pg-1')).not.toHaveProperty('policy');

    const changes = ledgerLines().filter((e) => e['kind'] === 'policy_change');
    expect(changes).toHaveLength(3);
    expect(changes[0]).toMatchObject({ scope: 'workspace', via: 'api', before: {}, after: { object_names: 'redact' } });
    expect(changes[1]).toMatchObject({ scope: 'target', targetId: 'pg-1', before: {}, after: { query_text: 'collect', client_metadata: 'exclude' } });
    expect(changes[2]).toMatchObject({ scope: 'target', targetId: 'pg-1', before: { client_metadata: 'exclude' }, after: {} });
    for (const c of changes) {
      expect(typeof c['actor']).toBe('string');
      expect(Date.parse(String(c['time']))).not.toBeNaN();
    }
    // Persisted: a restarted agent has the same policies.
    const again = new StateStore(home);
    expect(again.settings.policy).toEqual({ object_names: 'redact' });
  });

  it('refuses unknown categories and actions, and policy changes outside policy.set', async () => {
    const { call, store } = agentApi();
    await call('targets.create', { target });
    expect(await call('policy.set', { id: 'pg-1', policy: { query_txt: 'redact' } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await call('policy.set', { id: 'pg-1', policy: { query_text: 'hide' } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await call('policy.set', { id: 'nope', policy: {} })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await call('targets.update', { id: 'pg-1', patch: { policy: { query_text: 'collect' } } })).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
    expect(await call('settings.update', { policy: { current_ops: 'maybe' } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(store.target('pg-1')?.policy).toBeUndefined();
  });

  it('records a policy given at creation', async () => {
    const { call, ledgerLines } = agentApi();
    await call('targets.create', { target: { ...target, policy: { identity_metadata: 'redact' } } });
    expect(ledgerLines().filter((e) => e['kind'] === 'policy_change')).toEqual([
      expect.objectContaining({ scope: 'target', targetId: 'pg-1', before: {}, after: { identity_metadata: 'redact' } }),
    ]);
  });
});
