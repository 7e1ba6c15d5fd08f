// A destination (or a proxy in between) that echoes the Authorization header in
// its error body must not put the API key on disk, on stderr, in `status`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { jsonFile, runAgentCli, spawnAgentCli } from '../helpers/cli.js';
import { type IngestServer, startIngestServer, testPki } from '../helpers/ingest-server.js';

const pg = inject('pg');
const API_KEY = 'lsk-echo+/=Key_4b3a2918';
const forms = [
  API_KEY,
  Buffer.from(API_KEY).toString('base64'),
  Buffer.from(API_KEY).toString('base64url'),
  encodeURIComponent(API_KEY),
  Buffer.from(API_KEY).toString('hex'),
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

let srv: IngestServer;
afterAll(async () => srv?.stop());

describe('a header-echoing destination', () => {
  it('leaves the API key nowhere: not in spool/status.json, not on stderr, not in `status`', async () => {
    srv = await startIngestServer({ apiKey: 'the-service-expects-another-key' });
    // The worst server: it quotes the Authorization header back, raw and encoded, in a 401 body.
    srv.respond = (record) => {
      const auth = String(record.headers['authorization'] ?? '');
      const key = auth.replace(/^Bearer /, '');
      return {
        status: 401,
        headers: {},
        body: `invalid credentials: you sent "${auth}" (base64 ${Buffer.from(key).toString('base64')}, hex ${Buffer.from(key).toString('hex')}, url ${encodeURIComponent(key)})`,
      };
    };
    const spoolDir = mkdtempSync(join(tmpdir(), 'lsa-scrub-spool-'));
    const file = jsonFile(
      {
        intervalSeconds: 1,
        targets: [
          {
            id: 'pg-a',
            engine: 'postgres',
            host: pg.host,
            port: pg.port,
            user: pg.users.monitor.user,
            database: pg.database,
            password: { env: 'LSA_PG_PASSWORD' },
            tls: { mode: 'disable' },
          },
        ],
        destination: { url: srv.url(), apiKey: { env: 'LSA_API_KEY' }, caFile: testPki().caFile },
        spool: { dir: spoolDir },
        flushTimeoutSeconds: 1,
      },
      'run.json',
    );
    const env = { LSA_PG_PASSWORD: pg.users.monitor.password, LSA_API_KEY: API_KEY };
    const cli = spawnAgentCli(['run', '--config', file], { env });
    try {
      const stopped = await cli.waitForLine(/delivery stopped: the Logstag service rejected the agent's API key \(HTTP 401\)/, 60_000);
      // The server's words are kept, the key is not.
      expect(stopped).toContain('[secret removed]');
      await cli.waitForCount(/; spooled /, 2, 30_000);
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
    const status = await runAgentCli(['status', '--config', file], { home: cli.home, env });
    const statusJson = await runAgentCli(['status', '--config', file, '--json'], { home: cli.home, env });
    expect(status.stdout).toMatch(/last error: +the Logstag service rejected the agent's API key \(HTTP 401\).*\[secret removed\]/);
    const everywhere = [
      cli.lines().join('\n'),
      status.stdout,
      status.stderr,
      statusJson.stdout,
      ...[...filesUnder(spoolDir), ...filesUnder(cli.home)].map((f) => readFileSync(f).toString('latin1')),
    ];
    expect(filesUnder(spoolDir).some((f) => f.endsWith('status.json'))).toBe(true);
    for (const text of everywhere) for (const form of forms) expect(text).not.toContain(form);
  }, 120_000);
});
