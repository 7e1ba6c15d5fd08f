import { readBoundedFileSync } from '../core/bounded-read.js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { BSON, type Document, MongoClient, type MongoClientOptions } from 'mongodb';
import { ConfigError, type ClosableSession, type SessionContext } from '../core/engine.js';
import type { Target } from '../target.js';
import { type FailureKind, type FixUser, mapMongoConnectError, MongoCommandFailure } from './errors.js';
import { guardedQuery } from '../core/guarded-query.js';
import { type GrantId } from './grants.js';
import { assertReadOnlyCommand, type CommandDoc, commandName, ReadOnlyViolation } from './guard.js';
import { bool, list, num, str, strings, sub } from './values.js';

export interface ServerInfo {
  version: string;
  edition: 'enterprise' | 'community';
  process: 'mongod' | 'mongos';
  topology: 'standalone' | 'replica_set' | 'sharded';
  setName: string | null;
  isWritablePrimary: boolean;
  isSecondary: boolean;
  maxWireVersion: number | null;
}

function readPem(file: string, field: string): string {
  return readBoundedFileSync(file, { what: field }).toString('utf8');
}

/** TLS as the target asks; srv deployments default to verified TLS as the mongodb+srv scheme does. */
function tlsOptions(target: Target): MongoClientOptions {
  const srv = target.mongodb?.srv === true;
  const mode = target.tls?.mode ?? (srv ? 'verify-full' : 'disable');
  if (mode === 'disable') return { tls: false };
  if (mode === 'prefer') throw new ConfigError('tls.mode: MongoDB has no opportunistic TLS ("prefer"): choose disable, require, verify-ca or verify-full');
  const out: MongoClientOptions = { tls: true };
  if (target.tls?.caFile !== undefined) out.ca = readPem(target.tls.caFile, 'tls.caFile');
  const keyFile = target.mongodb?.tlsCertificateKeyFile;
  if (keyFile !== undefined) {
    // One PEM with the certificate and its key, as mongod and mongosh take it.
    const pem = readPem(keyFile, 'mongodb.tlsCertificateKeyFile');
    out.cert = pem;
    out.key = pem;
  }
  if (mode === 'require') {
    // Encrypts without authenticating the server, as libpq's sslmode=require.
    out.rejectUnauthorized = false;
    out.checkServerIdentity = () => undefined;
  } else if (mode === 'verify-ca') {
    out.checkServerIdentity = () => undefined;
  } else if (target.tls?.serverName !== undefined) {
    const expected = target.tls.serverName;
    out.servername = expected;
    out.checkServerIdentity = (_host, cert) => checkServerIdentity(expected, cert);
  }
  return out;
}

/** Host names go into the connection string: only a plain name or address, never URI syntax. */
function hostPart(target: Target): string {
  const { host } = target;
  if (isIP(host) === 6) return `[${host}]:${target.port}`;
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(host)) throw new ConfigError(`host: "${host.slice(0, 80)}" is not a host name or IP address`);
  return target.mongodb?.srv === true ? host : `${host}:${target.port}`;
}

function credentials(target: Target, password: string | undefined): MongoClientOptions {
  const mechanism = target.mongodb?.authMechanism;
  // The driver wants a password key even for X.509; an empty one means "none" there.
  if (mechanism === 'MONGODB-X509') return { auth: { username: target.user, password: '' }, authSource: '$external', authMechanism: 'MONGODB-X509' };
  // Without a password the agent connects unauthenticated (a server without access control).
  if (password === undefined) return {};
  return {
    auth: { username: target.user, password },
    authSource: target.database ?? 'admin',
    ...(mechanism === undefined ? {} : { authMechanism: mechanism }),
  };
}

/**
 * The connection string and driver options for a target: the agent's appName, no
 * retries (what is audited is exactly what was sent), bounded server selection
 * and sockets, one member unless the operator asked for the whole set.
 */
