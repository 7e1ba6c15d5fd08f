import { ConfigError } from '../../collectors/core/engine.js';
import { registerSecret } from '../../collectors/core/scrub.js';
import type { SecretRef } from '../../collectors/target.js';
import { type Vault, VaultError } from './vault.js';

/**
 * A secret is not available (environment variable unset, vault blob from another
 * machine or damaged, keystore unavailable): the operator has to re-enter or
 * provide it. A ConfigError, so every existing caller treats it so.
 */
export class CredentialsError extends ConfigError {
  override readonly name = 'CredentialsError';
}

/** Turns a secret reference into the secret, in memory only; `label` names the field in errors (never the value). */
export async function resolveSecret(
  ref: SecretRef | undefined,
  vault: () => Vault,
  env: NodeJS.ProcessEnv = process.env,
  label = 'password',
): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') throw new CredentialsError(`${label}: environment variable ${ref.env} is not set`);
    // Every resolved secret is known to the scrubber before anything can echo it back.
    registerSecret(v);
    return v;
  }
  try {
    const v = await vault().open(ref.secret);
    registerSecret(v);
    return v;
  } catch (err) {
    if (err instanceof VaultError) throw new CredentialsError(`${label}: ${err.message}`);
    throw err;
  }
}
