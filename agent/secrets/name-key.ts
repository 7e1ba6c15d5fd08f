import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { FileReadError, readBoundedFileSync } from '../../collectors/core/bounded-read.js';
import { join } from 'node:path';
import { ConfigError } from '../../collectors/core/engine.js';
import { type Vault, VaultError } from './vault.js';

/**
 * The per-agent secret key that pseudonymises names (collectors/core/redact/names.ts).
 *
 * Kept sealed by the vault (OS keychain / Electron safeStorage) in
 * `<home>/name-key.sealed` whenever the vault works. When it does not (a headless
 * Linux host without a Secret Service) the key goes to `<home>/name-key`, mode
 * 0600, instead: the key only pseudonymises names that the same home directory
 * already holds in the clear wherever the operator collects them (outbox, audit
 * ledger), so a file with the same protection as those is proportionate, while
 * the alternatives are worse — shipping names raw, or a new key per run that
 * would make every token change and break correlation across cycles.
 *
 * Created once; never silently replaced: a sealed key that can no longer be
 * opened stops the cycle with a clear message rather than switch to a new key.
 */
export class NameKeyStore {
  readonly sealedFile: string;
  readonly plainFile: string;
  private loading: Promise<Buffer> | undefined;

  constructor(
    home: string,
    private readonly vault: () => Vault,
  ) {
    this.sealedFile = join(home, 'name-key.sealed');
    this.plainFile = join(home, 'name-key');
  }

  /** The key; loaded or created once per process (concurrent callers share one load). */
  load(): Promise<Buffer> {
    this.loading ??= this.loadOrCreate().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async loadOrCreate(): Promise<Buffer> {
    const sealed = readIfExists(this.sealedFile);
    if (sealed !== undefined) return this.openSealed(sealed);
    const plain = readIfExists(this.plainFile);
    if (plain !== undefined) return this.readPlain(plain);
    const key = randomBytes(32);
    const encoded = key.toString('base64');
    let blob: string | undefined;
    try {
      blob = await this.vault().seal(encoded);
    } catch (err) {
      if (!(err instanceof VaultError) || (err.kind !== 'unavailable' && err.kind !== 'weak_backend')) throw err;
    }
    // 'wx': if another process created a key meanwhile, use that one (one key per home, ever).
    try {
      if (blob !== undefined) writeFileSync(this.sealedFile, `${blob}\n`, { mode: 0o600, flag: 'wx' });
      else writeFileSync(this.plainFile, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return this.loadOrCreate();
      throw err;
    }
    return key;
  }

  private async openSealed(blob: string): Promise<Buffer> {
    let text: string;
    try {
      text = await this.vault().open(blob.trim());
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(
        `the key that hashes names (${this.sealedFile}) cannot be opened: ${why}; names under a "redact" policy are not shipped until it can`,
      );
    }
    return checkKey(text, this.sealedFile);
  }

  private readPlain(text: string): Buffer {
    const mode = statSync(this.plainFile).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ConfigError(`${this.plainFile} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${this.plainFile}`);
    }
    return checkKey(text, this.plainFile);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readBoundedFileSync(file, { maxBytes: 64 * 1024 }).toString('utf8');
  } catch (err) {
    if (err instanceof FileReadError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

function checkKey(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`${file} is damaged (not a 256-bit key); names under a "redact" policy are not shipped until it is restored`);
  return key;
}
