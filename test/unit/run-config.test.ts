import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../agent/config/run-config.js';
import { jsonFile } from '../helpers/cli.js';

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'monitor', database: 'app', password: { env: 'PW' } };
const destination = { url: 'https://ingest.logstag.example/v1/ingest', apiKey: { env: 'LOGSTAG_API_KEY' } };

describe('run config', () => {
  it('reads the documented shape; relative paths are relative to the config file; interval defaults per target', async () => {
    const file = jsonFile(
      {
        intervalSeconds: 5,
        targets: [target, { file: 'second.json' }],
        destination: { ...destination, caFile: 'ca.pem', proxy: { url: 'http://proxy.corp:3128', username: 'agent', password: { env: 'PROXY_PW' } } },
        spool: { dir: 'spool', maxBytes: 2 * 1024 * 1024 },
      },
      'run.json',
    );
    const dir = dirname(file);
    writeFileSync(join(dir, 'second.json'), JSON.stringify({ ...target, id: 'pg-2', intervalSeconds: 30 }));
    const cfg = await loadRunConfig(file);
    expect(cfg.targets.map((t) => [t.target.id, t.intervalSeconds])).toEqual([
      ['pg-1', 5],
      ['pg-2', 30],
    ]);
    expect(cfg.destination).toMatchObject({ url: destination.url, caFile: join(dir, 'ca.pem'), maxBatchesPerSecond: 2, allowPrivateAddress: false });
    expect(cfg.spoolDir).toBe(join(dir, 'spool'));
    expect(cfg.spoolMaxBytes).toBe(2 * 1024 * 1024);
    expect(cfg.flushTimeoutSeconds).toBe(10);
  });

  it('no destination and no spool: the spool in the agent home is the sink', async () => {
    const cfg = await loadRunConfig(jsonFile({ targets: [target] }));
    expect(cfg.destination).toBeNull();
    expect(cfg.spoolDir).toBeNull();
    expect(cfg.spoolMaxBytes).toBe(256 * 1024 * 1024);
    expect(cfg.targets[0]!.intervalSeconds).toBe(60);
  });

  it.each([
    [{ targets: [] }, /targets: must be a non-empty list/],
    [
      { targets: [target], destination: { ...destination, url: 'http://ingest.logstag.example/' } },
      /destination\.url: must use https \(http is allowed only to a loopback address/,
    ],
    [{ targets: [target], destination: { ...destination, url: 'ftp://x/' } }, /destination\.url: must be an https URL/],
    [{ targets: [target], destination: { ...destination, apiKey: 'lsk_live_123' } }, /destination\.apiKey: plaintext API keys are refused/],
    [{ targets: [target], destination: { ...destination, url: 'https://user:pw@x.example/' } }, /must not contain credentials/],
    [
      { targets: [target], destination: { ...destination, proxy: { url: 'http://p:3128', username: 'u', password: 'pw' } } },
      /destination\.proxy\.password: plaintext proxy passwords are refused/,
    ],
    [{ targets: [target], destination: { ...destination, pin: 'abc' } }, /destination\.pin: must be "sha256\//],
    [{ targets: [target], spool: { maxBytes: 1000 } }, /spool\.maxBytes: must be at least 1048576/],
    [{ targets: [target], intervalSeconds: 0 }, /intervalSeconds/],
    [{ targets: [target], outbox: './outbox' }, /"outbox" was replaced by "spool"/],
    [{ targets: [target], frobnicate: 1 }, /unknown field\(s\) "frobnicate"/],
    [{ targets: [target, target] }, /target id "pg-1" appears twice/],
  ])('refuses %j with one line', async (cfg, message) => {
    const err = await loadRunConfig(jsonFile(cfg)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('http is accepted only to a loopback address (a local test ingest server)', async () => {
    for (const url of ['http://127.0.0.1:8080/ingest', 'http://localhost:8080/', 'http://[::1]:9/']) {
      expect((await loadRunConfig(jsonFile({ targets: [target], destination: { ...destination, url } }))).destination?.url).toBe(url);
    }
  });
});
