import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { KeychainVault } from '../../agent/secrets/keychain-vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { superClient } from '../helpers/pg.js';

describe('password rotation is test-then-swap (real PostgreSQL, real Secret Service)', () => {
  it('refuses a new password the server rejects, keeps the old one, and stores the right one', async () => {
    const pg = inject('pg');
    const role = `rot_${randomUUID().slice(0, 8)}`;
    const [oldPw, newPw] = [`old-${randomUUID()}`, `new-${randomUUID()}`];
    const su = await superClient(pg);
    try {
      await su.query(`CREATE ROLE ${role} LOGIN PASSWORD '${oldPw}'`);
      const home = mkdtempSync(join(tmpdir(), 'rot-pg-'));
      const store = new StateStore(home);
      const vault = new KeychainVault({ service: `logstag-test-${randomUUID()}` });
      const ops = new TargetOperations({ id: 'a', version: '0.1.0', host: 't' }, new AuditLedger(join(home, 'audit')), () => vault, {});
      const { handlers } = createHandlers({ store, ops });
      const call = (method: string, params: unknown) => dispatch(handlers, { method, params }, { emit: () => {} });
      const target = { id: 'pg-rot', engine: 'postgres', host: pg.host, port: pg.port, user: role, database: pg.database, tls: { mode: 'disable' } };
      expect(await call('targets.create', { target })).toMatchObject({ ok: true });
      expect(await call('targets.setPassword', { id: 'pg-rot', password: oldPw })).toMatchObject({ ok: true });
      expect(await call('targets.test', { id: 'pg-rot' })).toMatchObject({ ok: true, result: { verdict: 'ok' } });
      const before = store.target('pg-rot')!;

      // The DBA changes the password on the server; the operator first types a wrong one.
      await su.query(`ALTER ROLE ${role} PASSWORD '${newPw}'`);
      const wrong = await call('targets.rotatePassword', { id: 'pg-rot', password: 'not-the-new-one' });
      expect(wrong).toMatchObject({ ok: false, error: { code: 'target_unreachable' } });
      expect(JSON.stringify(wrong)).toMatch(/new password not stored \(the current one is kept\).*authentication/i);
      expect(store.target('pg-rot')).toEqual(before);
      expect(await vault.open((before.password as { secret: string }).secret)).toBe(oldPw);

      await new Promise((r) => setTimeout(r, 5)); // a later setAt
      const ok = await call('targets.rotatePassword', { id: 'pg-rot', password: newPw });
      expect(ok).toMatchObject({ ok: true, result: { stored: true } });
      const after = store.target('pg-rot')!;
      expect(after.passwordSetAt).toBe((ok as { result: { setAt: string } }).result.setAt);
      expect(Date.parse(after.passwordSetAt!)).toBeGreaterThan(Date.parse(before.passwordSetAt!));
      expect(await vault.open((after.password as { secret: string }).secret)).toBe(newPw);
      expect(await call('targets.test', { id: 'pg-rot' })).toMatchObject({ ok: true, result: { verdict: 'ok' } });
      expect(await call('status.get', {})).toMatchObject({
        ok: true,
        result: { targets: [{ id: 'pg-rot', credentials: { state: 'ok', setAt: after.passwordSetAt } }] },
      });
    } finally {
      await su.query(`DROP ROLE IF EXISTS ${role}`);
      await su.end();
    }
  });
});
