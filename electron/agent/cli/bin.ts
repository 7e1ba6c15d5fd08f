#!/usr/bin/env node
import { runCli } from './main.js';

/** Process glue for the CLI (`logstag-agent`, package.json bin): real stdio, signals, exit code. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('enter the secret, then Ctrl-D: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());

const code = await runCli(
  process.argv.slice(2),
  {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    stdin: readStdin,
    env: process.env,
    isTTY: process.stderr.isTTY === true,
  },
  controller.signal,
);
process.exitCode = code;
