import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type Blob, type BlobHeader, encodeBlob, headerBytes, VaultError } from './vault.js';

/** Which key sealed a blob: a hash of the key, stored in the header (not secret). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** AES-256-GCM under `key`, the header authenticated alongside (a tampered header fails to open). */
export function sealWithKey(key: Buffer, header: BlobHeader, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(headerBytes(header));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return encodeBlob({ ...header, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') });
}

export function openWithKey(key: Buffer, blob: Blob): string {
  if (blob.iv === undefined || blob.tag === undefined) throw new VaultError('corrupt', 'the secret blob is damaged; re-enter the secret');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(blob.iv, 'base64'));
    decipher.setAAD(headerBytes(blob));
    decipher.setAuthTag(Buffer.from(blob.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(blob.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultError('corrupt', 'the secret blob was altered or damaged and cannot be opened; re-enter the secret');
  }
}
