import { ConfigError } from '../../core/engine.js';
import type { GcpBinding } from '../binding.js';

/** Google's OAuth 2.0 token endpoint: the only token_uri a key file may name. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The fields of a service-account key the agent uses (https://cloud.google.com/iam/docs/keys-create-delete). */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  privateKeyId?: string;
  /** Where the key's JWT is exchanged for an access token. */
  tokenUrl: string;
}

const field = (json: Record<string, unknown>, name: string): string => {
  const v = json[name];
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`the service-account key has no ${name} field`);
  return v;
};

/**
 * Parses the sealed key JSON. Every message names a field, never a value: the
 * private key must not reach a log, a signal or the audit trail.
 */
export function parseServiceAccountKey(secret: string | undefined, binding: GcpBinding): ServiceAccountKey {
  if (secret === undefined || secret.trim() === '') throw new ConfigError('the service-account key is not set');
  let json: unknown;
  try {
    json = JSON.parse(secret);
  } catch {
    throw new ConfigError('the service-account key is not JSON (paste the whole key file downloaded from IAM)');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError('the service-account key is not a JSON object');
  const obj = json as Record<string, unknown>;
  if (obj.type !== 'service_account') throw new ConfigError('the key is not a service-account key (its type field must be "service_account")');
  const clientEmail = field(obj, 'client_email');
  const privateKey = field(obj, 'private_key');
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey))
    throw new ConfigError('the service-account key has a private_key field that is not a PEM private key');
  // A key file must not redirect the agent's signed assertion to another host: only
  // Google's token endpoint is accepted from the file; anything else is an explicit
  // binding setting (tokenEndpoint) the operator reviews.
  const tokenUri = obj.token_uri;
  if (tokenUri !== undefined && tokenUri !== GOOGLE_TOKEN_URL && binding.tokenEndpoint === undefined) {
    throw new ConfigError(
      `the service-account key's token_uri is not ${GOOGLE_TOKEN_URL}; the agent only exchanges keys with Google (set cloud.tokenEndpoint to use another endpoint deliberately)`,
    );
  }
  const universe = obj.universe_domain;
  if (universe !== undefined && universe !== 'googleapis.com')
    throw new ConfigError('the service-account key belongs to another universe_domain than googleapis.com, which this agent does not support');
  const privateKeyId = typeof obj.private_key_id === 'string' ? obj.private_key_id : undefined;
  return {
    clientEmail,
    privateKey,
    ...(privateKeyId === undefined ? {} : { privateKeyId }),
    tokenUrl: binding.tokenEndpoint ?? GOOGLE_TOKEN_URL,
  };
}
