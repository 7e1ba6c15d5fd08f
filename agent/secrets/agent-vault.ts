import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_KEY_CREDENTIAL, HostVault } from './host-vault.js';
import { KeychainVault } from './keychain-vault.js';
import { decodeBlob, type Vault, type VaultBackend, VaultError } from './vault.js';

/** What `secret encrypt --backend` takes: the OS keychain (a desktop session) or the machine's host key (a service). */
export type BackendChoice = 'keychain' | 'host';

export function parseBackendChoice(value: string | undefined): BackendChoice | undefined {
  if (value === undefined) return undefined;
  if (value === 'keychain' || value === 'host') return value;
  throw new VaultError(
    'unavailable',
    `--backend must be "keychain" (OS keychain, a desktop session) or "host" (the machine's host key, for a service); not "${value}"`,
  );
}

/**
 * The default backend for sealing: the host key when this process is the service
 * (systemd handed it the host key credential) or LOGSTAG_VAULT_BACKEND=host says
 * so, else the OS keychain.
 */
export function defaultBackend(env: NodeJS.ProcessEnv): BackendChoice {
  if (env['LOGSTAG_VAULT_BACKEND'] === 'host') return 'host';
  const dir = env['CREDENTIALS_DIRECTORY'];
  if (dir !== undefined && dir !== '' && existsSync(join(dir, HOST_KEY_CREDENTIAL))) return 'host';
  return 'keychain';
}

export const HOST_HINT =
  'for a service without a desktop session, seal it with the machine\'s host key instead: `printf %s "$PW" | sudo logstag-agent secret encrypt --backend host` (see docs/headless.md)';

/**
 * The CLI's vault. A blob names the backend that sealed it, so opening goes to
 * that backend (a keychain blob and a host-key blob can sit side by side in one
 * config); sealing uses `choice`.
 */
export class AgentVault implements Vault {
  private keychain: KeychainVault | undefined;
  private host: HostVault | undefined;
  readonly choice: BackendChoice;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    choice?: BackendChoice,
  ) {
    this.choice = choice ?? defaultBackend(env);
  }

  get backend(): VaultBackend {
    return this.choice === 'host' ? 'systemd-creds' : 'os-keychain';
  }

  private of(backend: VaultBackend): Vault {
    if (backend === 'systemd-creds') return (this.host ??= new HostVault({ env: this.env }));
    // The keychain vault also answers for the desktop app's blobs (it says the CLI cannot open them).
    return (this.keychain ??= new KeychainVault());
  }

  async seal(plaintext: string): Promise<string> {
    try {
      return await this.of(this.backend).seal(plaintext);
    } catch (err) {
      if (err instanceof VaultError && err.kind === 'unavailable' && this.choice === 'keychain')
        throw new VaultError('unavailable', `${err.message}; ${HOST_HINT}`);
      throw err;
    }
  }

  async open(blob: string): Promise<string> {
    try {
      return await this.of(decodeBlob(blob).backend).open(blob);
    } catch (err) {
      if (err instanceof VaultError && err.kind === 'unavailable' && decodeBlob(blob).backend === 'os-keychain') {
        throw new VaultError(
          'unavailable',
          `${err.message}; a service has no keychain session to unlock: re-seal the secret with the host key (\`secret encrypt --backend host\`, see docs/headless.md)`,
        );
      }
      throw err;
    }
  }
}
