// kill -9 of a process appending to the spool as fast as it can: after a restart,
// every record it reported durable is there, intact and in order, nothing partial is read,
// and no sequence number (so no idempotency key) is ever given to two payloads.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool } from '../../agent/delivery/spool.js';
import { repoRoot } from '../helpers/cli.js';

// The writer runs the built spool (dist/), as the CLI does, in its own process so SIGKILL can cut any write.
const WRITER = `
const { Spool } = await import(${JSON.stringify(join(repoRoot, 'dist/agent/delivery/spool.js'))});
const spool = await Spool.open(process.argv[1], { maxBytes: 512 * 1024 * 1024, segmentBytes: 256 * 1024 });
const pad = 'x'.repeat(3000);
for (let i = 0; ; i++) {
  const batch = Array.from({ length: 1 + (i % 4) }, (_, j) => JSON.stringify({ run: process.argv[2], n: i, j, pad }));
  const done = await spool.appendMany(batch);
  process.stdout.write(done.map((d, j) => d.seq + ' ' + process.argv[2] + ':' + i + ':' + j).join('\\n') + '\\n');
}
`;

/** Seq -> "run:n:j" of every payload the writer reported durable before it died. */
function writeUntilKilled(dir: string, afterMs: number, run: number): Promise<Array<[number, string]>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const started = setInterval(() => {
      if (out.length > 0) {
        clearInterval(started);
        setTimeout(() => child.kill('SIGKILL'), afterMs);
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(started);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}: ${err}`));
      // Only whole lines: a seq is "reported durable" once its line was written.
      else
        resolve(
          out
            .split('\n')
            .slice(0, -1)
            .map((l) => {
              const [seq, id] = l.split(' ');
              return [Number(seq), id!] as [number, string];
            }),
        );
    });
  });
}

describe('spool under kill -9', () => {
  it('loses nothing reported durable and never reads a partial record, across repeated crashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-crash-'));
    /** Every seq ever reported, with the payload it named: a seq reported twice would be a reused key. */
    const reported = new Map<number, string>();
    const runs = [150, 300, 220];
    let torn = 0;
    for (let run = 0; run < runs.length; run++) {
      for (const [seq, id] of await writeUntilKilled(dir, runs[run]!, run)) {
        expect(reported.has(seq), `seq ${seq} reported for ${reported.get(seq)} and again for ${id}`).toBe(false);
        reported.set(seq, id);
      }
      const spool = await Spool.open(dir, { maxBytes: 512 * 1024 * 1024, segmentBytes: 256 * 1024 });
      const seen = new Map<number, string>();
      let prev = 0;
      for await (const r of spool.unsent()) {
        const body = JSON.parse(r.body.toString()) as { run: string; n: number; j: number; pad: string };
        expect(body.pad).toHaveLength(3000);
        expect(r.seq).toBeGreaterThan(prev); // in order
        prev = r.seq;
        seen.set(r.seq, `${body.run}:${body.n}:${body.j}`);
      }
      // Only an incomplete end (at most one group commit of 4) is counted as possibly lost, never more.
      const st = await spool.stats();
      torn += st.tornRecordsDiscarded;
      expect(st.dropped.total).toBeLessThanOrEqual(torn * 4);
      await spool.close();
      // Every payload reported durable is there, under the seq it was reported with.
      for (const [seq, id] of reported) expect(seen.get(seq), `seq ${seq}`).toBe(id);
    }
    expect(reported.size).toBeGreaterThan(50);
  }, 60_000);
});
