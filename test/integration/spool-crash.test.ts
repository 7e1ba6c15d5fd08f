// kill -9 of a process appending to the spool as fast as it can: after a restart,
// every record it reported durable is there, intact and in order, and nothing partial is read.
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
  const batch = Array.from({ length: 1 + (i % 4) }, (_, j) => JSON.stringify({ n: i, j, pad }));
  const done = await spool.appendMany(batch);
  process.stdout.write(done.map((d) => d.seq).join('\\n') + '\\n');
}
`;

function writeUntilKilled(dir: string, afterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      else resolve(out.split('\n').slice(0, -1).map(Number));
    });
  });
}

describe('spool under kill -9', () => {
  it('loses nothing reported durable and never reads a partial record, across repeated crashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-crash-'));
    const reported: number[] = [];
    for (const afterMs of [150, 300, 220]) {
      reported.push(...(await writeUntilKilled(dir, afterMs)));
      const spool = await Spool.open(dir, { maxBytes: 512 * 1024 * 1024, segmentBytes: 256 * 1024 });
      const seen: number[] = [];
      for await (const r of spool.unsent()) {
        const body = JSON.parse(r.body.toString()) as { n: number; pad: string };
        expect(body.pad).toHaveLength(3000);
        seen.push(r.seq);
      }
      await spool.close();
      // Contiguous from 1, in order, and a superset of what the writer reported before it died.
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
      expect(seen.length).toBeGreaterThanOrEqual(reported.length);
      expect(reported.at(-1) ?? 0).toBeLessThanOrEqual(seen.length);
    }
    expect(reported.length).toBeGreaterThan(50);
  }, 60_000);
});
