// Every file the agent is pointed at is read through one bounded helper: a regular
// file under a cap, or bad input at once. /dev/zero would otherwise grow memory
// without bound and a FIFO with no writer would block the open forever.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileReadError, readBoundedFile, readBoundedFileSync } from '../../collectors/core/bounded-read.js';
import { ConfigError } from '../../collectors/core/engine.js';
import { loadTargetFile } from '../../agent/config/target-file.js';
import { loadRunConfig } from '../../agent/config/run-config.js';
import { tlsConnectionOptions } from '../../collectors/core/tls.js';
import { parseTarget } from '../../agent/config/target-file.js';

const dir = mkdtempSync(join(tmpdir(), 'lsa-bounded-'));
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);

async function refusal(p: Promise<unknown>): Promise<FileReadError> {
  const started = Date.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(Date.now() - started).toBeLessThan(2000);
  expect(err).toBeInstanceOf(FileReadError);
  expect(err).toBeInstanceOf(ConfigError);
  return err as FileReadError;
}

describe('bounded file reads', () => {
  it('reads a regular file', async () => {
    const f = join(dir, 'ok.json');
    writeFileSync(f, '{"a":1}');
    expect((await readBoundedFile(f)).toString()).toBe('{"a":1}');
    expect(readBoundedFileSync(f).toString()).toBe('{"a":1}');
  });

  it.each([
    ['/dev/zero', /is a device, not a regular file/],
    ['/dev/urandom', /is a device/],
    [fifo, /is a FIFO/],
    [dir, /is a directory/],
    [join(dir, 'missing'), /no such file/],
  ])('refuses %s at once, naming the file', async (file, re) => {
    const err = await refusal(readBoundedFile(file, { what: 'tls.caFile' }));
    expect(err.message).toMatch(re);
    expect(err.message.startsWith(`tls.caFile ${file}: `)).toBe(true);
    expect(() => readBoundedFileSync(file)).toThrow(re);
  });

  it('refuses a socket', async () => {
    const sock = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      expect((await refusal(readBoundedFile(sock))).message).toMatch(/socket/);
    } finally {
      server.close();
    }
  });

  it('refuses a symbolic link to a device as the device it is', async () => {
    const link = join(dir, 'zero-link');
    symlinkSync('/dev/zero', link);
    expect((await refusal(readBoundedFile(link))).code).toBe('ENOTREG');
  });

  it('refuses a file over the cap without reading it', async () => {
    const f = join(dir, 'big');
    writeFileSync(f, Buffer.alloc(2048, 'x'));
    const err = await refusal(readBoundedFile(f, { maxBytes: 1024 }));
    expect(err.code).toBe('EFBIG');
    expect(() => readBoundedFileSync(f, { maxBytes: 1024 })).toThrow(/larger than the 1024 bytes/);
    expect((await readBoundedFile(f, { maxBytes: 2048 })).length).toBe(2048);
  });

  it('target and run config files, and the TLS files of a target, go through it', async () => {
    expect((await refusal(loadTargetFile(fifo))).message).toMatch(/FIFO/);
    expect((await refusal(loadRunConfig('/dev/zero'))).message).toMatch(/device/);
    const t = parseTarget(
      { id: 't', engine: 'postgres', host: 'db', port: 5432, user: 'm', database: 'd', tls: { mode: 'verify-ca', caFile: '/dev/zero' } },
      't.json',
    );
    expect(() => tlsConnectionOptions(t)).toThrow(/^tls\.caFile \/dev\/zero: is a device/);
  });
});
