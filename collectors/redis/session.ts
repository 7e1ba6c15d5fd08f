import { lookup } from 'node:dns/promises';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { ClosableSession, SessionContext } from '../core/engine.js';
import type { ReusableSession } from '../core/session-lease.js';
import { ConfigError, TargetConnectError } from '../core/engine.js';
import { StagedMemory, type JsonValue, type TargetMemory } from '../core/memory.js';
import type { Target } from '../target.js';
import { tlsConnectionOptions } from '../core/tls.js';
import { type CommandObserver, installCommandGuard, observedOptions, withObserver } from './driver.js';
import { mapRedisConnectError, RedisCommandError, toCommandError } from './errors.js';
import { checkCommand, CommandRefused } from './guard.js';
import { type InfoSection, parseInfo } from './parse.js';

/** What INFO server says about the product; Valkey's redis_version is a frozen compatibility value. */
export interface ServerFacts {
  product: 'redis' | 'valkey';
  /** valkey_version on Valkey, redis_version on Redis. */
  version: string;
  major: number;
  minor: number;
  /** redis_version as reported (on Valkey: the Redis OSS version it is compatible with, 7.2.4). */
  redisVersion: string | null;
  mode: string | null;
  runId: string | null;
}

export function serverFacts(info: InfoSection): ServerFacts {
  const valkey = info.get('server_name') === 'valkey' || info.has('valkey_version');
  const version = (valkey ? info.get('valkey_version') : info.get('redis_version')) ?? 'unknown';
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return {
    product: valkey ? 'valkey' : 'redis',
    version,
    major,
    minor,
    redisVersion: info.get('redis_version') ?? null,
    // Valkey names it server_mode unless extended-redis-compatibility is on.
    mode: info.get('redis_mode') ?? info.get('server_mode') ?? null,
    runId: info.get('run_id') ?? null,
  };
}

export const productLabel = (f: ServerFacts): string => `${f.product === 'valkey' ? 'Valkey' : 'Redis'} ${f.version}`;

/** Memory key of the commands the server recently denied (see RedisSession#command). */
const DENIED = 'redis.denied';
/**
 * Each NOPERM adds to the server's ACL LOG (128 entries by default), where
 * operators look for real intrusions. A command denied once is not sent again
 * for an hour, so a missing grant does not crowd real denials out of the log.
 */
export const DENIAL_RETRY_MS = 60 * 60 * 1000;

function redisTls(target: Target, mode: string): ConnectionOptions | undefined {
  const t = target.tls;
  if (t === undefined || t.mode === 'disable') return undefined;
  if (t.mode === 'prefer') {
    throw new ConfigError(
      'tls.mode "prefer" does not apply to Redis, which serves TLS on its own port with no negotiation: use "require", "verify-ca", "verify-full" or "disable"',
    );
  }
  const opts = tlsConnectionOptions(target);
  // With Sentinel or a cluster the agent reaches servers it discovers: each is checked against its own name.
  if (mode !== 'standalone' && t.serverName === undefined) delete opts.servername;
  return opts;
}

/**
 * The only door to a Redis or Valkey server. Read-only by construction: every
 * command any of its connections sends passes the allowlist (guard.ts, enforced
 * inside ioredis by driver.ts) and lands in the audit ledger; the recommended
 * ACL user can run nothing else either. What ioredis sends by itself on
 * connect, with the options below: AUTH (redacted in the ledger) when a password
 * is set, CLIENT SETNAME <applicationName>; in cluster mode CLUSTER SLOTS; in
 * sentinel mode SENTINEL GET-MASTER-ADDR-BY-NAME to the Sentinels. Never HELLO
 * (protocol 2), SELECT (db 0), CLIENT SETINFO (disableClientInfo), INFO for a
 * ready check (enableReadyCheck off) or READONLY (reads go to the master).
 * One-shot: no reconnects, no offline queue, every command has a timeout.
 */
export class RedisSession implements ClosableSession, ReusableSession {
  private readonly infoCache = new Map<string, Promise<InfoSection | undefined>>();
  private factsPromise: Promise<ServerFacts | undefined> | undefined;
  /** Results one signal of a cycle leaves for a later one (the slow-log read for slowlog_len). */
  readonly scratch = new Map<string, unknown>();
  private closed = false;
  /** Between two cycles of a pooled session: the next cycle starts with a PING (beginCycle). */
  private betweenCycles = false;

  private constructor(
    private readonly node: Redis,
    private readonly cluster: Cluster | undefined,
    readonly target: Target,
    /** The user the agent authenticated as: the one every ACL fix names. */
    readonly user: string,
    /** This cycle's per-target state (a pooled session takes each cycle's in beginCycle). */
    public memory: TargetMemory,
    /** Sent as CLIENT SETNAME, so operators can tell the agent's connections apart. */
    readonly applicationName: string,
  ) {}

