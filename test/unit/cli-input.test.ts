import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'monitor', database: 'app', password: { env: 'LSA_TEST_PW' } };

describe('CLI bad input: exit code 2 and one line', () => {
  it.each([
    ['a missing file', () => ['collect', '--once', '--target', '/nonexistent/t.json'], /no such file/],
    ['bad JSON', () => ['collect', '--once', '--target', jsonFile('{"id": "x",')], /not valid JSON/],
    ['an unknown engine', () => ['check', '--target', jsonFile({ ...target, engine: 'mysql' })], /engine/],
    ['a plaintext password', () => ['collect', '--once', '--target', jsonFile({ ...target, password: 'hunter2' })], /plaintext passwords are refused/],
    ['an unset password variable', () => ['collect', '--once', '--target', jsonFile(target)], /environment variable LSA_TEST_PW is not set/],
    ['a damaged secret blob', () => ['check', '--target', jsonFile({ ...target, password: { secret: 'logstag-secret:v1:@@@' } })], /damaged/],
    ['collect without --once', () => ['collect', '--target', jsonFile(target)], /--once/],
    ['a missing --target', () => ['check'], /--target FILE is required/],
    ['an unknown option', () => ['check', '--target', 'x', '--frobnicate'], /frobnicate/],
    ['an unknown command', () => ['explode'], /unknown command "explode"/],
    ['a bad run config', () => ['run', '--config', jsonFile({ targets: [] })], /targets: must be a non-empty list/],
    [
      'a plaintext API key',
      () => ['run', '--config', jsonFile({ targets: [target], destination: { url: 'https://ingest.example/', apiKey: 'lsk_123' } })],
      /destination.apiKey: plaintext API keys are refused/,
    ],
    [
      'an unset API key variable',
      () => [
        'run',
        '--config',
        jsonFile({ targets: [{ ...target, password: undefined }], destination: { url: 'https://ingest.example/', apiKey: { env: 'LSA_NO_SUCH_KEY' } } }),
      ],
      /destination.apiKey: environment variable LSA_NO_SUCH_KEY is not set/,
    ],
  ])('%s', async (_name, args, message) => {
    const r = await runAgentCli(args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(isOneLineError(r.stderr)).toBe(true);
  });

  it('prints usage and the version', async () => {
    const help = await runAgentCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/collect --once --target FILE/);
    expect((await runAgentCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await runAgentCli([])).code).toBe(2);
  });
});

describe('an unset password variable names the file, the target and the field', () => {
  it('check', async () => {
    const { runCli } = await import('../../agent/cli/main.js');
    const { jsonFile } = await import('../helpers/cli.js');
    const file = jsonFile({ id: 'pg-x', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'm', database: 'd', password: { env: 'LSA_SURELY_UNSET_PW' } });
    const err: string[] = [];
    const code = await runCli(['check', '--target', file], {
      out: () => {},
      err: (t) => err.push(t),
      stdin: async () => '',
      env: { LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'lsa-unset-')) },
      isTTY: false,
    });
    expect(code).toBe(2);
    expect(err).toEqual([`error: ${file}: target pg-x: password: environment variable LSA_SURELY_UNSET_PW is not set`]);
  });
});
