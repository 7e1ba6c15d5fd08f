// The host-key vault (systemd-creds) for a service without a desktop session:
// the real systemd-creds binary, with a private host key per test
// (SYSTEMD_CREDENTIAL_SECRET), so "another machine" is a swapped host key file.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { HOST_KEY_CREDENTIAL, HostVault } from '../../agent/secrets/host-vault.js';
import { AgentVault } from '../../agent/secrets/agent-vault.js';
import { BLOB_PREFIX, VaultError } from '../../agent/secrets/vault.js';
import { jsonFile, repoRoot } from '../helpers/cli.js';

const pg = inject('pg');
const hasCreds = spawnSync('systemd-creds', ['--version']).status === 0;
if (!hasCreds) console.log('host-vault tests skipped: systemd-creds is not installed here (apt-get install systemd)');

/** A fresh host key, as `systemd-creds setup` makes /var/lib/systemd/credential.secret on a machine. */
function hostKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('systemd-creds', ['setup'], { env: { ...process.env, SYSTEMD_CREDENTIAL_SECRET: file }, stdio: 'ignore' });
  return file;
}

/** No Secret Service: what a service on a server sees. */
const NO_SESSION = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', GNOME_KEYRING_CONTROL: '' };

describe.skipIf(!hasCreds)('HostVault (systemd-creds host key)', () => {
  let dir: string;
  let hostA: string;
  let hostB: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lsa-hostvault-'));
    hostA = hostKey(dir, 'host-a.secret');
    hostB = hostKey(dir, 'host-b.secret');
  });
  const envOf = (secret: string, keyFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    SYSTEMD_CREDENTIAL_SECRET: secret,
    LOGSTAG_VAULT_KEY_FILE: keyFile,
    ...extra,
  });

  it('seals and opens on the same host; the key file and blob hold no plaintext; the blob says its backend', async () => {
    const keyFile = join(dir, 'same', 'vault-key.cred');
    const vault = new HostVault({ env: envOf(hostA, keyFile) });
    const blob = await vault.seal('s3cret-password');
    expect(blob.startsWith(BLOB_PREFIX)).toBe(true);
    expect(JSON.parse(Buffer.from(blob.slice(BLOB_PREFIX.length), 'base64url').toString())).toMatchObject({ backend: 'systemd-creds' });
    expect(blob).not.toContain('s3cret');
    // A fresh vault (a new process) opens it through systemd-creds decrypt of the key file.
    expect(await new HostVault({ env: envOf(hostA, keyFile) }).open(blob)).toBe('s3cret-password');
    // The second seal reuses the same key file (one key per machine), not a new one.
    const again = await new HostVault({ env: envOf(hostA, keyFile) }).seal('other');
    expect(await vault.open(again)).toBe('other');
  });

  it('fails clearly when the key file and blob are moved to a machine with another host key', async () => {
    const keyFile = join(dir, 'moved', 'vault-key.cred');
    const blob = await new HostVault({ env: envOf(hostA, keyFile) }).seal('s3cret-password');
    const err = await new HostVault({ env: envOf(hostB, keyFile) }).open(blob).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).kind).toBe('foreign');
    expect((err as VaultError).message).toMatch(/created on another machine/);
    expect((err as VaultError).message).not.toContain('s3cret');
  });

  it('refuses a blob sealed on another host, even where a host key exists', async () => {
    const keyFile = join(dir, 'other', 'vault-key.cred');
    const blob = await new HostVault({ env: envOf(hostA, keyFile), machine: 'another-host' }).seal('x');
    await expect(new HostVault({ env: envOf(hostA, keyFile) }).open(blob)).rejects.toThrow(/another host/);
    // Rewriting the header's machine to this host's does not help: the header is authenticated.
    const header = JSON.parse(Buffer.from(blob.slice(BLOB_PREFIX.length), 'base64url').toString()) as Record<string, unknown>;
    const here = JSON.parse(Buffer.from((await new HostVault({ env: envOf(hostA, keyFile) }).seal('y')).slice(BLOB_PREFIX.length), 'base64url').toString()) as {
      machine: string;
    };
    const forged = BLOB_PREFIX + Buffer.from(JSON.stringify({ ...header, machine: here.machine })).toString('base64url');
    await expect(new HostVault({ env: envOf(hostA, keyFile) }).open(forged)).rejects.toThrow(/altered or damaged/);
  });

  it('a blob under another key of this host (a replaced key file) fails as foreign, not as garbage', async () => {
    const blob = await new HostVault({ env: envOf(hostA, join(dir, 'k1', 'vault-key.cred')) }).seal('x');
    await new HostVault({ env: envOf(hostA, join(dir, 'k2', 'vault-key.cred')) }).seal('make k2');
    await expect(new HostVault({ env: envOf(hostA, join(dir, 'k2', 'vault-key.cred')) }).open(blob)).rejects.toThrow(/not the one that sealed it/);
    await expect(new HostVault({ env: envOf(hostA, join(dir, 'none', 'vault-key.cred')) }).open(blob)).rejects.toThrow(/no host key here/);
  });

  it('under the unit, takes the key systemd decrypted into $CREDENTIALS_DIRECTORY (no root, no systemd-creds call)', async () => {
    const keyFile = join(dir, 'unit', 'vault-key.cred');
    const blob = await new HostVault({ env: envOf(hostA, keyFile) }).seal('from-the-service');
    // What LoadCredentialEncrypted= does at service start.
    const credDir = join(dir, 'unit', 'credentials');
    mkdirSync(credDir);
    const plain = execFileSync('systemd-creds', ['decrypt', `--name=${HOST_KEY_CREDENTIAL}`, keyFile, '-'], {
      env: envOf(hostA, keyFile),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    writeFileSync(join(credDir, HOST_KEY_CREDENTIAL), plain, { mode: 0o400 });
    // The key file path and host key are wrong on purpose: only the credentials directory can open it.
    const env = envOf(join(dir, 'absent.secret'), join(dir, 'absent.cred'), { CREDENTIALS_DIRECTORY: credDir });
    expect(await new HostVault({ env }).open(blob)).toBe('from-the-service');
    // The agent's vault seals with the host key by default when it runs as the service.
    const agentVault = new AgentVault(env);
    expect(agentVault.backend).toBe('systemd-creds');
    expect(await agentVault.open(await agentVault.seal('round trip'))).toBe('round trip');
  });

  it('CLI without a desktop session: the default says how to use the host backend; --backend host seals; collect --once opens it', async () => {
    const bin = join(repoRoot, 'bin/logstag-agent');
    const keyFile = join(dir, 'cli', 'vault-key.cred');
    const env = { ...envOf(hostA, keyFile, NO_SESSION), LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'lsa-hv-home-')) };
    const plain = spawnSync(bin, ['secret', 'encrypt'], { env, input: pg.users.monitor.password, encoding: 'utf8' });
    expect(plain.status).toBe(2);
    expect(plain.stderr).toMatch(/keychain is not available.*--backend host/);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    const bad = spawnSync(bin, ['secret', 'encrypt', '--backend', 'tpm'], { env, input: 'x', encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--backend must be "keychain" .* or "host"/);
    const sealed = spawnSync(bin, ['secret', 'encrypt', '--backend', 'host'], { env, input: pg.users.monitor.password, encoding: 'utf8' });
    expect(sealed.status, sealed.stderr).toBe(0);
    const blob = sealed.stdout.trim();
    expect(blob).not.toContain(pg.users.monitor.password);
    expect(readFileSync(keyFile).includes(Buffer.from(pg.users.monitor.password))).toBe(false);
    const target = jsonFile({
      id: 'pg-host-secret',
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      user: pg.users.monitor.user,
      database: pg.database,
      tls: { mode: 'disable' },
      password: { secret: blob },
    });
    const collected = spawnSync(bin, ['collect', '--once', '--json', '--target', target], { env, encoding: 'utf8', timeout: 60_000 });
    expect(collected.status, collected.stderr).toBe(0);
    expect(JSON.parse(collected.stdout)).toMatchObject({ target: { id: 'pg-host-secret' } });
    // The same blob on a machine with another host key: one clear line, exit 2.
    const moved = spawnSync(bin, ['collect', '--once', '--target', target], {
      env: { ...env, SYSTEMD_CREDENTIAL_SECRET: hostB },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(moved.status).toBe(2);
    expect(moved.stderr).toMatch(/^error: .*target pg-host-secret: password: the host key file .* was created on another machine/);
  }, 90_000);

  // The service runs as an unprivileged user: it cannot decrypt the key file (the host key is
  // root-only), and needs not, because systemd hands it the decrypted key.
  const canDropRoot = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  if (!canDropRoot) console.log('host-vault: the unprivileged-user case is skipped (needs root and setpriv)');
  it.skipIf(!canDropRoot)(
    'as an unprivileged service user: opens through $CREDENTIALS_DIRECTORY, and says why it cannot without it',
    () => {
      const bin = join(repoRoot, 'bin/logstag-agent');
      const open = mkdtempSync(join(tmpdir(), 'lsa-hv-user-'));
      chmodSync(open, 0o755);
      const keyFile = join(open, 'vault-key.cred');
      const sealed = spawnSync(bin, ['secret', 'encrypt', '--backend', 'host'], {
        env: { ...envOf(hostA, keyFile, NO_SESSION), LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'lsa-hv-home-')) },
        input: pg.users.monitor.password,
        encoding: 'utf8',
      });
      expect(sealed.status, sealed.stderr).toBe(0);
      const target = join(open, 'pg.json');
      writeFileSync(
        target,
        JSON.stringify({
          id: 'pg-service-user',
          engine: 'postgres',
          host: pg.host,
          port: pg.port,
          user: pg.users.monitor.user,
          database: pg.database,
          tls: { mode: 'disable' },
          password: { secret: sealed.stdout.trim() },
        }),
        { mode: 0o644 },
      );
      const home = join(open, 'home');
      mkdirSync(home, { mode: 0o700 });
      chownSync(home, 65534, 65534);
      const asNobody = (env: NodeJS.ProcessEnv) =>
        spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', bin, 'collect', '--once', '--json', '--target', target], {
          env: { ...envOf(hostA, keyFile, NO_SESSION), LOGSTAG_HOME: home, ...env },
          encoding: 'utf8',
          timeout: 60_000,
        });
      const denied = asNobody({});
      expect(denied.status).toBe(2);
      expect(denied.stderr).toMatch(/^error: .*: password: cannot read the host key .*only root can decrypt .*LoadCredentialEncrypted=logstag-vault-key:/);
      // What LoadCredentialEncrypted= gives the service: the decrypted key, readable by the service user alone.
      const credDir = join(open, 'credentials');
      mkdirSync(credDir, { mode: 0o500 });
      const key = execFileSync('systemd-creds', ['decrypt', `--name=${HOST_KEY_CREDENTIAL}`, keyFile, '-'], {
        env: envOf(hostA, keyFile),
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      writeFileSync(join(credDir, HOST_KEY_CREDENTIAL), key, { mode: 0o400 });
      chownSync(join(credDir, HOST_KEY_CREDENTIAL), 65534, 65534);
      chownSync(credDir, 65534, 65534);
      const ok = asNobody({ CREDENTIALS_DIRECTORY: credDir });
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ target: { id: 'pg-service-user' } });
    },
    90_000,
  );
});
