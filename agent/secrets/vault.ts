import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';

/** Where a blob was sealed. Carried in every blob so a mismatch fails clearly. */
export type VaultBackend = 'os-keychain' | 'electron-safestorage' | 'systemd-creds';

const BACKENDS: readonly string[] = ['os-keychain', 'electron-safestorage', 'systemd-creds'] satisfies VaultBackend[];

/** Seals secrets with a key bound to this machine and OS user. Plaintext never touches disk. */
export interface Vault {
  readonly backend: VaultBackend;
  seal(plaintext: string): Promise<string>;
  open(blob: string): Promise<string>;
}

/** A secret cannot be sealed or opened; the message is for the operator, one line, no secret in it. */
export class VaultError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'foreign' | 'corrupt' | 'weak_backend',
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export const BLOB_PREFIX = 'logstag-secret:v1:';

export interface BlobHeader {
  v: 1;
  backend: VaultBackend;
  /** Fingerprint of host + OS user that sealed it (not secret; used for the clear message). */
  machine: string;
  /** Which key sealed it (hash of the key, for os-keychain). */
  keyId?: string;
}
export interface Blob extends BlobHeader {
  /** base64 ciphertext, backend-specific. */
  data: string;
  iv?: string;
  tag?: string;
}

/** A stable fingerprint of this host and OS user. */
export function machineFingerprint(): string {
  let machineId = '';
  try {
    machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    // macOS and Windows: the keychain/DPAPI key is the real binding; hostname is enough for the message.
  }
  return createHash('sha256').update(`${machineId}\0${hostname()}\0${userInfo().username}`).digest('hex').slice(0, 24);
}

/**
 * A stable fingerprint of this host alone (the host backend serves every OS user of the
 * machine: root seals, the service user opens). The machine id, not the hostname, so that
 * renaming a server does not strand its secrets; the host key is the real binding.
 */
export function hostFingerprint(): string {
  let machineId = '';
  try {
    machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    // no machine-id: the host key itself is the real binding; the hostname is enough for the message.
  }
  return createHash('sha256')
    .update(`host\0${machineId || hostname()}`)
    .digest('hex')
    .slice(0, 24);
}

export function encodeBlob(blob: Blob): string {
  return BLOB_PREFIX + Buffer.from(JSON.stringify(blob)).toString('base64url');
}

export function decodeBlob(text: string): Blob {
  const t = text.trim();
  if (!t.startsWith(BLOB_PREFIX))
    throw new VaultError(
      'corrupt',
      'not a Logstag secret blob (expected it to start with "logstag-secret:v1:"); create one with `logstag-agent secret encrypt`',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(t.slice(BLOB_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw new VaultError('corrupt', 'the secret blob is damaged (it does not decode); re-enter the secret');
  }
  const b = parsed as Partial<Blob>;
  if (b.v !== 1 || typeof b.backend !== 'string' || !BACKENDS.includes(b.backend) || typeof b.machine !== 'string' || typeof b.data !== 'string') {
    throw new VaultError('corrupt', 'the secret blob is damaged (unknown layout); re-enter the secret');
  }
  return b as Blob;
}

export function foreignMessage(): string {
  return 'this secret was created on another host or by another user; re-enter it here';
}

/** The JSON header authenticated alongside the ciphertext, so a tampered header fails. */
export function headerBytes(h: BlobHeader): Buffer {
  return Buffer.from(JSON.stringify({ v: h.v, backend: h.backend, machine: h.machine, keyId: h.keyId ?? null }));
}
