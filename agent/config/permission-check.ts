import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { win32 } from 'node:path';
import { dirTooOpen, fileTooOpen } from './file-permissions.js';

export interface PermissionFinding {
  path: string;
  problem: string;
}

/** Runs `icacls PATH` and returns its output (injected in tests). */
export type AclRunner = (path: string) => string;
const icacls: AclRunner = (path) => execFileSync('icacls', [path], { encoding: 'utf8', windowsHide: true, timeout: 10_000 });

/** Principals that mean "every user of this machine" in an icacls listing. */
const BROAD = /^(everyone|builtin\\users|nt authority\\authenticated users|users|authenticated users|\*s-1-1-0|\*s-1-5-11|\*s-1-5-32-545):/i;

/** The broad principals granted access to `path` in icacls output. */
export function broadAclEntries(output: string, path: string): string[] {
  const out: string[] = [];
  for (let line of output.split(/\r?\n/)) {
    line = line.trim();
    if (line.toLowerCase().startsWith(path.toLowerCase())) line = line.slice(path.length).trim();
    if (BROAD.test(line)) out.push(line);
  }
  return out;
}

/** Windows path rules whatever the host, so the check can be tested anywhere. */
function insideProfile(path: string, profile: string): boolean {
  const rel = win32.relative(win32.resolve(profile), win32.resolve(path));
  return rel !== '' && !rel.startsWith('..') && !win32.isAbsolute(rel);
}

export interface PermissionCheckOptions {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  runAcl?: AclRunner;
}

/**
 * The readiness report's look at the configuration: each file must be private to
 * the OS user (POSIX: no group/other bits; Windows: inside the user profile and
 * no ACL entry for every user), and the agent home private too.
 */
export function checkConfigPermissions(files: readonly string[], home: string, opts: PermissionCheckOptions = {}): PermissionFinding[] {
  const platform = opts.platform ?? process.platform;
  const found: PermissionFinding[] = [];
  if (platform !== 'win32') {
    for (const f of files) {
      const p = fileTooOpen(f);
      if (p !== undefined) found.push({ path: f, problem: p });
    }
    const h = dirTooOpen(home, true);
    if (h !== undefined) found.push({ path: home, problem: h });
    return found;
  }
  const profile = opts.env?.['USERPROFILE'] ?? homedir();
  const run = opts.runAcl ?? icacls;
  for (const p of [...files, home]) {
    if (!insideProfile(p, profile))
      found.push({ path: p, problem: `${p} is outside the user profile (${profile}); move it there so only this user's ACL applies` });
    let output: string;
    try {
      output = run(p);
    } catch {
      continue; // not there (yet) or icacls unavailable: nothing to report from the ACL
    }
    const broad = broadAclEntries(output, p);
    if (broad.length > 0)
      found.push({
        path: p,
        problem: `${p} grants access to every user (${broad.join(', ')}); remove those entries: icacls "${p}" /inheritance:r /grant:r "%USERNAME%:F"`,
      });
  }
  return found;
}
