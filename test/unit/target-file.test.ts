import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../collectors/core/engine.js';
import { loadTargetFile, parseTarget } from '../../agent/config/target-file.js';

const base = { id: 'pg-main', engine: 'postgres', host: 'db.example', port: 5432, user: 'monitor', database: 'app', password: { env: 'PGPW' } };

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('target files', () => {
  it('accepts a complete target and fills defaults', () => {
    const t = parseTarget(base, 't.json');
    expect(t).toMatchObject({ ...base, intervalSeconds: 60, statementTimeoutMs: 5000 });
  });

  it('refuses a plaintext password with the way out', () => {
    expect(message(() => parseTarget({ ...base, password: 'hunter2' }, 't.json'))).toMatch(/t\.json: password: plaintext passwords are refused; use \{"env"/);
  });

  it.each([
    [{ ...base, engine: 'mysql' }, /engine/],
    [{ ...base, database: undefined }, /database: is required for postgres/],
    [{ ...base, engine: 'oracle', service: undefined }, /service: is required for oracle/],
    [{ ...base, port: 70000 }, /port/],
    [{ ...base, pasword: 'x' }, /unknown field\(s\) "pasword"/],
    [{ ...base, password: { env: 'A', secret: 'b' } }, /password/],
    [[], /must be a JSON object/],
  ])('explains what is wrong in one line (%#)', (raw, re) => {
    const m = message(() => parseTarget(raw, 't.json'));
    expect(m).toMatch(re);
    expect(m).not.toContain('\n');
  });

  it('reports a missing file and bad JSON plainly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-'));
    await expect(loadTargetFile(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: no such file/);
    writeFileSync(join(dir, 'bad.json'), '{"id": ');
    await expect(loadTargetFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: not valid JSON/);
  });
});

describe('host names are validated before any network use', () => {
  it.each([
    ['a\u0000b', /host: must not contain control characters/],
    [' ', /host: must not be blank/],
    ['db example', /host: must not contain spaces/],
    ['h:5432', /host: must not carry a port: put it in "port"/],
    ['postgres://db', /host: is a URL/],
    ['[::1]', /host: write an IPv6 address without brackets/],
    ['db..example', /host: has an empty label/],
    ['db/x', /host: is not a host name or IP address/],
    [`${'a'.repeat(64)}.example`, /label longer than 63/],
  ])('refuses %j', (host, re) => {
    expect(() => parseTarget({ ...base, host }, 't.json')).toThrow(re);
  });

  it.each(['db.example', 'db-1.internal.', '10.0.0.5', '::1', 'fe80::1', 'my_host'])('accepts %j', (host) => {
    expect(parseTarget({ ...base, host }, 't.json').host).toBe(host);
  });

  it('refuses an IP address as a mongodb+srv name', () => {
    const mongo = { ...base, engine: 'mongodb', host: '10.0.0.5', port: 27017, database: 'admin', tls: { mode: 'require' }, mongodb: { srv: true } };
    expect(() => parseTarget(mongo, 't.json')).toThrow(/host: must be a DNS name with mongodb.srv/);
  });
});

describe('messages that say how to fix it', () => {
  it('an unknown field gets a "did you mean"', () => {
    expect(() => parseTarget({ ...base, databse: 'app' }, 't.json')).toThrow(
      /t\.json: \(root\): unknown field\(s\) "databse" \("databse": did you mean "database"\?\)/,
    );
    expect(() => parseTarget({ ...base, tls: { mode: 'require', cafile: '/x' } }, 't.json')).toThrow(/did you mean "caFile"\?/);
    // Nothing close: no guess.
    expect(() => parseTarget({ ...base, zzzzzz: 1 }, 't.json')).toThrow(/unknown field\(s\) "zzzzzz"$/);
  });

  it('a password in a form that is not accepted spells out the accepted forms', () => {
    expect(() => parseTarget({ ...base, password: { env: '1BAD' } }, 't.json')).toThrow(/password\.env: must be an environment variable name/);
    for (const password of [{ file: '/x' }, 42, { env: 'A', secret: 'b' }]) {
      expect(() => parseTarget({ ...base, password }, 't.json')).toThrow(
        /password: must be \{"env": "VAR_NAME"\} .* or \{"secret": "<blob from `logstag-agent secret encrypt`>"\}/,
      );
    }
  });
});
