// TLS to MongoDB through the real driver: server verification modes, a client
// certificate, and MONGODB-X509 authentication, against the fake mongod on TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { LEAST } from '../fixtures/mongodb/identities.js';
import { mongoTarget } from '../helpers/mongo.js';
import { agentOps } from '../helpers/pg.js';

const SUBJECT = 'CN=logstag-agent,O=Example';
let dir: string;
let server: FakeMongod;
let mutual: FakeMongod;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lsa-mongo-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca'])
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.crt`);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=Example/CN=logstag-agent', '-keyout', 'client.key', '-out', 'client.csr');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.crt');
  // One PEM with certificate and key, as mongod's and mongosh's tlsCertificateKeyFile.
  writeFileSync(join(dir, 'client.pem'), readFileSync(join(dir, 'client.crt'), 'utf8') + readFileSync(join(dir, 'client.key'), 'utf8'));
  const tls = { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')), ca: readFileSync(join(dir, 'ca.crt')) };
  server = await startFakeMongod({ tls });
  mutual = await startFakeMongod({ tls: { ...tls, requestCert: true, rejectUnauthorized: true }, x509: { [SUBJECT]: LEAST } });
});
afterAll(async () => {
  await server.stop();
  await mutual.stop();
});

const security = async (target: ReturnType<typeof mongoTarget>, password = LEAST.password) => {
  const { ops } = agentOps(password);
  const { payload, connectError } = await ops.collect(target);
  expect(connectError).toBeUndefined();
  return payload.signals.find((s) => s.id === 'mongodb.security');
};

describe('MongoDB over TLS', () => {
  it('verify-full with the CA file: connected, and the security signal says the agent connection is encrypted', async () => {
    const s = await security(mongoTarget(server.port, LEAST, { host: 'localhost', tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt') } }));
    expect(s).toMatchObject({ status: 'ok', value: { agent_connection_tls: true } });
  });

  it('a certificate from another CA, or for another name, is a TLS failure; require still encrypts without verifying', async () => {
    const { ops } = agentOps(LEAST.password);
    const quick = { host: 'localhost', connectTimeoutMs: 1000 };
    await expect(
      ops.testConnection(mongoTarget(server.port, LEAST, { ...quick, tls: { mode: 'verify-full', caFile: join(dir, 'other-ca.crt') } })),
    ).rejects.toMatchObject({ kind: 'tls' });
    await expect(
      ops.testConnection(
        mongoTarget(server.port, LEAST, { ...quick, tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt'), serverName: 'db.example.org' } }),
      ),
    ).rejects.toMatchObject({ kind: 'tls' });
    // verify-ca checks the chain, not the name.
    expect(
      await ops.testConnection(
        mongoTarget(server.port, LEAST, { host: 'localhost', tls: { mode: 'verify-ca', caFile: join(dir, 'ca.crt'), serverName: 'db.example.org' } }),
      ),
    ).toMatchObject({ user: 'logstag@admin' });
    expect(await ops.testConnection(mongoTarget(server.port, LEAST, { tls: { mode: 'require' } }))).toMatchObject({ user: 'logstag@admin' });
    // Plaintext against a TLS port gets no MongoDB answer: a connect failure, never a half-open session.
    await expect(ops.testConnection(mongoTarget(server.port, LEAST, { connectTimeoutMs: 1000 }))).rejects.toMatchObject({ name: 'TargetConnectError' });
  });

  it('a missing CA file is a configuration error in one line', async () => {
    const { ops } = agentOps(LEAST.password);
    await expect(ops.testConnection(mongoTarget(server.port, LEAST, { tls: { mode: 'verify-full', caFile: join(dir, 'nope.crt') } }))).rejects.toThrow(
      /^tls\.caFile .*nope\.crt: no such file$/,
    );
  });

  it('a server that demands a client certificate: refused without one, SCRAM over mutual TLS with one', async () => {
    const { ops } = agentOps(LEAST.password);
    const base = { host: 'localhost', tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt') }, connectTimeoutMs: 2000 };
    await expect(ops.testConnection(mongoTarget(mutual.port, LEAST, base))).rejects.toMatchObject({
      kind: 'tls',
      message: expect.stringContaining('CERTIFICATE_REQUIRED'),
    });
    const withCert = mongoTarget(mutual.port, LEAST, { ...base, mongodb: { tlsCertificateKeyFile: join(dir, 'client.pem') } });
    expect(await ops.testConnection(withCert)).toMatchObject({ user: 'logstag@admin' });
  });

  it('MONGODB-X509: the client certificate is the identity ($external), no password', async () => {
    const { ops } = agentOps('unused');
    const target = mongoTarget(
      mutual.port,
      { user: SUBJECT, db: '$external' },
      {
        id: 'mongo-x509',
        host: 'localhost',
        password: undefined,
        tls: { mode: 'verify-full', caFile: join(dir, 'ca.crt') },
        mongodb: { authMechanism: 'MONGODB-X509', tlsCertificateKeyFile: join(dir, 'client.pem') },
      },
    );
    const report = await ops.checkPermissions(target);
    expect(report.identity).toMatchObject({ user: `${SUBJECT}@$external`, isAdministrator: false });
    const received = mutual.received.filter((c) => c.name === 'authenticate');
    expect(received.at(-1)?.doc).toMatchObject({ mechanism: 'MONGODB-X509' });
    expect(report.items.filter((i) => i.status === 'missing')).toEqual([]);
  });
});
