import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Permission bits of a path, or undefined when it does not exist (yet). */
function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined; // not written yet: nothing to expose
  }
}

const octal = (m: number): string => m.toString(8).padStart(4, '0');

/** A file with secrets (blobs, env names, hosts) that others can read; the operator's message or undefined. */
export function fileTooOpen(file: string): string | undefined {
  const m = modeOf(file);
  if (m === undefined || (m & 0o077) === 0) return undefined;
  return `${file} can be read by other users (mode ${octal(m)}); run: chmod 600 "${file}"`;
}

/** A folder others can change (swap a file) or, with `readable`, list and read. */
export function dirTooOpen(dir: string, readable = false): string | undefined {
  const m = modeOf(dir);
  if (m === undefined || (m & (readable ? 0o077 : 0o022)) === 0) return undefined;
  return `${dir} can be ${readable ? 'read' : 'changed'} by other users (mode ${octal(m)}); run: chmod 700 "${dir}"`;
}

/**
 * Whether the agent's state file (targets, vault blobs, settings) or its folder
 * is open to other users of the machine; returns the operator's message, or
 * undefined when it is private. POSIX modes only: on Windows see windows-acl.ts.
 */
export function configTooOpen(file: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  return fileTooOpen(file) ?? dirTooOpen(dirname(file));
}
