import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../collectors/core/engine.js';
import { StateStore } from '../../agent/config/state-store.js';
import { isOneLineError, runAgentCli } from '../helpers/cli.js';

function homeWith(content: string): { home: string; file: string } {
  const home = mkdtempSync(join(tmpdir(), 'bad-state-'));
  const file = join(home, 'state.json');
  writeFileSync(file, content, { mode: 0o600 });
  return { home, file };
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('a bad state file is reported and kept, never overwritten', () => {
  const cases: [string, string, RegExp][] = [
    ['corrupt JSON', '{"version": 1, "targets": [', /not valid JSON; restore it from a backup or remove it/],
    ['wrong schema version', JSON.stringify({ version: 2, targets: [], settings: {} }), /version/],
    [
      'a plaintext password',
      JSON.stringify({
        version: 1,
        targets: [{ id: 'pg', engine: 'postgres', host: 'h', port: 5432, user: 'u', database: 'd', password: 'hunter2' }],
        settings: {},
      }),
      /password/,
    ],
  ];
  for (const [what, content, message] of cases) {
    it(`${what}: one-line ConfigError naming the file; the bytes are unchanged after another store writes`, async () => {
      const { home, file } = homeWith(content);
      const err = configError(() => new StateStore(home));
      expect(err.message).toMatch(message);
      expect(err.message.startsWith(`${file}: `)).toBe(true);
      expect(err.message).not.toContain('\n');
      expect(err.message).not.toContain('hunter2');
      // Whatever runs next (a retry, a second window) cannot get a store to write with.
      configError(() => new StateStore(home));
      expect(readFileSync(file, 'utf8')).toBe(content);
    });
  }
});

describe('CLI bad input: unreadable keychain, empty secret', () => {
  it('secret encrypt with no reachable Secret Service: exit 2 and one clear line', async () => {
    const dead = join(mkdtempSync(join(tmpdir(), 'dead-bus-')), 'bus');
    const r = await runAgentCli(['secret', 'encrypt'], { input: 'some-secret\n', env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${dead}` } });
    expect(r.code).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/the OS keychain is not available/);
    expect(r.stderr).not.toContain('some-secret');
    expect(r.stdout).toBe('');
  });

  it('secret encrypt with an empty stdin (or just a newline): exit 2 and one line', async () => {
    for (const input of ['', '\n']) {
      const r = await runAgentCli(['secret', 'encrypt'], { input });
      expect(r.code).toBe(2);
      expect(isOneLineError(r.stderr)).toBe(true);
      expect(r.stderr).toMatch(/nothing on stdin/);
    }
  });
});
