import { randomUUID } from 'node:crypto';
import { AsyncEntry } from '@napi-rs/keyring';
import { describe, expect, inject, it } from 'vitest';
import { KeychainVault } from '../../agent/secrets/keychain-vault.js';
import { decodeBlob, encodeBlob, VaultError } from '../../agent/secrets/vault.js';
import { jsonFile, runAgentCli } from '../helpers/cli.js';

// A real Secret Service (gnome-keyring on a private D-Bus) is started by the harness.
const fresh = (machine?: string) => {
  const service = `logstag-test-${randomUUID()}`;
  return { service, vault: new KeychainVault({ service, ...(machine ? { machine } : {}) }) };
};

async function vaultError(p: Promise<unknown>): Promise<VaultError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VaultError);
    return e as VaultError;
  }
  throw new Error('expected a VaultError');
}

describe('OS keychain vault (real Secret Service)', () => {
  it('seals and opens; the blob carries backend and machine but no plaintext', async () => {
    const { service, vault } = fresh();
    const blob = await vault.seal('s3cret-pässword');
    expect(blob.startsWith('logstag-secret:v1:')).toBe(true);
    expect(Buffer.from(blob.slice(18), 'base64url').toString()).not.toContain('s3cret');
    expect(decodeBlob(blob)).toMatchObject({ v: 1, backend: 'os-keychain' });
    expect(await vault.open(blob)).toBe('s3cret-pässword');
    // A new process (new vault object) reads the same key back from the keychain.
    expect(await new KeychainVault({ service }).open(blob)).toBe('s3cret-pässword');
  });

  it('a blob from another host or user fails clearly, never as garbage', async () => {
    const { service, vault } = fresh();
    const blob = await vault.seal('pw');
    const elsewhere = new KeychainVault({ service, machine: 'another-host-fingerprint' });
    expect((await vaultError(elsewhere.open(blob))).message).toBe('this secret was created on another host or by another user; re-enter it here');
    // Same machine fingerprint but the keychain no longer holds the key (restored on a new host, keychain reset).
    await new AsyncEntry(service, 'vault-key-v1').deletePassword();
    const reset = new KeychainVault({ service });
    expect((await vaultError(reset.open(blob))).kind).toBe('foreign');
  });

  it('detects tampering with the ciphertext or the header', async () => {
    const { vault } = fresh();
    const b = decodeBlob(await vault.seal('pw'));
    const flipped = Buffer.from(b.data, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect((await vaultError(vault.open(encodeBlob({ ...b, data: flipped.toString('base64') })))).kind).toBe('corrupt');
    expect((await vaultError(vault.open(encodeBlob({ ...b, backend: 'electron-safestorage' })))).message).toMatch(/desktop app/);
    expect((await vaultError(vault.open('not a blob'))).kind).toBe('corrupt');
  });

  it('secret encrypt prints a blob the CLI then uses to connect', async () => {
    const pg = inject('pg');
    const home = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/lsa-secret-`);
    const enc = await runAgentCli(['secret', 'encrypt'], { input: `${pg.users.monitor.password}\n`, home });
    expect(enc.code).toBe(0);
    const blob = enc.stdout.trim();
    expect(blob).toMatch(/^logstag-secret:v1:/);
    expect(blob).not.toContain(pg.users.monitor.password);
    const target = jsonFile({
      id: 'pg-vault',
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      user: pg.users.monitor.user,
      database: pg.database,
      password: { secret: blob },
      tls: { mode: 'disable' },
    });
    const r = await runAgentCli(['collect', '--once', '--target', target, '--json'], { home });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'logstag.payload/v2', target: { id: 'pg-vault' } });
    const empty = await runAgentCli(['secret', 'encrypt'], { input: '', home });
    expect(empty.code).toBe(2);
  });
});