export function connectionSettings(
  target: Target,
  password: string | undefined,
  applicationName: string,
): { url: string; where: string; options: MongoClientOptions } {
  const srv = target.mongodb?.srv === true;
  const replicaSet = target.mongodb?.replicaSet;
  const options: MongoClientOptions = {
    appName: applicationName,
    readPreference: 'primaryPreferred',
    retryWrites: false,
    retryReads: false,
    // Per-member metrics stay per member: the target is that member unless it names a set (or SRV).
    directConnection: !srv && replicaSet === undefined,
    ...(replicaSet === undefined ? {} : { replicaSet }),
    serverSelectionTimeoutMS: target.connectTimeoutMs,
    connectTimeoutMS: target.connectTimeoutMs,
    socketTimeoutMS: target.statementTimeoutMs + 2000,
    maxPoolSize: 1,
    serverMonitoringMode: 'poll',
    ...credentials(target, password),
    ...tlsOptions(target),
  };
  const where = srv ? `mongodb+srv://${target.host}` : `${target.host}:${target.port}`;
  return { url: `${srv ? 'mongodb+srv' : 'mongodb'}://${hostPart(target)}/`, where, options };
}

/** Which privilege a command needs, so an Unauthorized answer can name the exact fix. */
function grantForCommand(db: string, cmd: CommandDoc): GrantId | undefined {
  const name = commandName(cmd);
  if (name === 'aggregate') {
    const stage = Object.keys((list(cmd['pipeline'])[0] ?? {}) as object)[0];
    if (stage === '$currentOp') return 'inprog';
    if (stage === '$indexStats') return 'indexStats';
    if (stage === '$collStats') return db === 'local' && cmd['aggregate'] === 'oplog.rs' ? 'oplog' : 'collStats';
    return undefined;
  }
  if (name === 'find') return 'oplog';
  if (name === 'usersInfo') return 'viewUser';
  if (name === 'rolesInfo') return 'viewRole';
  const direct: readonly string[] = [
    'serverStatus',
    'top',
    'replSetGetStatus',
    'listDatabases',
    'dbStats',
    'listCollections',
    'getCmdLineOpts',
    'getParameter',
  ];
  return direct.includes(name) ? (name as GrantId) : undefined;
}

function failureKind(err: unknown): { kind: FailureKind; code?: number; codeName?: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown; codeName?: unknown };
  const name = String(e.name ?? '');
  if (name === 'MongoServerError' || (typeof e.code === 'number' && name.startsWith('Mongo') && !name.startsWith('MongoNetwork'))) {
    return { kind: 'server', ...(typeof e.code === 'number' ? { code: e.code } : {}), ...(typeof e.codeName === 'string' ? { codeName: e.codeName } : {}) };
  }
  if (name === 'MongoNetworkTimeoutError' || name === 'MongoOperationTimeoutError' || name === 'AbortError' || name === 'TimeoutError')
    return { kind: 'timeout' };
  if (name.startsWith('MongoNetwork') || name === 'MongoServerSelectionError' || name === 'MongoTopologyClosedError' || name === 'MongoServerClosedError') {
    return { kind: 'lost' };
  }
  return { kind: 'client' };
}

/**
 * The only door to a MongoDB server. MongoDB has no read-only session mode, so
 * every command passes the allowlist guard before the driver sees it; the
 * connection carries the agent's appName, never retries (what is audited is
 * exactly what was sent), bounds server selection, and every command carries
 * maxTimeMS with a socket timeout behind it. Every command, refused ones
 * included, goes to the audit ledger.
 */
export class MongoSession implements ClosableSession {
  server!: ServerInfo;
  /** Whether this connection is encrypted, for the security signal. */
  readonly tlsInUse: boolean;
  private closed = false;
  private readonly openCursors = new Set<string>();
  private readonly memos = new Map<string, Promise<unknown>>();
  private readonly fixUser: FixUser;

  private constructor(
    private readonly client: MongoClient,
    readonly target: Target,
    private readonly ctx: SessionContext,
    options: MongoClientOptions,
  ) {
    this.tlsInUse = options.tls === true;
    this.fixUser = { user: target.user, authDb: target.mongodb?.authMechanism === 'MONGODB-X509' ? '$external' : (target.database ?? 'admin') };
    // A dropped connection must not crash the agent; the next command reports it.
    client.on('error', () => {});
  }

