import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { METHODS, type Response } from '../../contract/api.js';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { VaultError } from '../../agent/secrets/vault.js';

function agentApi() {
  const home = mkdtempSync(join(tmpdir(), 'api-'));
  const store = new StateStore(home);
  const ops = new TargetOperations(
    { id: 'agent-1', version: '0.1.0', host: 'test' },
    new AuditLedger(join(home, 'audit')),
    () => {
      throw new VaultError('unavailable', 'no vault in this test');
    },
    {},
  );
  const { handlers } = createHandlers({ store, ops });
  const conn = { emit: () => {} };
  return { store, call: (msg: unknown) => dispatch(handlers, msg, conn, () => {}) };
}

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app' };

describe('agent API handler table', () => {
  it('serves the CRUD calls through validation', async () => {
    const { call } = agentApi();
    const created = await call({ id: 1, method: 'targets.create', params: { target } });
    expect(created).toMatchObject({ id: 1, ok: true, result: { id: 'pg-1', name: 'pg-1', password: 'none', intervalSeconds: 60 } });
    expect(await call({ method: 'targets.create', params: { target } })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const updated = await call({ method: 'targets.update', params: { id: 'pg-1', patch: { name: 'Main DB' } } });
    expect(updated).toMatchObject({ ok: true, result: { name: 'Main DB', intervalSeconds: 60 } });
    const slow = await call({ method: 'targets.update', params: { id: 'pg-1', patch: { intervalSeconds: 300 } } });
    expect(slow).toMatchObject({ ok: true, result: { name: 'Main DB', intervalSeconds: 300 } });
    expect(await call({ method: 'targets.list' })).toMatchObject({ ok: true, result: [{ id: 'pg-1' }] });
    expect(await call({ method: 'status.get', params: {} })).toMatchObject({ ok: true, result: { targets: [{ id: 'pg-1', state: 'never_collected' }] } });
    expect(await call({ method: 'targets.delete', params: { id: 'pg-1' } })).toMatchObject({ ok: true });
    expect(await call({ method: 'targets.get', params: { id: 'pg-1' } })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('refuses a plaintext password in a target and explains bad fields', async () => {
    const { call } = agentApi();
    const r = (await call({ method: 'targets.create', params: { target: { ...target, password: 'hunter2' } } })) as Extract<Response, { ok: false }>;
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('bad_request');
    const r2 = (await call({ method: 'targets.create', params: { target: { ...target, database: undefined } } })) as Extract<Response, { ok: false }>;
    expect(r2.error.message).toMatch(/database: is required for postgres/);
  });

  it('reports an unreachable target as a verdict, not a crash', async () => {
    const { call } = agentApi();
    await call({ method: 'targets.create', params: { target: { ...target, port: 1, connectTimeoutMs: 2000 } } });
    const r = await call({ method: 'targets.test', params: { id: 'pg-1' } });
    expect(r).toMatchObject({ ok: true, result: { verdict: 'unreachable' } });
  });

  it('answers thousands of malformed messages with a clear one-line error and never throws', async () => {
    const { call, store } = agentApi();
    const anyMethod = fc.oneof(fc.constantFrom(...METHODS), fc.string(), fc.constant('__proto__'), fc.constant('constructor'), fc.constant('toString'));
    const message = fc.oneof(
      fc.anything(),
      fc.record({ method: anyMethod, params: fc.anything() }, { requiredKeys: [] }),
      fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.anything()), method: anyMethod, params: fc.dictionary(fc.string(), fc.anything()) }),
      fc.record({
        method: fc.constantFrom(...METHODS),
        params: fc.record(
          { id: fc.anything(), target: fc.anything(), patch: fc.anything(), password: fc.anything(), subscription: fc.anything() },
          { requiredKeys: [] },
        ),
      }),
    );
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(message, async (msg) => {
        const res = await call(msg);
        expect(typeof res.ok).toBe('boolean');
        if (!res.ok) {
          errors++;
          expect(res.error.message.length).toBeGreaterThan(0);
          expect(res.error.message).not.toMatch(/\n|\bat .+:\d+:\d+/);
          expect(res.error.code).not.toBe('internal');
        }
      }),
      { numRuns: 3000 },
    );
    expect(errors).toBeGreaterThan(2500);
    // Nothing malformed got into the stored configuration.
    expect(store.targets.every((t) => typeof t.id === 'string')).toBe(true);
  }, 120_000);
});
