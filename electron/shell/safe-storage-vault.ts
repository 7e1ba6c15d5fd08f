/**
 * The desktop app's vault: Electron safeStorage, i.e. a key held by the OS
 * (macOS Keychain, Windows DPAPI, Linux Secret Service or KWallet). Same blob
 * format as the CLI's vault (secrets/vault.ts), with backend 'electron-safestorage'.
 *
 * safeStorage cannot authenticate extra data, so the blob's header is sealed
 * inside the ciphertext too and compared on open: an edited header fails.
 */
import type { DecryptStringAsyncReturnValue, SafeStorage } from 'electron';
import { type BlobHeader, decodeBlob, encodeBlob, foreignMessage, headerBytes, machineFingerprint, type Vault, VaultError } from '../../agent/secrets/vault.js';

/** The asynchronous safeStorage API (electron.d.ts, Electron 45: interface SafeStorage). */
export type SafeStorageApi = Pick<SafeStorage, 'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync' | 'getSelectedStorageBackend'>;

export interface SafeStorageVaultOptions {
  /** Defaults to process.platform; the weak-backend check applies on Linux only. */
  platform?: NodeJS.Platform;
  /** Overridable so tests can play "another host". */
  machine?: string;
  /** The app's name as the OS keystore knows it (macOS: the "<name> Safe Storage" Keychain item). */
  appName?: string;
  /**
   * Called when safeStorage says a secret it just opened should be re-encrypted
   * (its key was rotated or a stronger one is available): store `resealed` in
   * place of `blob`. A failure here is logged; the secret is still returned.
   */
  onReseal?: (blob: string, resealed: string) => void | Promise<void>;
  log?: (err: unknown) => void;
}

interface Sealed {
  /** The header the blob was sealed with (headerBytes, as text). */
  h: string;
  /** The secret. */
  s: string;
}

export class SafeStorageVault implements Vault {
  readonly backend = 'electron-safestorage' as const;
  private readonly platform: NodeJS.Platform;
  private readonly machine: string;
  private readonly appName: string;

  constructor(
    private readonly safeStorage: SafeStorageApi,
    private readonly opts: SafeStorageVaultOptions = {},
  ) {
    this.platform = opts.platform ?? process.platform;
    this.machine = opts.machine ?? machineFingerprint();
    this.appName = opts.appName ?? 'Logstag Agent';
  }

  /** Refuses, with the reason, whenever the OS keystore would not really protect the secret. */
  private async requireStrongBackend(): Promise<void> {
    if (this.platform === 'linux') {
      const backend = this.safeStorage.getSelectedStorageBackend();
      if (backend === 'basic_text') {
        throw new VaultError(
          'weak_backend',
          'no OS keyring is available to this desktop session (Electron fell back to "basic_text", which only obfuscates secrets with a fixed key); secrets are not stored that way. Run a Secret Service (GNOME Keyring) or KWallet in the session, or use an environment variable for the password',
        );
      }
      if (backend === 'unknown')
        throw new VaultError('unavailable', 'the OS keyring is not ready yet (the app has not finished starting); try again in a moment');
    }
    let available: boolean;
    try {
      available = await this.safeStorage.isAsyncEncryptionAvailable();
    } catch (err) {
      throw new VaultError('unavailable', `the OS keystore could not be initialised (${firstLine(err)})`);
    }
    if (!available) {
      const where =
        this.platform === 'darwin' ? 'the macOS Keychain' : this.platform === 'win32' ? 'Windows data protection (DPAPI)' : 'the Secret Service or KWallet';
      throw new VaultError(
        'unavailable',
        `the OS keystore (${where}) is not available to the app, so secrets cannot be encrypted; use an environment variable for the password instead`,
      );
    }
  }

  private header(): BlobHeader {
    return { v: 1, backend: 'electron-safestorage', machine: this.machine };
  }

  async seal(plaintext: string): Promise<string> {
    await this.requireStrongBackend();
    const header = this.header();
    const inner: Sealed = { h: headerBytes(header).toString('utf8'), s: plaintext };
    let data: Buffer;
    try {
      data = await this.safeStorage.encryptStringAsync(JSON.stringify(inner));
    } catch (err) {
      throw new VaultError('unavailable', `the OS keystore refused to encrypt the secret (${firstLine(err)})`);
    }
    return encodeBlob({ ...header, data: data.toString('base64') });
  }

  async open(text: string): Promise<string> {
    return (await this.openAndRefresh(text)).plaintext;
  }

  /** Opens a blob; `resealed` is set when safeStorage asked for re-encryption (also passed to onReseal). */
  async openAndRefresh(text: string): Promise<{ plaintext: string; resealed?: string }> {
    const blob = decodeBlob(text);
    if (blob.backend !== 'electron-safestorage') {
      throw new VaultError(
        'foreign',
        'this secret was sealed by the headless CLI (OS keychain vault), which the desktop app cannot open; re-enter it in the app',
      );
    }
    if (blob.machine !== this.machine) throw new VaultError('foreign', foreignMessage());
    await this.requireStrongBackend();

    let out: DecryptStringAsyncReturnValue;
    try {
      out = await this.safeStorage.decryptStringAsync(Buffer.from(blob.data, 'base64'));
    } catch {
      const mac =
        this.platform === 'darwin'
          ? `; on macOS this happens when the app's name or code-signing identity changed, so the Keychain item "${this.appName} Safe Storage" that sealed it is no longer this app's`
          : this.platform === 'linux'
            ? "; on Linux this happens when the keyring was reset or another user's keyring is unlocked"
            : '';
      throw new VaultError('foreign', `this secret cannot be decrypted with ${this.appName}'s OS-protected key; re-enter it${mac}`);
    }

    let inner: Partial<Sealed>;
    try {
      inner = JSON.parse(out.result) as Partial<Sealed>;
    } catch {
      throw new VaultError('corrupt', 'the secret blob is damaged (its content does not decode); re-enter the secret');
    }
    if (typeof inner.s !== 'string' || inner.h !== headerBytes(blob).toString('utf8')) {
      throw new VaultError('corrupt', 'the secret blob was altered or damaged and cannot be opened; re-enter the secret');
    }

    if (!out.shouldReEncrypt) return { plaintext: inner.s };
    // Re-encrypting is an improvement, not a condition: if it fails, the secret still opens.
    try {
      const resealed = await this.seal(inner.s);
      await this.opts.onReseal?.(text, resealed);
      return { plaintext: inner.s, resealed };
    } catch (err) {
      this.opts.log?.(err);
      return { plaintext: inner.s };
    }
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';
}
