import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { ConfigError } from './engine.js';

/**
 * The one way the agent reads a file it was pointed at (a target or run config,
 * its state, a CA/certificate/key, a cloud key file): only a regular file, no
 * larger than `maxBytes`, read with that bound. A device (/dev/zero), a FIFO, a
 * socket or a directory is refused as bad input at once, never read: the file is
 * opened non-blocking (a FIFO with no writer would otherwise block the open
 * forever) and checked with fstat on the opened descriptor (no race with a swap
 * of the path). A file that grows past the cap while read is refused too: at most
 * maxBytes + 1 bytes are ever read.
 */

/** Bad input (a ConfigError, exit 2) with the reason's code: an errno ("ENOENT"), "ENOTREG" or "EFBIG". */
export class FileReadError extends ConfigError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** 1 MiB: far above any real config, certificate bundle or key, far below harm. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

export interface BoundedReadOptions {
  maxBytes?: number;
  /** What the file is, for the message: "tls.caFile", "the run config". The path is always named. */
  what?: string;
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

function prefix(file: string, what: string | undefined): string {
  return what === undefined ? file : `${what} ${file}`;
}

function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENXIO':
      return 'is a socket or device, not a regular file';
    case 'ELOOP':
      return 'has too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return `cannot be read (${code ?? 'unknown error'})`;
  }
}

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'EIO';

function kindProblem(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'is a directory, not a file';
  if (st.isFIFO()) return 'is a FIFO (named pipe), not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  return 'is not a regular file';
}

const tooBig = (max: number): string => `is larger than the ${max >= 1024 * 1024 ? `${max / (1024 * 1024)} MiB` : `${max} bytes`} a file here may be`;

/** Reads a regular file of at most maxBytes; a ConfigError (bad input) naming the file otherwise. */
export async function readBoundedFile(file: string, opts: BoundedReadOptions = {}): Promise<Buffer> {
  const max = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const fail = (reason: string, code: string): FileReadError => new FileReadError(`${prefix(file, opts.what)}: ${reason}`, code);
  if (file.includes('\0')) throw fail('the path contains a NUL byte', 'EINVAL');
  let handle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw fail(errnoReason(err), codeOf(err));
  }
  try {
    const st = await handle.stat();
    const problem = kindProblem(st);
    if (problem !== undefined) throw fail(problem, 'ENOTREG');
    if (st.size > max) throw fail(tooBig(max), 'EFBIG');
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) throw fail(tooBig(max), 'EFBIG');
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(errnoReason(err), codeOf(err));
  } finally {
    await handle.close().catch(() => {});
  }
}

/** readBoundedFile for the synchronous callers (TLS options built in a driver's connect path, identity). */
export function readBoundedFileSync(file: string, opts: BoundedReadOptions = {}): Buffer {
  const max = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const fail = (reason: string, code: string): FileReadError => new FileReadError(`${prefix(file, opts.what)}: ${reason}`, code);
  if (file.includes('\0')) throw fail('the path contains a NUL byte', 'EINVAL');
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw fail(errnoReason(err), codeOf(err));
  }
  try {
    const st = fstatSync(fd);
    const problem = kindProblem(st);
    if (problem !== undefined) throw fail(problem, 'ENOTREG');
    if (st.size > max) throw fail(tooBig(max), 'EFBIG');
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) throw fail(tooBig(max), 'EFBIG');
      const bytesRead = readSync(fd, buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(errnoReason(err), codeOf(err));
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}
