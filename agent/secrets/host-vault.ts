/**
 * The vault of an unattended service on Linux: no desktop session, no Secret
 * Service, nobody to unlock a login keyring. The vault key (256 random bits) is
 * itself a systemd credential, encrypted by `systemd-creds` with the host key
 * (/var/lib/systemd/credential.secret, root-only) and, where the machine has
 * one, its TPM2. The service gets the key through its unit's
 * `LoadCredentialEncrypted=logstag-vault-key:/etc/logstag-agent/vault-key.cred`:
 * systemd decrypts it at start into `$CREDENTIALS_DIRECTORY`, readable by the
 * service alone and never written to persistent disk. Outside the service
 * (root running `secret encrypt --backend host`, a test) the vault asks
 * `systemd-creds decrypt` itself. Secrets are sealed under that key with
 * AES-256-GCM, in the same self-describing blob as the keychain's (backend
 * "systemd-creds"). A blob or key file moved to another machine does not open
 * there: that machine's host key cannot decrypt the key file.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { keyIdOf, openWithKey, sealWithKey } from './aead.js';
import { type BlobHeader, decodeBlob, foreignMessage, hostFingerprint, type Vault, VaultError } from './vault.js';

/** The credential's name: in the key file (systemd checks it on decrypt) and in the unit's LoadCredentialEncrypted=. */
export const HOST_KEY_CREDENTIAL = 'logstag-vault-key';
export const DEFAULT_HOST_KEY_FILE = '/etc/logstag-agent/vault-key.cred';

export interface HostVaultOptions {
  env?: NodeJS.ProcessEnv;
  /** The encrypted key file; default $LOGSTAG_VAULT_KEY_FILE or /etc/logstag-agent/vault-key.cred. */
  keyFile?: string;
  /** Overridable so tests can play "another host". */
  machine?: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function systemdCreds(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('systemd-creds', [...args], { env, encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr, missing: (err as NodeJS.ErrnoException | null)?.code === 'ENOENT' });
    });
    child.stdin?.end(input ?? '');
  });
}

const NOT_INSTALLED = 'systemd-creds is not installed (Debian/Ubuntu: apt-get install systemd; it needs systemd 250 or later)';

export class HostVault implements Vault {
  readonly backend = 'systemd-creds' as const;
  readonly keyFile: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly machine: string;
  private key: Buffer | undefined;

  constructor(opts: HostVaultOptions = {}) {
    this.env = opts.env ?? process.env;
    this.keyFile = opts.keyFile ?? (this.env['LOGSTAG_VAULT_KEY_FILE'] || DEFAULT_HOST_KEY_FILE);
    this.machine = opts.machine ?? hostFingerprint();
  }

  private static parseKey(text: string, where: string): Buffer {
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== 32)
      throw new VaultError(
        'corrupt',
        `the vault key in ${where} is damaged; create a new one (move the key file away, then \`logstag-agent secret encrypt --backend host\`) and re-enter every secret`,
      );
    return key;
  }

  /** The key systemd decrypted for the service ($CREDENTIALS_DIRECTORY), if this process runs under such a unit. */
  private fromCredentialsDirectory(): Buffer | undefined {
    const dir = this.env['CREDENTIALS_DIRECTORY'];
    if (dir === undefined || dir === '') return undefined;
    const file = join(dir, HOST_KEY_CREDENTIAL);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    return HostVault.parseKey(text, file);
  }

  private async decryptKeyFile(): Promise<Buffer> {
    const r = await systemdCreds(['decrypt', `--name=${HOST_KEY_CREDENTIAL}`, this.keyFile, '-'], this.env);
    if (r.missing) throw new VaultError('unavailable', NOT_INSTALLED);
    if (r.code === 0) return HostVault.parseKey(r.stdout, this.keyFile);
    const why =
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/not located on encrypted media/.test(l))
        .pop() ?? `exit ${r.code}`;
    if (/incorrect key|decryption failed|not valid|mismatch/i.test(why)) {
      throw new VaultError(
        'foreign',
        `the host key file ${this.keyFile} was created on another machine (this machine's host key cannot decrypt it: ${why}); create a key here with \`logstag-agent secret encrypt --backend host\` and re-enter the secrets`,
      );
    }
    if (/permission denied|access denied|operation not permitted/i.test(why)) {
      throw new VaultError(
        'unavailable',
        `cannot read the host key (${why}): outside the systemd service only root can decrypt ${this.keyFile}; the service receives it through LoadCredentialEncrypted=${HOST_KEY_CREDENTIAL}:${this.keyFile}`,
      );
    }
    throw new VaultError('unavailable', `systemd-creds could not decrypt ${this.keyFile}: ${why}`);
  }

  /** Creates the key file: 32 random bytes, encrypted with the host key (and the TPM2 when there is one). */
  private async createKeyFile(): Promise<Buffer> {
    const tpm = await systemdCreds(['has-tpm2', '--quiet'], this.env);
    if (tpm.missing) throw new VaultError('unavailable', NOT_INSTALLED);
    const withKey = tpm.code === 0 ? 'host+tpm2' : 'host';
    const key = randomBytes(32);
    await mkdir(dirname(this.keyFile), { recursive: true, mode: 0o755 });
    const tmp = `${this.keyFile}.${process.pid}.tmp`;
    const r = await systemdCreds(['encrypt', `--with-key=${withKey}`, `--name=${HOST_KEY_CREDENTIAL}`, '-', tmp], this.env, key.toString('base64'));
    if (r.code !== 0) {
      await unlink(tmp).catch(() => {});
      const why =
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => !/not located on encrypted media/.test(l))
          .pop() ?? `exit ${r.code}`;
      throw new VaultError('unavailable', `systemd-creds could not create the host key (${why}); run \`logstag-agent secret encrypt --backend host\` as root`);
    }
    await rename(tmp, this.keyFile);
    return key;
  }

  private async loadKey(create: boolean): Promise<Buffer | undefined> {
    if (this.key !== undefined) return this.key;
    const fromService = this.fromCredentialsDirectory();
    if (fromService !== undefined) return (this.key = fromService);
    if (existsSync(this.keyFile)) return (this.key = await this.decryptKeyFile());
    if (!create) return undefined;
    return (this.key = await this.createKeyFile());
  }

  async seal(plaintext: string): Promise<string> {
    const key = (await this.loadKey(true))!;
    const header: BlobHeader = { v: 1, backend: 'systemd-creds', machine: this.machine, keyId: keyIdOf(key) };
    return sealWithKey(key, header, plaintext);
  }

  async open(text: string): Promise<string> {
    const blob = decodeBlob(text);
    if (blob.backend !== 'systemd-creds')
      throw new VaultError('foreign', `this secret was sealed by the ${blob.backend === 'os-keychain' ? 'OS keychain' : 'desktop app'}, not the host key`);
    if (blob.machine !== this.machine) throw new VaultError('foreign', `${foreignMessage()} (it was sealed with another machine's host key)`);
    const key = await this.loadKey(false);
    if (key === undefined)
      throw new VaultError(
        'unavailable',
        `this secret was sealed with the host key, but there is no host key here (${this.keyFile} is missing and $CREDENTIALS_DIRECTORY has no ${HOST_KEY_CREDENTIAL}); re-enter it with \`logstag-agent secret encrypt --backend host\``,
      );
    if (keyIdOf(key) !== blob.keyId) throw new VaultError('foreign', `${foreignMessage()} (the host key here is not the one that sealed it)`);
    return openWithKey(key, blob);
  }
}
