// SafeStorageVault against a fake safeStorage shaped exactly as Electron 45 declares it:
// node_modules/electron/electron.d.ts, `interface SafeStorage` (line 12790 in 45.5.0):
//   decryptStringAsync(encrypted: Buffer): Promise<Electron.DecryptStringAsyncReturnValue>  // { shouldReEncrypt: boolean; result: string }
//   encryptStringAsync(plainText: string): Promise<Buffer>
//   getSelectedStorageBackend(): 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown'  // @platform linux
//   isAsyncEncryptionAvailable(): Promise<boolean>
// The fake is typed as SafeStorageApi = Pick<Electron.SafeStorage, …>, so a change to
// those signatures in electron.d.ts fails the type check of this file.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { BLOB_PREFIX, decodeBlob, encodeBlob, foreignMessage, VaultError } from '../../agent/secrets/vault.js';
import { type SafeStorageApi, SafeStorageVault } from '../../electron/shell/safe-storage-vault.js';

type Backend = ReturnType<SafeStorageApi['getSelectedStorageBackend']>;

/**
 * Behaves like Chromium's OSCrypt: a key the OS holds (here, in memory), a
 * version prefix on the ciphertext, AES-GCM, and a failure when the key differs.
 */
class FakeSafeStorage implements SafeStorageApi {
  backend: Backend = 'gnome_libsecret';
  available = true;
  /** When set, the next decrypts report that the data should be re-encrypted (key rotation). */
  rotateOnDecrypt = false;
  readonly calls: string[] = [];
  private key = randomBytes(32);

  rotateKey(): void {
    this.key = randomBytes(32);
  }
  getSelectedStorageBackend(): Backend {
    this.calls.push('getSelectedStorageBackend');
    return this.backend;
  }
  async isAsyncEncryptionAvailable(): Promise<boolean> {
    this.calls.push('isAsyncEncryptionAvailable');
    return this.available;
  }
  async encryptStringAsync(plainText: string): Promise<Buffer> {
    this.calls.push('encryptStringAsync');
    if (!this.available) throw new Error('Error while encrypting the text provided to safeStorage.encryptStringAsync. Encryption is not available.');
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([c.update(plainText, 'utf8'), c.final()]);
    return Buffer.concat([Buffer.from('v11'), iv, c.getAuthTag(), data]);
  }
  async decryptStringAsync(encrypted: Buffer): Promise<{ shouldReEncrypt: boolean; result: string }> {
    this.calls.push('decryptStringAsync');
    try {
      if (encrypted.subarray(0, 3).toString() !== 'v11') throw new Error('bad prefix');
      const d = createDecipheriv('aes-256-gcm', this.key, encrypted.subarray(3, 15));
      d.setAuthTag(encrypted.subarray(15, 31));
      const result = Buffer.concat([d.update(encrypted.subarray(31)), d.final()]).toString('utf8');
      return { shouldReEncrypt: this.rotateOnDecrypt, result };
    } catch {
      throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptStringAsync.');
    }
  }
}

const MACHINE = 'machine-a';
const vaultOn = (fake: FakeSafeStorage, opts: ConstructorParameters<typeof SafeStorageVault>[1] = {}) =>
  new SafeStorageVault(fake, { platform: 'linux', machine: MACHINE, ...opts });

async function vaultError(p: Promise<unknown>): Promise<VaultError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VaultError);
  return err as VaultError;
}