  static async open(target: Target, password: string | undefined, ctx: SessionContext): Promise<RedisSession> {
    installCommandGuard();
    const mode = target.redis?.mode ?? 'standalone';
    const where = `${target.host}:${target.port}${mode === 'standalone' ? '' : ` (${mode})`}`;
    const observer: CommandObserver = {
      record: (e) =>
        ctx.audit.record({
          time: new Date().toISOString(),
          targetId: target.id,
          engine: 'redis',
          statement: e.statement,
          durationMs: e.durationMs,
          outcome: e.outcome,
          ...(e.code === undefined ? {} : { code: e.code }),
        }),
    };
    const tls = redisTls(target, mode);
    // `default` authenticates with the password alone (AUTH pw), which Redis 5 also understands;
    // another user always sends AUTH user pw, an empty password for a nopass user.
    const auth = target.user === 'default' ? (password === undefined ? {} : { password }) : { username: target.user, password: password ?? '' };
    const common = {
      ...auth,
      connectionName: ctx.applicationName,
      disableClientInfo: true,
      protocol: 2 as const,
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      connectTimeout: target.connectTimeoutMs,
      commandTimeout: target.statementTimeoutMs,
      ...(tls === undefined ? {} : { tls }),
    } satisfies RedisOptions;

    // ioredis rejects connect() with a bare "Connection is closed."; the cause is the first 'error' event.
    let cause: unknown;
    const remember = (err: unknown): void => {
      cause ??= err;
    };
    let node: Redis;
    let cluster: Cluster | undefined;
    try {
      if (target.redis?.mode === 'cluster') {
        const opts: ClusterOptions = {
          redisOptions: observedOptions(observer, common),
          clusterRetryStrategy: () => null,
          enableOfflineQueue: false,
          // Cluster's ready check waits for cluster_state:ok: a failed cluster is exactly what must still be monitored.
          enableReadyCheck: false,
          lazyConnect: true,
          scaleReads: 'master',
          slotsRefreshTimeout: target.connectTimeoutMs,
          slotsRefreshInterval: 0,
        };
        cluster = new Cluster([{ host: target.host, port: target.port }, ...(target.redis.nodes ?? [])], opts);
        cluster.on('error', remember);
        cluster.on('node error', remember);
        await withObserver(observer, () => cluster!.connect());
        node = await pickClusterNode(cluster, target);
        node.on('error', remember);
      } else {
        const sentinel =
          target.redis?.mode === 'sentinel'
            ? {
                sentinels: [{ host: target.host, port: target.port }, ...(target.redis.sentinels ?? [])],
                name: target.redis.masterName,
                role: 'master' as const,
                sentinelRetryStrategy: () => null,
                updateSentinels: false,
                failoverDetector: false,
                sentinelCommandTimeout: target.statementTimeoutMs,
                ...(target.redis.sentinelAuth === 'target'
                  ? { sentinelUsername: target.user, ...(password === undefined ? {} : { sentinelPassword: password }) }
                  : {}),
                enableTLSForSentinelMode: tls !== undefined,
                ...(target.redis.sentinelTls && tls !== undefined ? { sentinelTLS: tls } : {}),
              }
            : { host: target.host, port: target.port };
        node = new Redis(observedOptions(observer, { ...common, ...sentinel, retryStrategy: () => null, enableOfflineQueue: false }));
        node.on('error', remember);
        await withObserver(observer, () => node.connect());
      }
    } catch (err) {
      cluster?.disconnect();
      throw mapRedisConnectError(cause ?? err, where);
    }
    const session = new RedisSession(node, cluster, target, target.user, ctx.memory ?? new StagedMemory(), ctx.applicationName);
    // Proves the login: without a password Redis accepts the connection and answers NOAUTH to the first command.
    try {
      await session.command('PING');
    } catch (err) {
      if (!(err instanceof RedisCommandError && err.code === 'NOPERM')) {
        await session.close();
        if (err instanceof RedisCommandError && (err.code === 'NOAUTH' || err.code === 'WRONGPASS')) {
          throw new TargetConnectError('authentication', `${where}: authentication failed (${err.code}: the server wants a user name and password)`);
        }
        throw mapRedisConnectError(cause ?? err, where);
      }
    }
    return session;
  }

  /**
   * Sends one command and returns the raw reply. Every signal goes through
   * here; failures come back as RedisCommandError (or CommandRefused) with the
   * command's ACL name, for the exact ACL SETUSER fix.
   */
  command(name: string, ...args: Array<string | number>): Promise<unknown> {
    return this.send(name, args, () => this.node.call(name, ...args));
  }

