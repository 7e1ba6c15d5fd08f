/**
 * `run` on Node 22 replaces its own process with the same command plus
 * --experimental-async-context-frame (agent/cli/bin.ts), so the agent's
 * AsyncLocalStorage scopes do not put hooks on every promise. What must hold: the
 * process that ends up running has the flag, it is the same process (same PID, so
 * a service manager's signals still reach it), its arguments and output are those
 * of the command as given (one error line, not two), and LOGSTAG_ASYNC_FRAME=0
 * leaves it as started.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const run = promisify(execFile);
const FLAG = '--experimental-async-context-frame';

/** Runs `run --config <missing file>` with a preload that notes each process image's start and the last one's exit. */
async function runOnce(env: NodeJS.ProcessEnv): Promise<{ lines: string[]; stderr: string; code: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lsa-frame-'));
  const log = join(dir, 'images.log');
  const preload = join(dir, 'preload.mjs');
  writeFileSync(
    preload,
    `import { appendFileSync } from 'node:fs';
const note = (what) => appendFileSync(${JSON.stringify(log)}, what + ' ' + process.pid + ' ' + process.execArgv.includes(${JSON.stringify(FLAG)}) + ' ' + process.argv.slice(2).join(' ') + '\\n');
note('start');
process.on('exit', () => note('exit'));
`,
  );
  const missing = join(dir, 'no-such-run.json');
  let stderr = '';
  let code = 0;
  try {
    await run(process.execPath, ['--import', preload, join(repoRoot, 'dist/agent/cli/bin.js'), 'run', '--config', missing], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    code = e.code ?? -1;
    stderr = e.stderr ?? '';
  }
  return { lines: readFileSync(log, 'utf8').trim().split('\n'), stderr, code };
}

describe('run uses the frame-based async context on Node 22', () => {
  it('replaces its process with the flag added: same PID, same arguments, one error line', async () => {
    const { lines, stderr, code } = await runOnce({});
    const major = Number(process.versions.node.split('.')[0]);
    if (major !== 22) {
      // Node 24 and later have it by default: nothing to replace.
      expect(lines.filter((l) => l.startsWith('start'))).toHaveLength(1);
      return;
    }
    const starts = lines.filter((l) => l.startsWith('start')).map((l) => l.split(' '));
    const exits = lines.filter((l) => l.startsWith('exit')).map((l) => l.split(' '));
    expect(starts).toHaveLength(2);
    expect(starts[0]![2]).toBe('false');
    expect(starts[1]![2]).toBe('true');
    expect(starts[1]![1]).toBe(starts[0]![1]);
    expect(starts[1]!.slice(3)).toEqual(starts[0]!.slice(3));
    // Only the replacing image ends: the first one never ran its exit handlers.
    expect(exits).toHaveLength(1);
    expect(exits[0]![1]).toBe(starts[0]![1]);
    expect(exits[0]![2]).toBe('true');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('no-such-run.json');
  });

  it('LOGSTAG_ASYNC_FRAME=0 keeps the process as started', async () => {
    const { lines, code } = await runOnce({ LOGSTAG_ASYNC_FRAME: '0' });
    expect(lines.filter((l) => l.startsWith('start'))).toHaveLength(1);
    expect(lines[0]!.split(' ')[2]).toBe('false');
    expect(code).toBe(2);
  });
});
