// A full configure-and-collect flow with known passwords, then every file the
// agent wrote under LOGSTAG_HOME is scanned for them (plain, base64, hex).
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { auditDir, targetStateDir } from '../../agent/config/paths.js';
import { StateStore } from '../../agent/config/state-store.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { KeychainVault } from '../../agent/secrets/keychain-vault.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { jsonFile, type RunningCli, runAgentCli, spawnAgentCli } from '../helpers/cli.js';
import { superClient } from '../helpers/pg.js';

/** Every way the secret could appear in a file: as is, base64/base64url at any alignment, hex. */
function needles(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out = [secret, bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (let k = 0; k < 3; k++) {
    for (const enc of ['base64', 'base64url'] as const) {
      const b = Buffer.concat([Buffer.alloc(k), bytes])
        .toString(enc)
        .replace(/=+$/, '');
      // Drop the characters that mix in the padding bytes or the unknown next byte.
      out.push(b.slice(Math.ceil((k * 4) / 3), b.length - 3));
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

const running: RunningCli[] = [];
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
});

describe('no secret reaches the disk', () => {
  it('secret encrypt, check, collect --once, run with a spool and the API path leave no password in any file the agent wrote', async () => {
    const pg = inject('pg');
    const role = `leak_${randomUUID().slice(0, 8)}`;
    const [cliPw, apiPw] = [`Cli-${randomUUID()}`, `Api-${randomUUID()}`];
    const su = await superClient(pg);
    try {
      await su.query(`CREATE ROLE ${role} LOGIN PASSWORD '${cliPw}'`);
      await su.query(`GRANT pg_monitor TO ${role}`);
      const home = mkdtempSync(join(tmpdir(), 'lsa-leak-home-'));
      const outputs: string[] = [];

      const enc = await runAgentCli(['secret', 'encrypt'], { input: `${cliPw}\n`, home });
      expect(enc.code).toBe(0);
      outputs.push(enc.stdout, enc.stderr);
      const target = {
        id: 'pg-leak',
        engine: 'postgres',
        host: pg.host,
        port: pg.port,
        user: role,
        database: pg.database,
        password: { secret: enc.stdout.trim() },
        passwordSetAt: new Date().toISOString(),
        tls: { mode: 'disable' },
      };
      const targetFile = jsonFile(target);

      // Written with the default umask (0644): check warns; once private, it does not.
      chmodSync(targetFile, 0o644);
      const loose = await runAgentCli(['check', '--target', targetFile], { home });
      expect(loose.code).toBe(0);
      expect(loose.stdout).toContain(`WARNING: ${targetFile} can be read by other users (mode 0644); run: chmod 600 "${targetFile}"`);
      chmodSync(targetFile, 0o600);
      const check = await runAgentCli(['check', '--target', targetFile, '--json'], { home });
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ credentials: { state: 'ok', setAt: target.passwordSetAt }, configPermissions: [] });
      const collect = await runAgentCli(['collect', '--once', '--target', targetFile, '--json'], { home });
      expect(collect.code).toBe(0);
      outputs.push(loose.stdout, loose.stderr, check.stdout, check.stderr, collect.stdout, collect.stderr);

      const runFile = jsonFile({ intervalSeconds: 1, targets: [target], spool: { dir: join(home, 'spool') } }, 'run.json');
      const r = spawnAgentCli(['run', '--config', runFile], { home });
      running.push(r);
      await r.waitForCount(/; spooled /, 2);
      r.child.kill('SIGTERM');
      expect((await r.exited).code).toBe(0);
      outputs.push(r.lines().join('\n'));
      const spool = await runAgentCli(['spool', '--config', runFile], { home });
      expect(spool.code).toBe(0);
      expect(spool.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);

      // The app's path: the password typed in the UI goes through targets.setPassword into the state file.
      await su.query(`ALTER ROLE ${role} PASSWORD '${apiPw}'`);
      const vault = new KeychainVault();
      const nameKeys = new NameKeyStore(home, () => vault);
      const ops = new TargetOperations(
        { id: 'a', version: '0.1.0', host: 't' },
        new AuditLedger(auditDir(home)),
        () => vault,
        {},
        () => nameKeys.load(),
        new TargetMemoryStore(targetStateDir(home)),
      );
      const store = new StateStore(home);
      const { handlers } = createHandlers({ store, ops });
      const call = (method: string, params: unknown) => dispatch(handlers, { method, params }, { emit: () => {} });
      const { password: _p, passwordSetAt: _s, ...plain } = target;
      expect(await call('targets.create', { target: { ...plain, id: 'pg-app', policy: { object_names: 'redact' } } })).toMatchObject({ ok: true });
      expect(await call('targets.setPassword', { id: 'pg-app', password: apiPw })).toMatchObject({ ok: true });
      expect(await call('targets.test', { id: 'pg-app' })).toMatchObject({ ok: true, result: { verdict: 'ok' } });
      const collected = await call('collect.now', { id: 'pg-app' });
      expect(collected).toMatchObject({ ok: true });
      const responses = JSON.stringify([collected, await call('targets.get', { id: 'pg-app' }), await call('status.get', {})]);
      outputs.push(responses);

      const files = filesUnder(home);
      const wrote = (name: string) => files.some((f) => f.includes(name));
      expect(['state.json', 'spool', 'audit'].filter((n) => !wrote(n))).toEqual([]);
      const hits: string[] = [];
      for (const secret of [cliPw, apiPw]) {
        const ns = needles(secret);
        for (const f of files) {
          const text = readFileSync(f).toString('latin1');
          for (const n of ns) if (text.includes(n)) hits.push(`${f}: ${n === secret ? 'plain' : 'encoded'}`);
        }
        for (const o of outputs) for (const n of ns) if (o.includes(n)) hits.push(`output: ${n === secret ? 'plain' : 'encoded'}`);
      }
      expect(hits).toEqual([]);
    } finally {
      await su.query(`DROP ROLE IF EXISTS ${role}`);
      await su.end();
    }
    // 90 s: on a loaded machine the in-process API path (which now loads the PostgreSQL parser,
    // WebAssembly, in the test worker) took over 30 s; the CLI stages take about 10 s.
  }, 90_000);

  it('the scan finds a password when one is there (the needles work)', () => {
    const pw = `Probe-${randomUUID()}`;
    const blob = `prefix ${Buffer.from(`xy${pw}z`).toString('base64')} ${Buffer.from(pw).toString('hex')}`;
    const found = needles(pw).filter((n) => blob.includes(n));
    expect(found.length).toBeGreaterThanOrEqual(2);
  });
});
