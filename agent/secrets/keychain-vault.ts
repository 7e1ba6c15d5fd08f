import { randomBytes } from 'node:crypto';
import { AsyncEntry } from '@napi-rs/keyring';
import { keyIdOf, openWithKey, sealWithKey } from './aead.js';
import { type BlobHeader, decodeBlob, foreignMessage, machineFingerprint, type Vault, VaultError } from './vault.js';

export interface KeychainVaultOptions {
  service?: string;
  account?: string;
  /** Overridable so tests can play "another host". */
  machine?: string;
}

/**
 * The headless CLI's vault: a random 256-bit key held by the OS keychain
 * (Windows Credential Manager, macOS Keychain, Linux Secret Service), data sealed
 * with AES-256-GCM. The key never leaves the keychain except into this process.
 */
export class KeychainVault implements Vault {
  readonly backend = 'os-keychain' as const;
  private readonly service: string;
  private readonly account: string;
  private readonly machine: string;
  private key: Buffer | undefined;

  constructor(opts: KeychainVaultOptions = {}) {
    this.service = opts.service ?? 'logstag-agent';
    this.account = opts.account ?? 'vault-key-v1';
    this.machine = opts.machine ?? machineFingerprint();
  }

  /**
   * On Linux the binding would silently fall back to the kernel keyutils store,
   * which forgets the key at reboot (every sealed secret lost): require Secret Service.
   */
  private entry(): AsyncEntry {
    try {
      return new AsyncEntry(this.service, this.account, { linux: { store: 'secret-service' } });
    } catch (err) {
      throw new VaultError(
        'unavailable',
        `the OS keychain is not available (${(err as Error).message.split('\n')[0]}); on Linux the CLI needs a Secret Service such as gnome-keyring in the session`,
      );
    }
  }

  private async loadKey(create: boolean): Promise<Buffer | undefined> {
    if (this.key !== undefined) return this.key;
    const entry = this.entry();
    let stored: string | null;
    try {
      stored = await entry.getPassword();
    } catch (err) {
      throw new VaultError(
        'unavailable',
        `the OS keychain is not available (${(err as Error).message.split('\n')[0]}); on Linux the CLI needs a Secret Service such as gnome-keyring in the session`,
      );
    }
    if (stored !== null) {
      const key = Buffer.from(stored, 'base64');
      if (key.length !== 32)
        throw new VaultError('corrupt', 'the vault key in the OS keychain is damaged; delete the "logstag-agent" keychain item and re-enter all secrets');
      this.key = key;
      return key;
    }
    if (!create) return undefined;
    const key = randomBytes(32);
    try {
      await entry.setPassword(key.toString('base64'));
    } catch (err) {
      throw new VaultError('unavailable', `the OS keychain refused to store the vault key (${(err as Error).message.split('\n')[0]})`);
    }
    this.key = key;
    return key;
  }

  async seal(plaintext: string): Promise<string> {
    const key = (await this.loadKey(true))!;
    const header: BlobHeader = { v: 1, backend: 'os-keychain', machine: this.machine, keyId: keyIdOf(key) };
    return sealWithKey(key, header, plaintext);
  }

  async open(text: string): Promise<string> {
    const blob = decodeBlob(text);
    if (blob.backend === 'systemd-creds') {
      throw new VaultError('foreign', 'this secret was sealed with the host key (secret encrypt --backend host), not the OS keychain');
    }
    if (blob.backend !== 'os-keychain') {
      throw new VaultError(
        'foreign',
        'this secret was sealed by the desktop app (Electron safeStorage), which the CLI cannot open; re-enter it with `logstag-agent secret encrypt`',
      );
    }
    if (blob.machine !== this.machine) throw new VaultError('foreign', foreignMessage());
    const key = await this.loadKey(false);
    if (key === undefined || keyIdOf(key) !== blob.keyId)
      throw new VaultError('foreign', `${foreignMessage()} (this keychain does not hold the key that sealed it)`);
    return openWithKey(key, blob);
  }
}
