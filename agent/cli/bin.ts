#!/usr/bin/env node
// The agent runs on Node 22 (what Electron embeds; undici and others need it). Checked before
// anything else loads, so an older Node gets one line instead of a stack trace.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `logstag-agent: needs Node.js 22.19 or later (this is ${process.versions.node}); run it as \`npx logstag-agent\` from the project, which uses its pinned Node\n`,
  );
  process.exit(2);
}
// `run` on Node 22: the agent's AsyncLocalStorage scopes (the safety net's target, the ledger's cycle) are
// built there on promise hooks, which run on every promise the agent makes; the frame-based implementation,
// Node 24's default (and so the desktop app's), needs this flag on Node 22. The process replaces itself with
// the same command plus the flag (same PID, stdio and environment: a service manager sees no difference).
// About 7 % of the agent's CPU at 1,000 targets (docs/many-targets.md). LOGSTAG_ASYNC_FRAME=0 turns it off.
const FRAME_FLAG = '--experimental-async-context-frame';
if (
  process.argv[2] === 'run' &&
  major === 22 &&
  !process.execArgv.includes(FRAME_FLAG) &&
  process.env['LOGSTAG_ASYNC_FRAME'] !== '0' &&
  typeof process.execve === 'function'
) {
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, FRAME_FLAG, ...process.argv.slice(1)], process.env);
  } catch {
    // Not replaced (e.g. the binary moved since it started): the agent runs as it is, with promise hooks.
  }
}
// `collect` (one cycle, then exit): V8's young generation stays at its initial size instead of growing
// to 16 MB semi-spaces while a cycle's rows survive scavenge after scavenge; they are promoted at once.
// On the 30,000-table database that is about 30 MB less peak RSS for no measurable CPU
// (docs/postgres-schema.md). The flag is read at each scavenge, so setting it now takes effect.
if (process.argv[2] === 'collect') (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
// Every command: the old generation grows by at most 25 % past what is live (agent/run/heap-growth.ts).
(await import('../run/heap-growth.js')).boundHeapGrowth();
const { runCli } = await import('./main.js');
const { installSafetyNet } = await import('../run/safety-net.js');

// A fault that escapes every target's cycle (a driver's unlistened 'error' event) is one stderr line
// naming the target, and the agent keeps running (agent/run/safety-net.ts says why that is safe).
installSafetyNet((line, err) => {
  process.stderr.write(`${line}\n`);
  if (process.env['LOGSTAG_DEBUG'] === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
});

/** Process glue for the CLI (`logstag-agent`, package.json bin): real stdio, signals, exit code. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('enter the secret, then Ctrl-D: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// The reader went away (`logstag-agent spool --config F | head`): there is no one left to tell anything,
// so the command ends quietly instead of dying on an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
}

const controller = new AbortController();
// process.on, not once: write-file-atomic's signal-exit re-raises a signal when it sees no other
// listener, which would kill the process in the middle of a graceful stop. A second signal stops at once
// (the spool is durable; what was not sent waits for the next start).
// Only `run` has something to finish (cycles in flight, the spool to flush, each bounded); every other
// command holds nothing that a stop could lose, so it ends at the first signal, even mid-connect.
const graceful = process.argv.slice(2).includes('run');
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping || !graceful) {
      if (graceful) process.stderr.write(`${sig} again: stopping now; unsent payloads stay in the spool\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    controller.abort();
  });
}

const code = await runCli(
  process.argv.slice(2),
  {
    // Two writes, not `${t}\n`: joining would copy a large payload (megabytes) once more before it is encoded.
    out: (t) => {
      process.stdout.write(t);
      process.stdout.write('\n');
    },
    write: (chunk) => {
      process.stdout.write(chunk);
    },
    err: (t) => process.stderr.write(`${t}\n`),
    stdin: readStdin,
    env: process.env,
    isTTY: process.stderr.isTTY === true,
  },
  controller.signal,
);
process.exitCode = code;
// Normally the process ends by itself here. A cycle abandoned at its timeout may still hold a socket
// the driver never gave up on (a server that accepts and never answers): that must not keep a stopped
// agent alive, so the exit is forced shortly after (the timer does not itself keep the process up).
setTimeout(() => process.exit(code), 2000).unref();
