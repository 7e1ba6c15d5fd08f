import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../collectors/core/engine.js';
import { TargetSchema } from '../../collectors/target.js';
import { connectionSettings } from '../../collectors/mongodb/session.js';
import { parseTarget } from '../../agent/config/target-file.js';

// An empty regular file: devices such as /dev/null are refused as key files (collectors/core/bounded-read.ts).
const emptyPem = join(mkdtempSync(join(tmpdir(), 'lsa-mongo-pem-')), 'client.pem');
writeFileSync(emptyPem, '');

const base = {
  id: 'mongo-main',
  engine: 'mongodb',
  host: 'db0.example.internal',
  port: 27017,
  user: 'logstag_monitor',
  database: 'admin',
  password: { env: 'MONGO_PW' },
};
/** `password: null` connects without one. */
const settings = (extra: Record<string, unknown> = {}, password: string | null = 'pw') =>
  connectionSettings(TargetSchema.parse({ ...base, ...extra }), password ?? undefined, 'logstag-agent/9.9.9');

describe('MongoDB connection settings', () => {
  it('one member, directly, with the appName, no retries, bounded selection and sockets, SCRAM against the target database', () => {
    const { url, where, options } = settings({ statementTimeoutMs: 4000, connectTimeoutMs: 7000 });
    expect(url).toBe('mongodb://db0.example.internal:27017/');
    expect(where).toBe('db0.example.internal:27017');
    expect(options).toMatchObject({
      appName: 'logstag-agent/9.9.9',
      readPreference: 'primaryPreferred',
      retryWrites: false,
      retryReads: false,
      directConnection: true,
      serverSelectionTimeoutMS: 7000,
      connectTimeoutMS: 7000,
      socketTimeoutMS: 6000,
      auth: { username: 'logstag_monitor', password: 'pw' },
      authSource: 'admin',
      tls: false,
    });
    expect(options).not.toHaveProperty('authMechanism');
  });

  it('mongodb+srv: no port in the URL, discovery instead of a direct connection, verified TLS by default', () => {
    const { url, where, options } = settings({ host: 'cluster0.abcde.mongodb.net', mongodb: { srv: true } });
    expect(url).toBe('mongodb+srv://cluster0.abcde.mongodb.net/');
    expect(where).toBe('mongodb+srv://cluster0.abcde.mongodb.net');
    expect(options).toMatchObject({ directConnection: false, tls: true });
    expect(options).not.toHaveProperty('rejectUnauthorized');
    expect(options).not.toHaveProperty('checkServerIdentity');
  });

  it('a named replica set is discovered; an IPv6 member is bracketed', () => {
    expect(settings({ mongodb: { replicaSet: 'rs0' } }).options).toMatchObject({ directConnection: false, replicaSet: 'rs0' });
    expect(settings({ host: '::1' }).url).toBe('mongodb://[::1]:27017/');
  });

  it('MONGODB-X509 authenticates in $external with the certificate; no password means no credentials at all', () => {
    const x509 = settings(
      { database: '$external', password: undefined, tls: { mode: 'require' }, mongodb: { authMechanism: 'MONGODB-X509', tlsCertificateKeyFile: emptyPem } },
      null,
    );
    expect(x509.options).toMatchObject({
      authMechanism: 'MONGODB-X509',
      authSource: '$external',
      auth: { username: 'logstag_monitor', password: '' },
      tls: true,
    });
    const none = settings({}, null).options;
    expect(none).not.toHaveProperty('auth');
    expect(none).not.toHaveProperty('authSource');
    expect(settings({ mongodb: { authMechanism: 'SCRAM-SHA-1' } }).options).toMatchObject({ authMechanism: 'SCRAM-SHA-1' });
  });

  it('TLS modes: require encrypts without verifying; verify-ca checks the chain only; verify-full pins a server name when given', () => {
    expect(settings({ tls: { mode: 'require' } }).options).toMatchObject({ tls: true, rejectUnauthorized: false });
    const ca = settings({ tls: { mode: 'verify-ca' } }).options;
    expect(ca.rejectUnauthorized).toBeUndefined();
    expect(ca.checkServerIdentity?.('x', {} as never)).toBeUndefined();
    const full = settings({ tls: { mode: 'verify-full', serverName: 'db.example.org' } }).options;
    expect(full).toMatchObject({ tls: true, servername: 'db.example.org' });
    expect(full.checkServerIdentity?.('db0.example.internal', { subject: { CN: 'other' }, subjectaltname: 'DNS:other' } as never)).toBeInstanceOf(Error);
  });

  it('a host with URI syntax never reaches the connection string', () => {
    for (const host of ['a@b', 'db/admin?tls=false', 'db,other', 'db:27017']) {
      // Refused when the target is read (collectors/core/host.ts), and again by the session if a target ever skipped that.
      expect(() => parseTarget({ ...base, host }, 't.json')).toThrow(/host: /);
      expect(() => connectionSettings({ ...TargetSchema.parse(base), host }, 'pw', 'logstag-agent/9.9.9')).toThrow(ConfigError);
    }
  });
});

describe('MongoDB target options in a target file', () => {
  const message = (raw: Record<string, unknown>): string => {
    try {
      parseTarget(raw, 't.json');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('accepts the documented options and fills their defaults', () => {
    expect(parseTarget({ ...base, mongodb: { replicaSet: 'rs0' } }, 't.json').mongodb).toEqual({ srv: false, replicaSet: 'rs0', currentOps: false });
  });

  it.each([
    [{ ...base, engine: 'postgres', port: 5432, mongodb: { srv: true } }, 't.json: mongodb: applies to mongodb targets only, not postgres'],
    [{ ...base, mongodb: { srv: 'yes' } }, /t\.json: mongodb\.srv: /],
    [{ ...base, mongodb: { authSource: 'admin' } }, 't.json: mongodb: unknown field(s) "authSource"'],
    [{ ...base, mongodb: { authMechanism: 'PLAIN' } }, /t\.json: mongodb\.authMechanism: /],
    [
      { ...base, database: '$external', password: undefined, tls: { mode: 'require' }, mongodb: { authMechanism: 'MONGODB-X509' } },
      't.json: mongodb.tlsCertificateKeyFile: is required for MONGODB-X509',
    ],
    [
      { ...base, tls: { mode: 'require' }, mongodb: { authMechanism: 'MONGODB-X509', tlsCertificateKeyFile: '/c.pem' } },
      't.json: database: must be "$external" for MONGODB-X509',
    ],
    [
      { ...base, mongodb: { tlsCertificateKeyFile: '/c.pem' } },
      't.json: tls.mode: must enable TLS (require, verify-ca or verify-full) to present mongodb.tlsCertificateKeyFile',
    ],
    [
      { ...base, tls: { caFile: '/ca.pem' } },
      't.json: tls.mode: MongoDB has no opportunistic TLS ("prefer"): choose disable, require, verify-ca or verify-full',
    ],
    [{ ...base, database: undefined }, 't.json: database: is required for mongodb'],
  ])('explains a wrong MongoDB target in one line (%#)', (raw, expected) => {
    const m = message(raw as Record<string, unknown>);
    if (typeof expected === 'string') expect(m).toBe(expected);
    else expect(m).toMatch(expected);
  });
});
