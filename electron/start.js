#!/usr/bin/env node
// `npm start`: runs the desktop app with the project's Electron.
// Looks for the Electron binary without asking the `electron` package for it
// first: that package downloads the binary when it is missing, which must not
// happen behind the operator's back (and cannot happen on an offline machine).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

function fail(lines, code = 1) {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(code);
}

/** The Electron executable if it is installed, else undefined (never downloads). */
function electronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron'));
  } catch {
    return undefined;
  }
  let relative;
  try {
    relative = readFileSync(join(pkgDir, 'path.txt'), 'utf8').trim();
  } catch {
    relative = undefined;
  }
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const candidate = join(override, relative || 'electron');
    return existsSync(candidate) ? candidate : undefined;
  }
  if (!relative || !existsSync(join(pkgDir, 'dist', relative))) return undefined;
  // Installed: the package's own answer, now without a download.
  const binary = require('electron');
  return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
}

const binary = electronBinary();
if (binary === undefined) {
  // No window to open: show the agent doing its job in the terminal instead (agent/demo/), then
  // name the ways to run it for real. The window path below is unchanged.
  process.stderr.write(
    [
      'logstag: the Electron binary is not installed on this machine, so the desktop app cannot start; running the demo in the terminal instead.',
      '  Desktop app: `npx install-electron` (needs network access to download Electron), then `npm start`.',
      '  Headless agent, no Electron needed: `bin/logstag-agent run --config FILE` (see README and docs/demo.md).',
      '',
    ].join('\n'),
  );
  const demo = join(root, 'dist/agent/demo/bin.js');
  if (!existsSync(demo)) fail(['logstag: the agent is not built (missing dist/agent/demo/bin.js).', '  Run `npm run build:node`, then `npm start` again.']);
  // A specifier relative to this file (the same on every OS; no file:// URL is built here).
  const { main } = await import('../dist/agent/demo/bin.js');
  process.exit(await main());
}

const missing = ['dist/electron/main.js', 'dist/electron/preload.cjs', 'dist/renderer/index.html'].filter((f) => !existsSync(join(root, f)));
if (missing.length > 0) {
  fail([`logstag: the app is not built (missing ${missing.join(', ')}).`, '  Run `npm run build`, then `npm start` again.']);
}

const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit', windowsHide: false });
child.on('error', (err) => fail([`logstag: could not start Electron (${binary}): ${err.message}`]));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  if (code === null) fail([`logstag: Electron exited on signal ${signal}`]);
  process.exit(code);
});
