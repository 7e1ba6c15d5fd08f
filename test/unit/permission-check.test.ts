import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { broadAclEntries, checkConfigPermissions } from '../../agent/config/permission-check.js';

describe.skipIf(process.platform === 'win32')('config permission check (POSIX)', () => {
  it('flags a config file readable by others and an agent home others can read; private ones pass', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perm-'));
    const home = mkdtempSync(join(tmpdir(), 'perm-home-'));
    chmodSync(home, 0o700);
    const file = join(dir, 'target.json');
    writeFileSync(file, '{}', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(checkConfigPermissions([file], home)).toEqual([]);
    chmodSync(file, 0o644);
    chmodSync(home, 0o755);
    const found = checkConfigPermissions([file], home);
    expect(found.map((f) => f.path)).toEqual([file, home]);
    expect(found[0]!.problem).toBe(`${file} can be read by other users (mode 0644); run: chmod 600 "${file}"`);
    expect(found[1]!.problem).toMatch(/can be read by other users \(mode 0755\); run: chmod 700/);
  });
});

describe('config permission check (Windows, through icacls output)', () => {
  const profile = 'C:\\Users\\ops';
  const file = `${profile}\\logstag\\target.json`;
  const home = `${profile}\\AppData\\Roaming\\logstag-agent`;
  const privateAcl = (p: string) =>
    `${p} NT AUTHORITY\\SYSTEM:(F)\r\n    BUILTIN\\Administrators:(F)\r\n    HOST\\ops:(F)\r\n\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n`;

  it('passes private files inside the profile', () => {
    expect(checkConfigPermissions([file], home, { platform: 'win32', env: { USERPROFILE: profile }, runAcl: privateAcl })).toEqual([]);
  });

  it('reports a file outside the profile and an ACL that lets every user read', () => {
    const outside = 'D:\\shared\\target.json';
    const acl = (p: string) => (p === outside ? `${p} Everyone:(R)\r\n    HOST\\ops:(F)\r\n` : privateAcl(p));
    const found = checkConfigPermissions([outside], home, { platform: 'win32', env: { USERPROFILE: profile }, runAcl: acl });
    expect(found.map((f) => f.problem)).toEqual([
      `${outside} is outside the user profile (${profile}); move it there so only this user's ACL applies`,
      `${outside} grants access to every user (Everyone:(R)); remove those entries: icacls "${outside}" /inheritance:r /grant:r "%USERNAME%:F"`,
    ]);
  });

  it('recognises the broad principals, not the user or the administrators', () => {
    expect(
      broadAclEntries(`${file} BUILTIN\\Users:(I)(RX)\n  NT AUTHORITY\\Authenticated Users:(I)(M)\n  HOST\\ops:(F)\n  BUILTIN\\Administrators:(F)`, file),
    ).toEqual(['BUILTIN\\Users:(I)(RX)', 'NT AUTHORITY\\Authenticated Users:(I)(M)']);
  });
});
