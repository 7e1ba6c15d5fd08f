// The agent's node runs with a small young generation (docs/many-targets.md, "Memory"):
// `--max-semi-space-size=2` keeps V8 from holding tens of MB of new-space pages
// that only in-flight cycles' garbage ever filled. V8 reads it when the heap is
// created, so it must be on node's command line, not set from inside the agent:
// every way the CLI is started carries it, and the process really gets it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const FLAG = '--max-semi-space-size=2';

/**
 * Starts `file` as an executable (its shebang or shell script picks node and its flags, as
 * `npx logstag-agent` and a service manager do) and returns the node's execArgv, printed by a preload module before the CLI runs.
 */
function launch(file: string): Promise<{ execArgv: string[]; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lsa-flags-'));
  const out = join(dir, 'probe.json');
  const probe = `import{writeFileSync}from'node:fs';writeFileSync(${JSON.stringify(out)},JSON.stringify({execArgv:process.execArgv}));`;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      ['--help'],
      // NODE_OPTIONS is not part of execArgv: what execArgv shows came from the launcher itself.
      { env: { ...process.env, LOGSTAG_HOME: dir, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(probe)}` }, timeout: 60_000 },
      (_err, _stdout, stderr) => {
        try {
          resolve({ ...(JSON.parse(readFileSync(out, 'utf8')) as { execArgv: string[] }), stderr });
        } catch (e) {
          reject(new Error(`${file} did not start node: ${String(e)}\n${stderr}`));
        }
      },
    );
  });
}

describe("the agent's node flags", () => {
  it('the built CLI run as its own executable (npx logstag-agent) runs node with them', async () => {
    const r = await launch(join(repoRoot, 'dist/agent/cli/bin.js'));
    expect(r.execArgv, r.stderr).toContain(FLAG);
  });

  it('the headless command (bin/logstag-agent) runs node with them', async () => {
    const r = await launch(join(repoRoot, 'bin/logstag-agent'));
    expect(r.execArgv, r.stderr).toContain(FLAG);
  });

  it('the Windows service starts node with them', () => {
    const xml = readFileSync(join(repoRoot, 'packaging/windows/logstag-agent.xml'), 'utf8');
    expect(/<arguments>(.*)<\/arguments>/.exec(xml)?.[1]?.split(' ')).toContain(FLAG);
  });
});
