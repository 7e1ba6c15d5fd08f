/**
 * The target memory under a killed process. A child process commits version after
 * version of one target's memory (the agent's store, built), and is killed with
 * SIGKILL at a random moment, many times over; after each kill a fresh store must
 * load a whole version: every row from one commit, and no older than the last
 * commit the child reported finished. A write cut short is never the state.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { repoRoot } from '../helpers/cli.js';

const CHILD = (dir: string, from: number) => `
const { TargetMemoryStore } = await import(${JSON.stringify(join(repoRoot, 'dist/agent/state/target-memory-store.js'))});
const store = new TargetMemoryStore(${JSON.stringify(dir)});
for (let i = ${from}; ; i++) {
  const m = await store.load('t');
  // Sizes that change from commit to commit, so a cut-short write leaves old bytes behind it.
  m.set('s', { i, rows: Array.from({ length: 200 + (i % 7) * 150 }, (_, k) => ({ k, text: 'row ' + k + ' of commit ' + i })) });
  await store.commit('t', m);
  process.stdout.write(i + '\\n');
}
`;

interface Kept {
  i: number;
  rows: Array<{ k: number; text: string }>;
}

describe('target memory: killed while committing', () => {
  it('after SIGKILL at random moments, a load always finds a whole version, never older than the last finished commit', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-kill-')), 'target-state');
    let next = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD(dir, next)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
      let finished = -1;
      createInterface({ input: child.stdout! }).on('line', (l) => (finished = Number(l)));
      const exited = new Promise((r) => child.on('exit', r));
      // Until it has committed a few, then at a random moment within a commit or two.
      while (finished < next + 3) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      child.kill('SIGKILL');
      await exited;
      const loaded = await new TargetMemoryStore(dir).load('t');
      // Killed, so never closed: its writes may not be on the disk yet (a power cut now could lose them),
      // and nothing built on what it shipped (a delta, a digest) may rely on this state.
      expect(loaded.mayBeStale, `round ${round}`).toBe(true);
      const s = loaded.get('s') as Kept | undefined;
      expect(s, `round ${round}`).toBeDefined();
      expect(s!.rows.every((r) => r.text === `row ${r.k} of commit ${s!.i}`)).toBe(true);
      expect(s!.rows).toHaveLength(200 + (s!.i % 7) * 150);
      // The last commit the child reported finished was durable, or a later one was (finished but not yet reported).
      expect(s!.i).toBeGreaterThanOrEqual(finished);
      next = s!.i + 1;
    }
  }, 120_000);
});
