// A throwaway redis-server for integration tests, with ACL users and a tiny RESP client
// (ioredis is deliberately not a dependency).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FatalWaitError, freePort, randomSecret, requireBinary, tail, waitFor } from './util.js';

const execFileP = promisify(execFile);

/** The least-privilege ACL the agent documents for its Redis monitoring identity. */
export const MONITOR_ACL =
  'resetkeys resetchannels -@all +ping +hello +info +slowlog|get +slowlog|len +latency|latest +latency|history ' +
  '+config|get +client|list +client|info +client|setname +memory|stats +acl|whoami +cluster|info';

/** The monitoring ACL without SLOWLOG GET: a DBA who left the slow log out. */
export const NOSLOWLOG_ACL = `${MONITOR_ACL} -slowlog|get`;

export interface RedisCredentials {
  user: string;
  password: string;
}

/** Plain data (serialisable through vitest's provide/inject). */
export interface RedisConnectionInfo {
  host: string;
  port: number;
  /** e.g. '7.0.15' */
  version: string;
  logFile: string;
  users: {
    monitor: RedisCredentials;
    /** MONITOR_ACL minus SLOWLOG GET. */
    noslowlog: RedisCredentials;
    admin: RedisCredentials;
    /** The `default` user (what `requirepass` sets): AUTH <password>. */
    default: { password: string };
  };
}

export interface RedisHarness extends RedisConnectionInfo {
  /** SIGTERM (no persistence configured, so nothing is saved) and removal of the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts the server on the same port (a new run_id, an empty slow log). */
  restart(): Promise<void>;
}

/** A RESP error reply (`-ERR ...`, `-NOPERM ...`): returned as a value, never thrown, so tests can assert on it. */
export class RespError extends Error {
  override name = 'RespError';
  /** First word of the message: 'ERR', 'NOPERM', 'NOAUTH', 'WRONGPASS', ... */
  get code(): string {
    return this.message.split(' ', 1)[0] ?? '';
  }
}

export type RespReply = string | number | null | RespError | RespReply[];

export interface RespTarget {
  host: string;
  port: number;
  /** AUTH before the commands: {user, password} for an ACL user, {password} for `default`. */
  auth?: { user?: string; password: string };
  timeoutMs?: number;
}

/** Parses one RESP2 reply at `pos`; returns undefined when the buffer is incomplete. */
function parseReply(buf: Buffer, pos: number): { value: RespReply; next: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespReply[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return undefined;
        items.push(r.value);
        p = r.next;
      }
      return { value: items, next: p };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Sends the commands pipelined on one fresh connection and returns one reply per command
 * (error replies as RespError values). A failing AUTH rejects.
 */
export async function redisCommands(target: RespTarget, commands: readonly (readonly string[])[]): Promise<RespReply[]> {
  const all: (readonly string[])[] = [];
  if (target.auth) {
    all.push(target.auth.user === undefined ? ['AUTH', target.auth.password] : ['AUTH', target.auth.user, target.auth.password]);
  }
  all.push(...commands);
  const replies = await new Promise<RespReply[]>((resolve, reject) => {
    const sock: Socket = connect({ host: target.host, port: target.port });
    let buf = Buffer.alloc(0);
    const out: RespReply[] = [];
    sock.setTimeout(target.timeoutMs ?? 5_000, () => sock.destroy(new Error('redis: reply timeout')));
    sock.on('error', reject);
    sock.on('connect', () => sock.write(all.map(encodeCommand).join('')));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (;;) {
          const r = parseReply(buf, 0);
          if (!r) break;
          out.push(r.value);
          buf = buf.subarray(r.next);
        }
      } catch (err) {
        sock.destroy(err as Error);
        return;
      }
      if (out.length >= all.length) {
        sock.end();
        resolve(out);
      }
    });
    sock.on('close', () => reject(new Error(`redis: connection closed after ${out.length}/${all.length} replies`)));
  });
  if (target.auth) {
    const authReply = replies.shift();
    if (authReply instanceof RespError) throw authReply;
  }
  return replies;
}

/** One command; the reply (RespError for an error reply). */
export async function redisCommand(target: RespTarget, ...args: string[]): Promise<RespReply> {
  const [reply] = await redisCommands(target, [args]);
  return reply ?? null;
}

async function redisVersion(bin: string): Promise<string> {
  // execFile resolves on 'close', with all the output: run() resolves on 'exit', which on a busy
  // machine can come before the output was read (seen under load with many private servers).
  const r = await execFileP(bin, ['--version'], { timeout: 30_000 });
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`integration harness: cannot read the version of ${bin}: ${r.stdout.trim()} ${r.stderr.trim()}`);
  const [, major, minor, patch] = m;
  // Selectors used below: `resetchannels` and `&*` need 6.2; `cmd|sub` rules need 6.0.
  if (Number(major) < 6 || (Number(major) === 6 && Number(minor) < 2)) {
    throw new Error(`integration harness: ${bin} is ${m[0]}, need Redis >= 6.2 for the ACL rules (Debian package redis-server)`);
  }
  return `${major}.${minor}.${patch}`;
}