describe('SafeStorageVault', () => {
  it('seals and opens a secret; the blob names its backend and machine and holds no plaintext', async () => {
    const fake = new FakeSafeStorage();
    const vault = vaultOn(fake);
    const blob = await vault.seal('s3cret-Pässword');
    expect(blob.startsWith(BLOB_PREFIX)).toBe(true);
    expect(blob).not.toContain('s3cret');
    const header = decodeBlob(blob);
    expect(header).toMatchObject({ v: 1, backend: 'electron-safestorage', machine: MACHINE });
    expect(Buffer.from(header.data, 'base64').toString('latin1')).not.toContain('s3cret');
    expect(await vault.open(blob)).toBe('s3cret-Pässword');
    // A second vault object on the same OS key opens it too (as after an app restart).
    expect(await vaultOn(fake).open(blob)).toBe('s3cret-Pässword');
    expect(vault.backend).toBe('electron-safestorage');
  });

  it('refuses the "basic_text" backend on Linux, saying why, for sealing and opening', async () => {
    const fake = new FakeSafeStorage();
    const blob = await vaultOn(fake).seal('pw');
    fake.backend = 'basic_text';
    const sealErr = await vaultError(vaultOn(fake).seal('pw'));
    expect(sealErr.kind).toBe('weak_backend');
    expect(sealErr.message).toMatch(/basic_text/);
    expect(sealErr.message).toMatch(/Secret Service|KWallet/);
    expect(sealErr.message).toMatch(/environment variable/);
    expect((await vaultError(vaultOn(fake).open(blob))).kind).toBe('weak_backend');
    // Nothing was encrypted or decrypted with the weak backend (the one encrypt is the first seal).
    expect(fake.calls.filter((c) => c === 'encryptStringAsync')).toHaveLength(1);
    expect(fake.calls).not.toContain('decryptStringAsync');
  });

  it('does not ask for the Linux backend on macOS and Windows', async () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const fake = new FakeSafeStorage();
      fake.backend = 'basic_text';
      const vault = vaultOn(fake, { platform });
      expect(await vault.open(await vault.seal('pw'))).toBe('pw');
      expect(fake.calls).not.toContain('getSelectedStorageBackend');
    }
  });

  it('says the keystore is unavailable or not ready instead of failing obscurely', async () => {
    const fake = new FakeSafeStorage();
    fake.available = false;
    const err = await vaultError(vaultOn(fake, { platform: 'darwin' }).seal('pw'));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/macOS Keychain/);
    expect(fake.calls).not.toContain('encryptStringAsync');
    fake.backend = 'unknown';
    expect((await vaultError(vaultOn(fake).seal('pw'))).message).toMatch(/not ready/);
  });

  it('refuses a blob sealed on another machine with the clear message', async () => {
    const fake = new FakeSafeStorage();
    const blob = await vaultOn(fake, { machine: 'machine-b' }).seal('pw');
    const err = await vaultError(vaultOn(fake).open(blob));
    expect(err.kind).toBe('foreign');
    expect(err.message).toBe(foreignMessage());
    expect(fake.calls).not.toContain('decryptStringAsync');
  });

  it('refuses a blob of the CLI vault (OS keychain) and says where it came from', async () => {
    const cliBlob = encodeBlob({ v: 1, backend: 'os-keychain', machine: MACHINE, keyId: 'abc', iv: 'AA==', tag: 'AA==', data: 'AA==' });
    const err = await vaultError(vaultOn(new FakeSafeStorage()).open(cliBlob));
    expect(err.kind).toBe('foreign');
    expect(err.message).toMatch(/headless CLI/);
    expect(err.message).toMatch(/re-enter/);
  });

  it('explains a blob the OS key cannot decrypt (macOS: app name or signing identity changed)', async () => {
    const fake = new FakeSafeStorage();
    const blob = await vaultOn(fake, { platform: 'darwin' }).seal('pw');
    fake.rotateKey(); // as if the Keychain item now belongs to another app identity
    const err = await vaultError(vaultOn(fake, { platform: 'darwin', appName: 'Logstag Agent' }).open(blob));
    expect(err.kind).toBe('foreign');
    expect(err.message).toMatch(/re-enter it/);
    expect(err.message).toMatch(/code-signing identity/);
    expect(err.message).toMatch(/"Logstag Agent Safe Storage"/);
    expect(err.message).not.toMatch(/safeStorage\.decryptStringAsync/);
  });

  it('detects an edited header or damaged ciphertext', async () => {
    const fake = new FakeSafeStorage();
    const vault = vaultOn(fake);
    const blob = decodeBlob(await vault.seal('pw'));
    const relabelled = encodeBlob({ ...blob, keyId: 'someone-else' });
    expect((await vaultError(vault.open(relabelled))).kind).toBe('corrupt');
    const data = Buffer.from(blob.data, 'base64');
    data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0xff;
    expect((await vaultError(vault.open(encodeBlob({ ...blob, data: data.toString('base64') })))).kind).toBe('foreign');
    expect((await vaultError(vault.open('logstag-secret:v1:%%%'))).kind).toBe('corrupt');
  });

  it('re-seals a secret when safeStorage asks for re-encryption and hands over the new blob', async () => {
    const fake = new FakeSafeStorage();
    const onReseal = vi.fn();
    const vault = vaultOn(fake, { onReseal });
    const blob = await vault.seal('pw');
    fake.rotateOnDecrypt = true;
    const opened = await vault.openAndRefresh(blob);
    expect(opened.plaintext).toBe('pw');
    expect(opened.resealed).toBeDefined();
    expect(opened.resealed).not.toBe(blob);
    expect(onReseal).toHaveBeenCalledWith(blob, opened.resealed);
    fake.rotateOnDecrypt = false;
    expect(await vault.openAndRefresh(opened.resealed!)).toEqual({ plaintext: 'pw' });
    expect(onReseal).toHaveBeenCalledTimes(1);
  });

  it('still opens the secret when storing the re-sealed blob fails, and logs why', async () => {
    const fake = new FakeSafeStorage();
    const log = vi.fn();
    const vault = vaultOn(fake, { onReseal: () => Promise.reject(new Error('disk full')), log });
    const blob = await vault.seal('pw');
    fake.rotateOnDecrypt = true;
    expect(await vault.open(blob)).toBe('pw');
    expect(log).toHaveBeenCalledWith(expect.objectContaining({ message: 'disk full' }));
  });
});
