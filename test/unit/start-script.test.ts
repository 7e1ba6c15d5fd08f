// `npm start` (electron/start.js): without the Electron binary it says so, names the desktop
// and headless ways to run, and runs the demo (the demo itself: test/integration/demo.test.ts);
// with an Electron binary it checks the build and runs it. These use a copy of the script in a
// throwaway project with a stand-in `electron` package.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = join(root, 'electron', 'start.js');

function run(scriptPath: string, env: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.ELECTRON_OVERRIDE_DIST_PATH === undefined) delete childEnv.ELECTRON_OVERRIDE_DIST_PATH;
  const r = spawnSync(process.execPath, [scriptPath, '--flag'], { cwd: root, env: childEnv, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Without an Electron binary, start.js names both ways to run for real and runs the demo (test/integration/demo.test.ts); a stand-in project has no built demo. */
function expectNotInstalledMessage(r: ReturnType<typeof run>): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/the Electron binary is not installed on this machine/);
  expect(r.stderr).toMatch(/npx install-electron/);
  expect(r.stderr).toMatch(/bin\/logstag-agent run --config FILE/);
  expect(r.stderr).toMatch(/the agent is not built \(missing dist\/agent\/demo\/bin\.js\)/);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(r.stderr).not.toMatch(/Downloading Electron/); // and no download attempt
}

describe('npm start with an Electron binary (stand-in project)', () => {
  const project = mkdtempSync(join(tmpdir(), 'start-script-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  const copy = join(project, 'electron', 'start.js');
  mkdirSync(join(project, 'electron'));
  copyFileSync(script, copy);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'stand-in', type: 'module' }));
  const pkg = join(project, 'node_modules', 'electron');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'electron', main: 'index.js' }));
  // Like the real package: answers with the binary's path, or "downloads" (here: leaves a mark) when it is missing.
  writeFileSync(
    join(pkg, 'index.js'),
    `const fs = require('fs'); const path = require('path');
     const bin = path.join(__dirname, 'dist', 'electron');
     if (!fs.existsSync(bin)) fs.writeFileSync(path.join(__dirname, 'DOWNLOAD-ATTEMPTED'), '');
     module.exports = bin;`,
  );
  const binary = join(pkg, 'dist', 'electron');
  const built = ['dist/electron/main.js', 'dist/electron/preload.cjs', 'dist/renderer/index.html'];

  it('never triggers the package download when the binary is missing', () => {
    expectNotInstalledMessage(run(copy));
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    expectNotInstalledMessage(run(copy));
    expect(existsSync(join(pkg, 'DOWNLOAD-ATTEMPTED'))).toBe(false);
  });

  it('asks for a build when dist/ is missing', () => {
    writeFileSync(binary, '#!/bin/sh\nexit 0\n');
    chmodSync(binary, 0o755);
    const r = run(copy);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not built/);
    expect(r.stderr).toMatch(/npm run build/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it.skipIf(process.platform === 'win32')('runs Electron on the project directory, passing arguments and the exit code through', () => {
    for (const f of built) {
      mkdirSync(join(project, f, '..'), { recursive: true });
      writeFileSync(join(project, f), '');
    }
    writeFileSync(binary, '#!/bin/sh\necho "electron-args: $*"\nexit 7\n');
    chmodSync(binary, 0o755);
    const r = run(copy);
    expect(r.stdout.trim()).toBe(`electron-args: ${project} --flag`);
    expect(r.status).toBe(7);
    expect(existsSync(join(pkg, 'DOWNLOAD-ATTEMPTED'))).toBe(false);
  });
});
