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