  /**
   * Like command(), but bulk replies stay bytes (Buffers): a large reply (CLIENT
   * LIST on a busy server) is read in place instead of being copied into a string.
   */
  commandBuffer(name: string, ...args: Array<string | number>): Promise<unknown> {
    return this.send(name, args, () => this.node.callBuffer(name, ...args));
  }

  private async send(name: string, args: Array<string | number>, call: () => Promise<unknown>): Promise<unknown> {
    let key: string;
    try {
      key = checkCommand(name, args).key;
    } catch (err) {
      if (!(err instanceof CommandRefused)) throw err;
      // The driver hook refuses it again and records the refusal in the ledger.
      key = name.toLowerCase();
    }
    const deniedAt = this.deniedAt(key);
    if (deniedAt !== undefined && Date.now() - deniedAt < DENIAL_RETRY_MS) {
      throw new RedisCommandError(key, 'NOPERM', this.user, 'denied recently', new Date(deniedAt).toISOString());
    }
    try {
      const reply = await call();
      if (deniedAt !== undefined) this.setDenied(key, undefined);
      return reply;
    } catch (err) {
      const mapped = toCommandError(err, key, this.user);
      if (mapped instanceof RedisCommandError && mapped.code === 'NOPERM') this.setDenied(key, Date.now());
      throw mapped;
    }
  }

  private deniedMap(): Record<string, JsonValue> {
    const v = this.memory.get(DENIED);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
  }
  private deniedAt(key: string): number | undefined {
    const at = this.deniedMap()[key];
    return typeof at === 'number' ? at : undefined;
  }
  private setDenied(key: string, at: number | undefined): void {
    const m = this.deniedMap();
    if (at === undefined) delete m[key];
    else m[key] = at;
    this.memory.set(DENIED, m);
  }

  /** One INFO section, once per session; undefined when this server version has no such section. */
  info(section: string): Promise<InfoSection | undefined> {
    let p = this.infoCache.get(section);
    if (p === undefined) {
      p = this.command('INFO', section).then((text) => parseInfo(String(text)).get(section));
      // A failure is not cached: the next signal asking gets its own error.
      p.catch(() => this.infoCache.delete(section));
      this.infoCache.set(section, p);
    }
    return p;
  }

  /** Product, version and run id, or undefined when INFO is not allowed (signals then say so on their own). */
  facts(): Promise<ServerFacts | undefined> {
    this.factsPromise ??= this.info('server').then(
      (s) => (s === undefined ? undefined : serverFacts(s)),
      () => undefined,
    );
    return this.factsPromise;
  }

  /** The cluster's nodes as this session's cluster client discovered them (cluster mode only). */
  clusterNodes(): Array<{ addr: string; role: 'master' | 'replica'; self: boolean }> | undefined {
    if (this.cluster === undefined) return undefined;
    const masters = new Set(this.cluster.nodes('master'));
    return this.cluster.nodes('all').map((n) => ({
      addr: `${n.options.host}:${n.options.port}`,
      role: masters.has(n) ? ('master' as const) : ('replica' as const),
      self: n === this.node,
    }));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Starts another cycle on a pooled session: forgets the last cycle's INFO
   * answers and scratch results, takes this cycle's memory, and proves the
   * connection with a PING (through the guard and the ledger like any command).
   * A connection that dropped, or a login the server no longer accepts, fails
   * here and the session is closed.
   */
  async beginCycle(memory: TargetMemory | undefined): Promise<void> {
    if (this.closed) throw new Error('the Redis session is closed');
    this.memory = memory ?? new StagedMemory();
    if (!this.betweenCycles) return;
    this.infoCache.clear();
    this.factsPromise = undefined;
    this.scratch.clear();
    try {
      await this.command('PING');
      this.betweenCycles = false;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async endCycle(): Promise<void> {
    if (this.closed) throw new Error('the Redis session is closed');
    this.betweenCycles = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // disconnect(), not QUIT: nothing more is sent.
    if (this.cluster !== undefined) this.cluster.disconnect();
    else this.node.disconnect();
  }
}

/** The node for the target's host:port among the discovered nodes (by name or address), else the first master. */
async function pickClusterNode(cluster: Cluster, target: Target): Promise<Redis> {
  const nodes = cluster.nodes('all');
  const at = (host: string): Redis | undefined => nodes.find((n) => n.options.host === host && n.options.port === target.port);
  let found = at(target.host);
  if (found === undefined) {
    const addrs = await lookup(target.host, { all: true }).catch(() => []);
    for (const a of addrs) found ??= at(a.address);
  }
  const chosen = found ?? cluster.nodes('master')[0];
  if (chosen === undefined) throw new Error('the cluster reported no nodes');
  return chosen;
}
