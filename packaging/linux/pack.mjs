// Builds the self-contained Linux archive of the headless agent (`npm run pack:linux`):
//   logstag-agent-<version>-linux-<arch>/
//     install.sh                                  lays it out under a root (default /)
//     opt/logstag-agent/{bin/logstag-agent, runtime/node, dist/, node_modules/, package.json, docs/}
//     usr/lib/systemd/system/logstag-agent.service, usr/lib/sysusers.d/logstag-agent.conf
//     etc/logstag-agent/config.json.example
// Only what the CLI needs: dist/ without the desktop app, the production dependencies from
// package-lock.json (no dev tools), and the pinned Node 22 binary from node_modules/node.
// Files are hard-linked into the staging directory where the file system allows (cheap), then
// tarred (gzip -1) unless --no-tar. Usage: node packaging/linux/pack.mjs [--out DIR] [--no-tar]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = resolve(outArg >= 0 ? args[outArg + 1] : join(repo, 'release'));
const noTar = args.includes('--no-tar');
const started = Date.now();

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const name = `logstag-agent-${pkg.version}-linux-${arch()}`;
const stage = join(out, name);
const app = join(stage, 'opt/logstag-agent');
let files = 0;
let bytes = 0;

function fail(message) {
  process.stderr.write(`pack:linux: ${message}\n`);
  process.exit(2);
}

/** Hard link (same file system) or copy one file, keeping its mode. */
function put(src, dst) {
  mkdirSync(dirname(dst), { recursive: true });
  try {
    linkSync(src, dst);
  } catch {
    copyFileSync(src, dst);
    chmodSync(dst, statSync(src).mode & 0o777);
  }
  files += 1;
  bytes += statSync(src).size;
}

/** A directory tree; `skip(name)` leaves out entries (nested node_modules are packed as their own packages). */
function putTree(src, dst, skip = () => false) {
  for (const entry of readdirSync(src)) {
    if (skip(entry)) continue;
    const s = join(src, entry);
    const st = lstatSync(s);
    if (st.isSymbolicLink()) continue; // .bin links and the like: the CLI runs no package's bin
    if (st.isDirectory()) putTree(s, join(dst, entry), skip);
    else if (st.isFile()) put(s, join(dst, entry));
  }
}

for (const need of ['dist/agent/cli/bin.js', 'node_modules/node/bin/node']) {
  if (!existsSync(join(repo, need))) fail(`${need} is missing (run \`npm ci\` and \`npm run build:node\` first)`);
}
rmSync(stage, { recursive: true, force: true });

// The CLI's code: the agent, the collectors and the API contract; not the desktop shell or renderer.
for (const dir of ['agent', 'collectors', 'contract']) putTree(join(repo, 'dist', dir), join(app, 'dist', dir));
writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'logstag-agent', version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);

// Production dependencies, as the lock file resolves them (entries marked dev are the build and test tools).
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
let packages = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.dev === true || entry.link === true) continue;
  const src = join(repo, path);
  if (!existsSync(src)) continue; // an optional dependency for another platform
  putTree(src, join(app, path), (n) => n === 'node_modules');
  packages += 1;
}

// The pinned runtime, the launcher, the service files, the docs.
put(join(repo, 'node_modules/node/bin/node'), join(app, 'runtime/node'));
put(join(repo, 'bin/logstag-agent'), join(app, 'bin/logstag-agent'));
put(join(repo, 'docs/headless.md'), join(app, 'docs/headless.md'));
put(join(repo, 'packaging/linux/logstag-agent.service'), join(stage, 'usr/lib/systemd/system/logstag-agent.service'));
put(join(repo, 'packaging/linux/sysusers.d/logstag-agent.conf'), join(stage, 'usr/lib/sysusers.d/logstag-agent.conf'));
put(join(repo, 'packaging/linux/config.json.example'), join(stage, 'etc/logstag-agent/config.json.example'));
put(join(repo, 'packaging/linux/install.sh'), join(stage, 'install.sh'));

let archive = '';
if (!noTar) {
  archive = join(out, `${name}.tar.gz`);
  execFileSync('tar', ['-I', 'gzip -1', '-cf', archive, '-C', out, name], { stdio: 'inherit' });
}
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
process.stdout.write(
  `pack:linux: ${stage} (${files} files, ${mb(bytes)}, ${packages} production packages)${archive ? `; ${archive} (${mb(statSync(archive).size)})` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
