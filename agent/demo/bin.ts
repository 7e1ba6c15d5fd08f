// Process glue for the demo (`npm start` where the Electron binary is not installed, see
// electron/start.js): real stdout, Ctrl-C and SIGTERM stop it, and it always cleans up.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from './demo.js';

/** Runs the demo in this process; resolves with its exit code. */
export async function main(): Promise<number> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 19)) {
    process.stderr.write(
      `logstag demo: needs Node.js 22.19 or later (this is ${process.versions.node}); run it with \`npm start\`, which uses the project's pinned Node\n`,
    );
    return 2;
  }
  // dist/agent/demo/bin.js → the checkout (or install) whose node_modules holds the PostgreSQL binaries.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const controller = new AbortController();
  // process.on, not once: write-file-atomic's signal-exit re-raises a signal when it sees no other listener.
  // The first signal stops the demo, which then cleans up (a few seconds at most); a second one is ignored
  // so that the server is not left running.
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`${sig} again: still cleaning up (stopping the server, removing the temp dir)\n`);
      return;
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runDemo({ root, out: (line) => process.stdout.write(`${line}\n`), signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
