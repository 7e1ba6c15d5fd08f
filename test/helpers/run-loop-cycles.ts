// The agent's run loop on one real PostgreSQL target until enough payloads shipped, for
// tests that read the server's own statement log afterwards (by application_name).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentAuditSink } from '../../collectors/core/audit.js';
import type { Payload } from '../../collectors/core/payload.js';
import type { Target } from '../../collectors/target.js';
import { RunLoop } from '../../agent/run/run-loop.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { TargetOperations } from '../../agent/target-operations.js';

const audit: AgentAuditSink = { record: () => {}, recordPolicyChange: () => {} };

/**
 * Runs the loop (pooled sessions, the target's memory in a temp dir, as in the agent)
 * until `enough(shipped)` or 30 s, then stops it; returns every payload shipped.
 */
export async function shipUntil(
  agent: { id: string; version: string },
  target: Target,
  env: Record<string, string>,
  enough: (shipped: Payload[]) => boolean,
): Promise<Payload[]> {
  const ops = new TargetOperations(
    { ...agent, host: 'test' },
    audit,
    () => {
      throw new Error('no vault in this test');
    },
    env,
    undefined,
    // What was shipped when: the schedule is kept in the target's memory, as in the agent.
    new TargetMemoryStore(join(mkdtempSync(join(tmpdir(), 'lsa-run-loop-')), 'state')),
  );
  const shipped: Payload[] = [];
  const loop = new RunLoop({
    ops,
    deliver: async (p: Payload) => {
      shipped.push(p);
      return { key: `k${shipped.length}` };
    },
    policy: () => undefined,
  });
  try {
    loop.plan([{ target, intervalSeconds: target.intervalSeconds }]);
    const deadline = Date.now() + 30_000;
    while (!enough(shipped) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await loop.stop(10_000);
  }
  return shipped;
}

/** The server log's statements by one application_name: one entry per log line prefix (a statement's text spans lines). */
export function loggedStatements(logFile: string, applicationName: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split(/\n(?=\d{4}-\d\d-\d\d )/)
    .filter((l) => l.includes(` ${applicationName} `) && /statement: |execute /.test(l));
}
