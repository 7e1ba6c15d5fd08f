// Fuzz suite (issue 20): target files, run configs, state files, spool status
// files, API messages and CLI arguments. Every case must end bounded in time with
// either success or bad input explained in ONE line: no crash (exit 1, an
// exception that is not bad input), no stack trace, no hang. Most cases run
// in-process (runCli with an injected Io, the loaders, dispatch); a few spawn the
// built CLI. The counts are printed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../collectors/core/engine.js';
import { METHODS } from '../../contract/api.js';
import { createHandlers, dispatch } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { loadRunConfig } from '../../agent/config/run-config.js';
import { StateStore } from '../../agent/config/state-store.js';
import { loadTargetFile } from '../../agent/config/target-file.js';
import { runCli } from '../../agent/cli/main.js';
import { readStatus } from '../../agent/delivery/delivery.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { repoRoot } from '../helpers/cli.js';

const counts: Record<string, number> = {};
const count = (suite: string): void => {
  counts[suite] = (counts[suite] ?? 0) + 1;
};
afterAll(() => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(
    `fuzz: ${total} cases run (${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
});

const CASE_MS = 5_000;
/** Each case is bounded: a hang is a failure, not a stuck test run. */
async function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CASE_MS} ms`)), CASE_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const STACK = /\s+at .+:\d+:\d+/;
function expectOneLine(message: string): void {
  expect(message).not.toContain('\n');
  expect(message).not.toMatch(STACK);
  expect(message.length).toBeGreaterThan(0);
}

