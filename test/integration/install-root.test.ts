// The headless install, end to end, without the source tree: `pack.mjs` builds the
// archive's tree, install.sh lays it out under a temporary root, and the agent runs
// from <root>/usr/bin/logstag-agent (its own Node 22) against the harness PostgreSQL
// with a secret sealed by the host key, with no desktop session. The shipped
// systemd unit passes `systemd-analyze verify` inside that root.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const pg = inject('pg');
const hasCreds = spawnSync('systemd-creds', ['--version']).status === 0;
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!hasAnalyze) console.log('install-root: systemd-analyze verify skipped: systemd-analyze is not installed here (apt-get install systemd)');
if (!hasCreds) console.log('install-root: host-key secret skipped: systemd-creds is not installed here (apt-get install systemd)');

// Under the worktree (ignored by git) so pack and install hard-link instead of copying 230 MB.
const work = join(repoRoot, '.tmp');
let base: string;
let root: string;
beforeAll(() => {
  mkdirSync(work, { recursive: true });
  base = mkdtempSync(join(work, 'install-'));
  const t0 = Date.now();
  const packed = execFileSync(process.execPath, [join(repoRoot, 'packaging/linux/pack.mjs'), '--out', join(base, 'out'), '--no-tar'], { encoding: 'utf8' });
  const t1 = Date.now();
  root = join(base, 'root');
  mkdirSync(root);
  const stage = readdirSync(join(base, 'out')).find((n) => n.startsWith('logstag-agent-'))!;
  execFileSync(join(base, 'out', stage, 'install.sh'), ['--root', root], { stdio: 'ignore' });
  console.log(`install-root cost: ${packed.trim()}; install.sh ${Date.now() - t1} ms (pack ${t1 - t0} ms wall)`);
}, 120_000);
afterAll(() => {
  if (base !== undefined) rmSync(base, { recursive: true, force: true });
});

/** A minimal environment: no session bus, no repository on PATH, the root's bin first. */
const envIn = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: `${root}/usr/bin:/usr/bin:/bin`, LANG: 'C.UTF-8', ...extra });

