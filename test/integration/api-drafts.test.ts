// The setup wizard's draft calls (issue 22) against the harness Redis, whose slow-log
// cursor is per-target state between cycles: a draft preview reads the server with the
// password sent in the request and leaves nothing behind (no cycle event for the
// shipper or the feed, no state file, no stored target, the password nowhere on disk).
// The control case runs the same cycle on a stored target and sees the state written,
// so the draft assertions can fail.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { StateStore } from '../../agent/config/state-store.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { TargetOperations } from '../../agent/target-operations.js';
import type { CycleResult } from '../../collectors/cycle.js';

const redis = inject('redis');

function agent(vaultUp = false) {
  const home = mkdtempSync(join(tmpdir(), 'api-drafts-'));
  const store = new StateStore(home);
  const sealed: string[] = [];
  const ops = new TargetOperations(
    { id: 'agent-1', version: '0.1.0', host: 'test' },
    new AuditLedger(join(home, 'audit')),
    () => ({
      backend: 'os-keychain',
      seal: async (v: string) => {
        if (!vaultUp) throw new VaultError('unavailable', 'the OS keystore is locked');
        sealed.push(v);
        return `sealed-${sealed.length}`;
      },
      open: async () => sealed[0] ?? '',
    }),
    {},
    undefined,
    new TargetMemoryStore(targetStateDir(home)),
  );
  const cycles: CycleResult[] = [];
  ops.cycles.on('cycle', (r) => cycles.push(r));
  const { handlers } = createHandlers({ store, ops });
  const call = (method: string, params: unknown) => dispatch(handlers, { method, params }, { emit: () => {} }, () => {});
  return { home, store, ops, cycles, sealed, call };
}

function bytesUnder(dir: string): string {
  return readdirSync(dir)
    .map((n) => join(dir, n))
    .map((p) => (statSync(p).isDirectory() ? bytesUnder(p) : readFileSync(p).toString('latin1')))
    .join('\n');
}

const target = { id: 'draft-redis', engine: 'redis', host: redis.host, port: redis.port, user: redis.users.monitor.user };
const password = redis.users.monitor.password;

describe('draft calls on an unsaved target', () => {
  it('test, check and preview read the server with the password in the request and leave nothing behind', async () => {
    const a = agent();
    expect(await a.call('drafts.test', { target, password })).toMatchObject({ ok: true, result: { verdict: 'ok' } });
    expect(await a.call('drafts.checkPermissions', { target, password })).toMatchObject({ ok: true, result: { identity: { user: target.user } } });
    const preview = await a.call('drafts.preview', { target, password });
    expect(preview).toMatchObject({ ok: true, result: { payload: { target: { id: 'draft-redis' } } } });
    const signals = (preview as { result: { payload: { signals: Array<{ status: string }> } } }).result.payload.signals;
    expect(signals.some((s) => s.status === 'ok')).toBe(true);
    expect(a.cycles).toHaveLength(0);
    expect(existsSync(targetStateDir(a.home))).toBe(false);
    expect(a.store.target('draft-redis')).toBeUndefined();
    expect(a.ops.healthOf('draft-redis')).toEqual({ state: 'never_collected' });
    expect(bytesUnder(a.home)).not.toContain(password);
    // The same settings stored and collected (the control): the cycle is emitted and its cursor is remembered.
    const stored = agent(true);
    expect(await stored.call('targets.create', { target, password })).toMatchObject({ ok: true });
    const result = await stored.ops.collect(stored.store.target('draft-redis')!);
    await result.commitMemory();
    expect(stored.cycles).toHaveLength(1);
    expect(existsSync(targetStateDir(stored.home))).toBe(true);
  });

  it('a draft cannot borrow a stored target: its id must be free', async () => {
    const a = agent(true);
    await a.call('targets.create', { target, password });
    expect(await a.call('drafts.preview', { target: { ...target, host: '127.0.0.2' }, password: 'guess' })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
  });

  it('Finish stores the target and its sealed password in one write; a failed seal stores nothing', async () => {
    const down = agent(false);
    expect(await down.call('targets.create', { target, password })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(down.store.target('draft-redis')).toBeUndefined();
    expect(existsSync(down.store.file)).toBe(false);
    const up = agent(true);
    expect(await up.call('targets.create', { target, password })).toMatchObject({ ok: true, result: { password: 'vault' } });
    expect(up.store.target('draft-redis')).toMatchObject({ password: { secret: 'sealed-1' } });
    expect(up.store.target('draft-redis')?.passwordSetAt).toBeDefined();
    expect(readFileSync(up.store.file, 'utf8')).not.toContain(password);
  });
});