/** Accepts success or a ConfigError (bad input) with a one-line message; anything else is a crash. */
async function badInputOrOk(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await bounded(what, fn());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`${what}: crashed with ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
    expectOneLine(err.message);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'lsa-fuzz-'));
let n = 0;
const fileWith = (content: string | Buffer, name = 'f.json'): string => {
  const d = join(dir, String(n++));
  mkdtempSync(d + '-');
  const f = `${d}-${name}`;
  writeFileSync(f, content);
  return f;
};

const baseTarget = {
  id: 'pg-main',
  engine: 'postgres',
  host: '127.0.0.1',
  port: 1,
  user: 'monitor',
  database: 'app',
  password: { env: 'PGPW' },
  tls: { mode: 'disable' },
};
const TARGET_FIELDS = [
  ...Object.keys(baseTarget),
  'intervalSeconds',
  'statementTimeoutMs',
  'connectTimeoutMs',
  'policy',
  'redis',
  'mongodb',
  'mssql',
  'oracle',
  'cloud',
  'service',
  'name',
  'passwordSetAt',
];

/** Whole-file garbage, arbitrary JSON, and a valid target with fields replaced, added or removed. */
const targetText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      field: fc.constantFrom(...TARGET_FIELDS),
      value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 40 }), fc.constant(undefined)),
      extra: fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })), { nil: undefined }),
    })
    .map(({ field, value, extra }) => JSON.stringify({ ...baseTarget, [field]: value, ...(extra ? { [extra[0]]: extra[1] } : {}) })),
);

describe('fuzz', () => {
  it('target files: loaded or refused in one line', async () => {
    await fc.assert(
      fc.asyncProperty(targetText, async (text) => {
        count('target files');
        await badInputOrOk('target file', () => loadTargetFile(fileWith(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('run configs: loaded or refused in one line', async () => {
    const runText = fc.oneof(
      targetText,
      fc
        .record(
          {
            intervalSeconds: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.jsonValue({ maxDepth: 1 })),
            targets: fc.oneof(
              fc.constant([baseTarget]),
              fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
              fc.constant([{ file: '/dev/zero' }]),
              fc.constant([{ file: 'missing.json' }]),
            ),
            destination: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }), fc.constant({ url: 'https://ingest.example/v1', apiKey: { env: 'K' } })),
            spool: fc.oneof(fc.constant({ dir: 'spool' }), fc.jsonValue({ maxDepth: 1 })),
            flushTimeoutSeconds: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 1 })),
          },
          { requiredKeys: ['targets'] },
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(runText, async (text) => {
        count('run configs');
        await badInputOrOk('run config', () => loadRunConfig(fileWith(text, 'run.json')));
      }),
      { numRuns: 250 },
    );
  });

  it('state files: loaded or refused in one line', async () => {
    const stateText = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          version: fc.jsonValue({ maxDepth: 1 }),
          targets: fc.oneof(fc.constant([baseTarget]), fc.jsonValue({ maxDepth: 2 })),
          settings: fc.jsonValue({ maxDepth: 2 }),
        })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(stateText, async (text) => {
        count('state files');
        const home = mkdtempSync(join(dir, 'home-'));
        writeFileSync(join(home, 'state.json'), text);
        await badInputOrOk('state file', async () => new StateStore(home));
      }),
      { numRuns: 150 },
    );
  });

  it('spool status files: status is read whatever the file holds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        ),
        async (text) => {
          count('spool status files');
          const spool = mkdtempSync(join(dir, 'spool-'));
          writeFileSync(join(spool, 'status.json'), text);
          await badInputOrOk('spool status', () => readStatus(spool, 16 * 1024 * 1024));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('API messages: one answer each, errors in one line, never a throw', async () => {
    const home = mkdtempSync(join(dir, 'api-'));
    const ops = new TargetOperations(
      { id: 'agent-1', version: '0.1.0', host: 'test' },
      new AuditLedger(join(home, 'audit')),
      () => {
        throw new VaultError('unavailable', 'no vault in this test');
      },
      {},
    );
    const { handlers } = createHandlers({ store: new StateStore(home), ops });
    const message = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
        method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 20 })),
        params: fc.jsonValue({ maxDepth: 3 }),
      }),
      fc.record({
        id: fc.integer(),
        method: fc.constant('targets.create'),
        params: fc.record({
          target: targetText.map((t) => {
            try {
              return JSON.parse(t) as unknown;
            } catch {
              return t;
            }
          }),
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(message, async (msg) => {
        count('API messages');
        const res = await bounded(
          'dispatch',
          dispatch(handlers, msg, { emit: () => {} }, () => {}),
        );
        if (!res.ok) {
          expectOneLine(res.error.message);
          expect(res.error.code).not.toBe('internal');
        }
      }),
      { numRuns: 250 },
    );
  });

  it('CLI arguments: exit 0 or 2 with one line, never 1, never a stack trace', async () => {
    const word = fc.oneof(
      fc.constantFrom(
        'check',
        'collect',
        'grants',
        'run',
        'status',
        'spool',
        'secret',
        'encrypt',
        'help',
        '--target',
        '--config',
        '--json',
        '--once',
        '--help',
        '-h',
        '--version',
        '-v',
        '--',
        '-',
        '/dev/zero',
        '/nonexistent/t.json',
        dir,
      ),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 5 }), async (argv) => {
        count('CLI arguments');
        const err: string[] = [];
        const io = {
          out: () => {},
          err: (t: string) => err.push(t),
          stdin: async () => '',
          env: { LOGSTAG_HOME: mkdtempSync(join(dir, 'cli-')) },
          isTTY: false,
        };
        const code = await bounded(`runCli ${JSON.stringify(argv)}`, runCli(argv, io));
        expect([0, 2], `${JSON.stringify(argv)} → ${code}: ${err.join(' | ')}`).toContain(code);
        for (const line of err) expectOneLine(line);
      }),
      { numRuns: 250 },
    );
  });

  it('a few spawned CLI runs on random target files: exit 2, one line', () => {
    const samples = fc.sample(
      targetText.filter((t) => !t.includes('"engine":"postgres"')),
      { numRuns: 4, seed: Date.now() },
    );
    for (const text of samples) {
      count('spawned CLI');
      const r = spawnSync(process.execPath, [join(repoRoot, 'dist/agent/cli/bin.js'), 'check', '--target', fileWith(text)], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, LOGSTAG_HOME: mkdtempSync(join(dir, 'spawn-')) },
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(STACK);
    }
  });
});
