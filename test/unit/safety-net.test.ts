// The process-level net: a driver fault that escapes every cycle (an 'error' event
// nobody listens to, emitted later from a socket callback) is one line naming the
// target, and the process keeps running. Run in a child process: the net changes
// what the whole process does with uncaught errors.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const net = join(repoRoot, 'dist/agent/run/safety-net.js');

const script = `
import { EventEmitter } from 'node:events';
const { asTarget, installSafetyNet } = await import(${JSON.stringify(net)});
installSafetyNet((line) => process.stderr.write(line + '\\n'));
// A driver object of target "bad": its socket fails later, outside any awaited promise.
asTarget('bad', () => {
  const driver = new EventEmitter();
  setTimeout(() => driver.emit('error', new Error('The property options.host must be a string without null bytes')), 20);
  setTimeout(() => Promise.reject(new Error('late rejection')), 40);
});
// A healthy target keeps its schedule meanwhile.
let ticks = 0;
const t = setInterval(() => {
  asTarget('good', () => process.stdout.write('good tick\\n'));
  if (++ticks === 5) { clearInterval(t); process.stdout.write('done\\n'); }
}, 25);
`;

describe('safety net', () => {
  // Both AsyncLocalStorage implementations: promise hooks (Node 22's default) and the async context
  // frame (Node 24's default, and what `run` turns on under Node 22: agent/cli/bin.ts).
  it.each([[[]], [['--experimental-async-context-frame']]])(
    'logs an escaped driver fault under its target and keeps the others running (node %j)',
    (flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(0);
      expect(r.stdout.match(/good tick/g)).toHaveLength(5);
      expect(r.stdout).toContain('done');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual([
        'bad: driver fault outside its cycle (the agent keeps running; the target is retried at its next cycle): The property options.host must be a string without null bytes',
        'bad: driver fault outside its cycle (the agent keeps running; the target is retried at its next cycle): late rejection',
      ]);
      expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
    },
  );
});
