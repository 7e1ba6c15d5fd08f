// vitest globalSetup: one PostgreSQL, one Redis and one private Secret Service for the whole run.
// A missing binary fails the run with the harness's message; integration tests are never skipped.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import './context.js';
import { startPostgres, type PgConnectionInfo, type PgHarness } from './postgres.js';
import { startRedis, type RedisConnectionInfo, type RedisHarness } from './redis.js';
import { startSecretService } from './keyring.js';

export function pgInfo(h: PgHarness): PgConnectionInfo {
  const { bin, major, host, port, dataDir, logFile, socketDir, database, superuser, users } = h;
  return { bin, major, host, port, dataDir, logFile, socketDir, database, superuser, users };
}

function redisInfo(h: RedisHarness): RedisConnectionInfo {
  const { host, port, version, logFile, users } = h;
  return { host, port, version, logFile, users };
}

/**
 * npx runs this package's own bin by installing the project into npm's npx cache,
 * which runs the "prepare" build once per checkout. Do that now, before test files
 * run in parallel, so no test rebuilds dist/ under another test's feet.
 */
function warmNpx(): void {
  const r = spawnSync('npx', ['logstag-agent', '--version'], { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    throw new Error(
      `npx logstag-agent --version failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}; if npm left a broken npx cache entry, rm -rf ~/.npm/_npx and retry`,
    );
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  warmNpx();
  // Started concurrently; if one fails the others are stopped before the run fails.
  const [pg, redis, keyring] = await Promise.allSettled([startPostgres(), startRedis(), startSecretService()]);
  const started = [pg, redis, keyring].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = [pg, redis, keyring].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (pg.status !== 'fulfilled' || redis.status !== 'fulfilled' || keyring.status !== 'fulfilled') {
    await Promise.allSettled(started.map((s) => s.stop()));
    const messages = failures.map((e) => (e instanceof Error ? e.message : String(e)));
    throw new Error(messages.join('\n\n'));
  }

  // Test workers are forked after global setup with a copy of process.env, so this reaches them;
  // it also guarantees no test can reach the developer's real session bus or keyring.
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(keyring.value.env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }

  project.provide('pg', pgInfo(pg.value));
  project.provide('redis', redisInfo(redis.value));
  project.provide('keyring', { env: keyring.value.env });

  return async () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const results = await Promise.allSettled([pg.value.stop(), redis.value.stop(), keyring.value.stop()]);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw new AggregateError(errors, 'integration harness: teardown failed');
  };
}
