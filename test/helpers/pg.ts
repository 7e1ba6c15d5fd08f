import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Target } from '../../collectors/target.js';
import { TargetSchema } from '../../collectors/target.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { TargetOperations } from '../../agent/target-operations.js';
import type { PgConnectionInfo } from '../harness/postgres.js';

/** A superuser client on the harness cluster, for test setup only (never the agent's path). */
export async function superClient(info: PgConnectionInfo, database = info.database): Promise<pg.Client> {
  const c = new pg.Client({ host: info.host, port: info.port, user: info.superuser.user, password: info.superuser.password, database });
  await c.connect();
  return c;
}

/** A new, empty database on the cluster (dropped first if a run left it), and how to drop it again. */
export async function freshDatabase<I extends PgConnectionInfo>(info: I, name: string): Promise<{ db: I; drop(): Promise<void> }> {
  const su = await superClient(info, 'postgres');
  try {
    await su.query(`DROP DATABASE IF EXISTS ${name}`);
    await su.query(`CREATE DATABASE ${name}`);
  } finally {
    await su.end();
  }
  return {
    db: { ...info, database: name },
    drop: async () => {
      const c = await superClient(info, 'postgres');
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function pgTarget(
  info: Pick<PgConnectionInfo, 'host' | 'port' | 'database'>,
  user: string,
  extra: Partial<Target> & Record<string, unknown> = {},
): Target {
  return TargetSchema.parse({
    id: `pg-${user}`,
    engine: 'postgres',
    host: info.host,
    port: info.port,
    user,
    database: info.database,
    password: { env: 'PW' },
    tls: { mode: 'disable' },
    ...extra,
  });
}

/** The agent's operations in-process, with the password in a private environment and a fresh ledger. */
export function agentOps(password: string): { ops: TargetOperations; ledger: AuditLedger } {
  const ledger = new AuditLedger(join(mkdtempSync(join(tmpdir(), 'lsa-ops-')), 'audit'));
  const ops = new TargetOperations(
    { id: 'test-agent', version: '0.1.0', host: 'test' },
    ledger,
    () => {
      throw new Error('no vault in this test');
    },
    { PW: password },
  );
  return { ops, ledger };
}
