import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Whether the agent's state file (targets, vault blobs, settings) or its folder
 * is open to other users of the machine; returns the operator's message, or
 * undefined when it is private. POSIX modes only: on Windows the folder lives in
 * the user's profile and its ACL is inherited from it (not inspected here).
 */
export function configTooOpen(file: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  const mode = (path: string): number | undefined => {
    try {
      return statSync(path).mode & 0o777;
    } catch {
      return undefined; // not written yet: nothing to expose
    }
  };
  const fileMode = mode(file);
  if (fileMode !== undefined && (fileMode & 0o077) !== 0) {
    return `${file} can be read by other users (mode ${fileMode.toString(8).padStart(4, '0')}); run: chmod 600 "${file}"`;
  }
  const dir = dirname(file);
  const dirMode = mode(dir);
  if (dirMode !== undefined && (dirMode & 0o022) !== 0) {
    return `${dir} can be changed by other users (mode ${dirMode.toString(8).padStart(4, '0')}); run: chmod 700 "${dir}"`;
  }
  return undefined;
}
