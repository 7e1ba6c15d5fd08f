// vitest globalSetup of the PostgreSQL version matrix projects (postgres-14 ... postgres-18, see
// vitest.config.ts): one real server of the project's major, provided as 'pg' exactly like the
// main setup does, so the collector suites run unchanged on every version. Never skipped: a
// missing binary fails the run.
import type { TestProject } from 'vitest/node';
import './context.js';
import { pgInfo } from './global-setup.js';
import { startPostgres } from './postgres.js';
import { majorOfProject, pgBinFor } from './pg-versions.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const major = majorOfProject(project.name);
  const bin = await pgBinFor(major);
  const pg = await startPostgres(bin === undefined ? {} : { bin });
  if (pg.major !== major) {
    await pg.stop();
    throw new Error(`integration harness: project ${project.name} started PostgreSQL ${pg.major} from ${pg.bin}`);
  }
  project.provide('pg', pgInfo(pg));
  return () => pg.stop();
}