  static async open(target: Target, password: string | undefined, ctx: SessionContext): Promise<MongoSession> {
    const { url, where, options } = connectionSettings(target, password, ctx.applicationName);
    const client = new MongoClient(url, options);
    try {
      await client.connect();
    } catch (err) {
      await client.close().catch(() => {});
      throw mapMongoConnectError(err, where);
    }
    const session = new MongoSession(client, target, ctx, options);
    try {
      session.server = await session.describeServer();
    } catch (err) {
      await session.close();
      if (err instanceof MongoCommandFailure) throw mapMongoConnectError(err, where);
      throw err;
    }
    return session;
  }

  private async describeServer(): Promise<ServerInfo> {
    const hello = await this.command('admin', { hello: 1 });
    const build = await this.command('admin', { buildInfo: 1 });
    const mongos = str(hello['msg']) === 'isdbgrid';
    const setName = str(hello['setName']);
    return {
      version: str(build['version']) ?? 'unknown',
      edition: strings(build['modules']).includes('enterprise') ? 'enterprise' : 'community',
      process: mongos ? 'mongos' : 'mongod',
      topology: mongos ? 'sharded' : setName !== null ? 'replica_set' : 'standalone',
      setName,
      isWritablePrimary: bool(hello['isWritablePrimary']) ?? false,
      isSecondary: bool(hello['secondary']) ?? false,
      maxWireVersion: num(hello['maxWireVersion']),
    };
  }

  /**
   * Runs one allowlisted command on `db`. maxTimeMS is added here so no caller
   * can forget it; the guard sees the final document.
   */
  async command(db: string, cmd: CommandDoc): Promise<Document> {
    const doc: CommandDoc = commandName(cmd) === 'hello' ? cmd : { ...cmd, maxTimeMS: this.target.statementTimeoutMs };
    let statement: string;
    try {
      statement = `${db}: ${BSON.EJSON.stringify(doc, { relaxed: true })}`;
    } catch {
      statement = `${db}: (unprintable ${commandName(doc).slice(0, 40)} command)`;
    }
    try {
      return await guardedQuery({
        audit: this.ctx.audit,
        targetId: this.target.id,
        engine: 'mongodb',
        statement,
        verbatim: true,
        guard: () => assertReadOnlyCommand(db, doc, { ownsCursor: (id) => this.openCursors.has(String(id)) }),
        send: () => this.client.db(db).command(doc),
        rows: (res) => {
          const batch = sub(res, 'cursor')['firstBatch'];
          return Array.isArray(batch) ? batch.length : 1;
        },
        errorCode: (err) => {
          const f = failureKind(err);
          return f.codeName ?? (f.code === undefined ? f.kind : String(f.code));
        },
      });
    } catch (err) {
      if (err instanceof ReadOnlyViolation) throw err;
      const f = failureKind(err);
      if (f.kind === 'lost') this.closed = true;
      throw new MongoCommandFailure(commandName(doc), db, f.kind, f.code, f.codeName, grantForCommand(db, doc), this.fixUser);
    }
  }

  /**
   * Runs a cursor command and returns its first batch. Callers size the batch to
   * hold every result; a cursor left open anyway (more results than asked for)
   * is closed at once rather than left to time out on the server.
   */
  async firstBatch(db: string, cmd: CommandDoc): Promise<Document[]> {
    const res = await this.command(db, cmd);
    const cursor = sub(res, 'cursor');
    const id = cursor['id'];
    if (id !== undefined && num(id) !== 0) {
      const ns = str(cursor['ns']) ?? '';
      this.openCursors.add(String(id));
      try {
        await this.command(db, { killCursors: ns.slice(db.length + 1), cursors: [id] });
      } catch {
        // The server drops an idle cursor on its own after cursorTimeoutMillis.
      } finally {
        this.openCursors.delete(String(id));
      }
    }
    return list(cursor['firstBatch']).filter((d): d is Document => typeof d === 'object' && d !== null);
  }

  /** Shares one answer between the signals of a session (one cycle), e.g. serverStatus. */
  memo<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.memos.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = read();
      this.memos.set(key, p);
    }
    return p;
  }

  /** The appName this session announces; its own operations carry it. */
  get appName(): string {
    return this.ctx.applicationName;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close().catch(() => {});
  }
}