describe('install into a temporary root', () => {
  it("puts logstag-agent on the root's PATH with its own Node 22 and nothing pointing back into the source tree", () => {
    const bin = join(root, 'usr/bin/logstag-agent');
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(readlinkSync(bin)).toBe('../../opt/logstag-agent/bin/logstag-agent');
    const r = spawnSync('logstag-agent', ['--version'], { env: envIn(), cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(execFileSync(join(root, 'opt/logstag-agent/runtime/node'), ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./);
    // The desktop shell is not shipped, nor any dev tool.
    expect(existsSync(join(root, 'opt/logstag-agent/dist/electron'))).toBe(false);
    for (const dev of ['vitest', 'typescript', 'electron', 'node']) expect(existsSync(join(root, 'opt/logstag-agent/node_modules', dev))).toBe(false);
    // No symlink in the program tree leads outside it.
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isSymbolicLink()) expect(relative(join(root, 'opt'), resolve(dir, readlinkSync(p)))).not.toMatch(/^\.\./);
        else if (e.isDirectory()) walk(p);
      }
    };
    walk(join(root, 'opt/logstag-agent'));
    expect(existsSync(join(root, 'etc/logstag-agent/config.json.example'))).toBe(true);
  });

  it.skipIf(!hasAnalyze)('the shipped unit passes systemd-analyze verify in the root, with the hardening it promises', () => {
    const unitDir = join(root, 'usr/lib/systemd/system');
    // The targets and slices the unit refers to, as on any systemd machine.
    for (const f of readdirSync('/lib/systemd/system')) {
      const from = join('/lib/systemd/system', f);
      if (/\.(target|slice)$/.test(f) && !existsSync(join(unitDir, f)) && statSync(from).isFile()) copyFileSync(from, join(unitDir, f));
    }
    const verify = (): { status: number | null; stderr: string } =>
      spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'logstag-agent.service'], { encoding: 'utf8' });
    const ok = verify();
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr.trim(), 'systemd-analyze printed warnings').toBe('');
    // systemd's own exposure score of the hardening (0 = fully locked down, 10 = none); printed, and held under 2.
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${root}`, 'logstag-agent.service'], { encoding: 'utf8' });
    const exposure = /Overall exposure level for logstag-agent\.service: ([\d.]+)/.exec(security.stdout);
    console.log(`systemd-analyze security: ${exposure?.[0] ?? security.stderr.trim()}`);
    expect(Number(exposure?.[1])).toBeLessThan(2);
    const unit = readFileSync(join(unitDir, 'logstag-agent.service'), 'utf8');
    for (const line of [
      'User=logstag-agent',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'StateDirectory=logstag-agent',
      'Restart=on-failure',
      'LoadCredentialEncrypted=logstag-vault-key:/etc/logstag-agent/vault-key.cred',
      'ExecStart=/usr/bin/logstag-agent run --config /etc/logstag-agent/config.json',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    // The check has teeth: a misspelt directive or a missing ExecStart binary fails it.
    const path = join(unitDir, 'logstag-agent.service');
    try {
      writeFileSync(path, unit.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
      expect(verify().stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
      writeFileSync(path, unit.replace('ExecStart=/usr/bin/logstag-agent', 'ExecStart=/usr/bin/logstag-agent-missing'));
      const missing = verify();
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/logstag-agent-missing is not executable/);
    } finally {
      writeFileSync(path, unit);
    }
  });

  it.skipIf(!hasCreds)(
    'runs from the root against PostgreSQL with a host-key secret and no desktop session; SIGTERM stops it cleanly',
    async () => {
      const hostKey = join(base, 'credential.secret');
      execFileSync('systemd-creds', ['setup'], { env: { ...process.env, SYSTEMD_CREDENTIAL_SECRET: hostKey }, stdio: 'ignore' });
      const home = join(root, 'var/lib/logstag-agent');
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const env = envIn({ LOGSTAG_HOME: home, SYSTEMD_CREDENTIAL_SECRET: hostKey, LOGSTAG_VAULT_KEY_FILE: join(root, 'etc/logstag-agent/vault-key.cred') });
      const sealed = spawnSync('logstag-agent', ['secret', 'encrypt', '--backend', 'host'], {
        env,
        cwd: root,
        input: pg.users.monitor.password,
        encoding: 'utf8',
      });
      expect(sealed.status, sealed.stderr).toBe(0);
      const target = {
        id: 'pg-installed',
        engine: 'postgres',
        host: pg.host,
        port: pg.port,
        user: pg.users.monitor.user,
        database: pg.database,
        tls: { mode: 'disable' },
        password: { secret: sealed.stdout.trim() },
      };
      writeFileSync(join(root, 'etc/logstag-agent/pg.json'), JSON.stringify(target));
      const collected = spawnSync('logstag-agent', ['collect', '--once', '--json', '--target', join(root, 'etc/logstag-agent/pg.json')], {
        env,
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(collected.status, collected.stderr).toBe(0);
      expect(JSON.parse(collected.stdout)).toMatchObject({ target: { id: 'pg-installed' } });

      const config = join(root, 'etc/logstag-agent/config.json');
      writeFileSync(
        config,
        JSON.stringify({ intervalSeconds: 1, targets: [{ file: 'pg.json' }], spool: { dir: join(home, 'spool') }, flushTimeoutSeconds: 0 }),
      );
      const child: ChildProcess = spawn('logstag-agent', ['run', '--config', config], { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
      try {
        const deadline = Date.now() + 30_000;
        while (!/^pg-installed: \d+ signals .*; spooled /m.test(stderr)) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no cycle from the installed agent:\n${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // The supervisor's PID is the installed runtime itself.
        expect(readlinkSync(`/proc/${child.pid}/exe`)).toBe(join(root, 'opt/logstag-agent/runtime/node'));
        // The run status file is written at most once a second (docs/many-targets.md): the cycle shows within that.
        const statusDeadline = Date.now() + 5_000;
        let st = spawnSync('logstag-agent', ['status', '--config', config], { env, cwd: root, encoding: 'utf8' });
        while (!/pg-installed \(postgres [^)]+\): collecting/.test(st.stdout) && Date.now() < statusDeadline) {
          await new Promise((r) => setTimeout(r, 200));
          st = spawnSync('logstag-agent', ['status', '--config', config], { env, cwd: root, encoding: 'utf8' });
        }
        expect(st.stdout).toMatch(/pg-installed \(postgres [^)]+\): collecting/);
        child.kill('SIGTERM');
        expect(await exited).toEqual({ code: 0, signal: null });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
    90_000,
  );
});