export interface StartRedisOptions {
  /** Extra redis.conf lines (private instances: cluster-enabled, maxclients, more users, …). */
  config?: readonly string[];
}

/**
 * Starts redis-server on a free 127.0.0.1 port with the `default`, `monitor`, `noslowlog` and
 * `admin` users. The shared instance (global-setup) takes no options; tests that change server
 * settings or restart the server start a private one.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHarness> {
  const bin = requireBinary(process.env.REDIS_SERVER ?? 'redis-server', 'redis-server', process.env.REDIS_SERVER ? ' (REDIS_SERVER)' : ' on PATH');
  const version = await redisVersion(bin);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'logstag-redis-'));
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const host = '127.0.0.1';
    const logFile = path.join(dir, 'redis.log');
    const users = {
      monitor: { user: 'monitor', password: randomSecret() },
      noslowlog: { user: 'noslowlog', password: randomSecret() },
      admin: { user: 'admin', password: randomSecret() },
      default: { password: randomSecret() },
    };
    // A config file rather than --user arguments keeps the passwords out of `ps`.
    const conf = [
      `bind ${host}`,
      `port ${port}`,
      'protected-mode yes',
      'daemonize no',
      'save ""',
      'appendonly no',
      `dir ${dir}`,
      `logfile ${logFile}`,
      `user default on >${users.default.password} ~* &* +@all`,
      `user monitor on >${users.monitor.password} ${MONITOR_ACL}`,
      `user noslowlog on >${users.noslowlog.password} ${NOSLOWLOG_ACL}`,
      `user admin on >${users.admin.password} ~* &* +@all`,
      ...(options.config ?? []),
    ].join('\n');
    const confFile = path.join(dir, 'redis.conf');
    await writeFile(confFile, `${conf}\n`, { mode: 0o600 });

    const spawnServer = async (): Promise<ChildProcess> => {
      const proc = spawn(bin, [confFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let early = '';
      const keep = (d: string): void => {
        early = (early + d).slice(-8192);
      };
      proc.stdout.setEncoding('utf8').on('data', keep);
      proc.stderr.setEncoding('utf8').on('data', keep);
      let exited: string | undefined;
      proc.on('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
      const spawnError = new Promise<never>((_, reject) => proc.on('error', reject));

      await Promise.race([
        spawnError,
        waitFor('redis-server to answer PING', async () => {
          if (exited !== undefined) {
            const log = await readFile(logFile, 'utf8').catch(() => '');
            throw new FatalWaitError(`integration harness: redis-server ${exited}\n${tail(early)}\n${tail(log)}`);
          }
          const reply = await redisCommand({ host, port, auth: { password: users.default.password }, timeoutMs: 1_000 }, 'PING');
          return reply === 'PONG' ? true : undefined;
        }),
      ]);
      return proc;
    };

    let proc = await spawnServer();
    let stopped = false;
    return {
      host,
      port,
      version,
      logFile,
      users,
      async restart() {
        await stopChild(proc);
        proc = await spawnServer();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopChild(proc);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A MONITOR session, run by a test as an administrator: the server's own record of every command. */
export interface RedisMonitor {
  /** MONITOR lines so far, e.g. `1700000000.123456 [0 127.0.0.1:51234] "SLOWLOG" "GET" "10"`. */
  lines(): string[];
  stop(): Promise<void>;
}

/** Starts MONITOR on its own connection and resolves once the server confirmed it (+OK). */
export function redisMonitor(target: RespTarget): Promise<RedisMonitor> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host: target.host, port: target.port });
    const commands: string[][] = [];
    if (target.auth) commands.push(target.auth.user === undefined ? ['AUTH', target.auth.password] : ['AUTH', target.auth.user, target.auth.password]);
    commands.push(['MONITOR']);
    // One +OK per command (AUTH, MONITOR); every later line is a monitored command.
    let pendingOks = commands.length;
    const lines: string[] = [];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', reject);
    sock.on('connect', () => sock.write(commands.map(encodeCommand).join('')));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let eol: number;
      while ((eol = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, eol);
        buf = buf.slice(eol + 2);
        if (pendingOks > 0) {
          if (line !== '+OK') {
            sock.destroy();
            reject(new RespError(line.replace(/^-/, '')));
            return;
          }
          if (--pendingOks === 0) {
            resolve({
              lines: () => [...lines],
              stop: () =>
                new Promise<void>((done) => {
                  sock.once('close', () => done());
                  sock.destroy();
                }),
            });
          }
        } else if (line.startsWith('+')) {
          lines.push(line.slice(1));
        }
      }
    });
  });
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}
