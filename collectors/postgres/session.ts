import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { ClosableSession, SessionContext } from '../core/engine.js';
import type { ReusableSession } from '../core/session-lease.js';
import { tlsConnectionOptions } from '../core/tls.js';
import type { Target } from '../target.js';
import { mapPgConnectError } from './errors.js';
import { guardedQuery } from '../core/guarded-query.js';
import { assertReadOnlySql, loadPgGuard, ReadOnlyViolation } from './guard.js';

type TlsOption = false | ConnectionOptions;

function endWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function tlsOptions(target: Target): TlsOption {
  return (target.tls?.mode ?? 'prefer') === 'disable' ? false : tlsConnectionOptions(target);
}

/** The first statement of every read-only transaction: what the session verifies before anything else runs in it. */
export const PG_OPEN_SQL =
  "SELECT current_setting('transaction_read_only') AS tx_read_only, current_setting('default_transaction_read_only') AS default_read_only, current_setting('server_version_num')::int AS version_num, " +
  // Whether the role sees every user's statistics (visibility.ts asks it of every such signal): answered by this
  // transaction's first statement rather than a round trip per signal. pg_read_all_stats exists from PostgreSQL 10.
  "CASE WHEN current_setting('server_version_num')::int > 99999 THEN pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') END AS all_stats, current_user AS role_name";

/** Statement texts the read-only guard approved: the verdict is a function of the text alone, so it is asked once per text. */
const approved = new Set<string>();
/** Beyond this many distinct texts, new ones are checked every time (never evicted: no text is approved by accident). */
const APPROVED_MAX = 4096;

/**
 * The parse-tree allowlist (guard.ts), asked once per distinct statement text: a
 * text it approved is approved again byte for byte; a refused text is refused
 * every time (refusals are never remembered), and any other text, however close
 * to an approved one, is parsed and checked.
 */
export function guardSql(sql: string): void {
  if (approved.has(sql)) return;
  assertReadOnlySql(sql);
  if (approved.size < APPROVED_MAX) approved.add(sql);
}

/** Server-side statement names, one per approved text (bounded by the approvals themselves). */
const statementNames = new Map<string, string>();

/**
 * The name a statement is prepared under on the server: the same text, the same name, on
 * every session. A pooled session then sends each statement's text and the server plans it
 * once per session instead of every cycle (a statement without parameters keeps its plan;
 * PostgreSQL re-plans by itself when a catalog or search_path change invalidates it). Only
 * texts the guard approved are named, so a session holds at most as many prepared statements
 * as there are approved texts; any other text goes unnamed, as before.
 */
export function statementName(sql: string): string | undefined {
  if (!approved.has(sql) && sql !== BEGIN_READ_ONLY && sql !== ROLLBACK) return undefined;
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `lsa_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** Transaction control the session sends itself (never through query(), never from the catalog). */
const BEGIN_READ_ONLY = 'BEGIN TRANSACTION READ ONLY';
const ROLLBACK = 'ROLLBACK';

/** A statement as the extended protocol sends it: Parse (once per session for a named one), Bind, Execute. */
function extended(sql: string, params: readonly unknown[] = []): pg.QueryConfig {
  const name = statementName(sql);
  return { text: sql, values: params as unknown[], queryMode: 'extended', ...(name === undefined ? {} : { name }) } as pg.QueryConfig;
}

/** ReadyForQuery transaction status: I idle, T in a transaction block, E in a failed one. */
type TxStatus = 'I' | 'T' | 'E';

interface OpenRow {
  tx_read_only: string;
  default_read_only: string;
  version_num: number;
  all_stats: boolean | null;
  role_name: string;
}

/**
 * The only door to a PostgreSQL server. Read-only by construction, in layers:
 *
 * 1. Every statement passes the parse-tree allowlist (guard.ts) before it is sent,
 *    through the one guarded, audited door (core/guarded-query.ts).
 * 2. Every statement is sent with the extended query protocol (Parse/Bind/Execute):
 *    one statement per message, the server refuses a second one.
 * 3. The whole session (one collection cycle) runs inside one explicit
 *    BEGIN TRANSACTION READ ONLY, and the session starts with
 *    default_transaction_read_only=on. The first statement of the transaction
 *    verifies transaction_read_only=on; after it PostgreSQL itself refuses to make
 *    the transaction read-write ("must be set before any query"). A signal whose
 *    statement fails rolls the transaction back and the session opens and verifies
 *    a new one, so one signal's error does not abort the others: a statement that
 *    was pipelined behind the failed one (refused by the server with 25P02, "current
 *    transaction is aborted") is sent again in the new transaction.
 * 4. The session watches the protocol itself: every ReadyForQuery must report
 *    "in a transaction block", and PostgreSQL 14+ reports any change of
 *    default_transaction_read_only (ParameterStatus). A session whose read-only
 *    state changed is closed at once, the change is recorded in the ledger and
 *    every later statement is refused: it is never reused.
 * 5. The recommended role has no write grants.
 */
export class PgSession implements ClosableSession, ReusableSession {
  private closed = false;
  /** Why the session stopped trusting its read-only state (it is then closed). */
  private lost: string | undefined;
  private txStatus: TxStatus = 'I';
  /** True while the session itself sends transaction control (BEGIN/ROLLBACK). */
  private inControl = false;
  /** The replacement of a failed transaction, while it runs; every statement waits for it. */
  private recovery: Promise<void> | undefined;
  /** Which transaction (txSerial) the running recovery replaces. */
  private recoveryOf = 0;
  /** The socket is corked until the end of this turn of the event loop (statements sent together, one write). */
  private corked = false;
  /** Statements sent and not answered yet, and the timer that closes the session if the server falls silent meanwhile. */
  private outstanding = 0;
  private silence: NodeJS.Timeout | undefined;
  /**
   * Statements are sent without waiting for the previous answer (pg's pipeline mode): the
   * cycle starts its signals' reads together (collectors/core/runner.ts). The server still
   * runs them one by one, in order, each in this session's read-only transaction.
   */
  readonly pipelined = true;
  /** Between two cycles of a pooled session: no transaction, nothing may run until beginCycle verifies again. */
  private betweenCycles = false;
  /** server_version_num (e.g. 150018), read once at connect: signals pick version-specific SQL with it. */
  versionNum = 0;
  /** The current transaction's answer to pg_read_all_stats, from its first statement (undefined: not known). */
  private allStats: { full: boolean; user: string } | undefined;
  /** Facts about the server asked in the current transaction (factOfTransaction), as the answers in flight; emptied when it ends. */
  private readonly txFacts = new Map<string, Promise<unknown>>();
  /** Counts the verified transactions this session opened: which one answered a fact. */
  private txSerial = 0;
  private constructor(
    private readonly client: pg.Client,
    private readonly target: Target,
    private readonly ctx: SessionContext,
  ) {
    // A dropped connection emits 'error' on the client; without a listener Node would crash the agent.
    client.on('error', () => {
      this.closed = true;
    });
    client.on('end', () => {
      this.closed = true;
    });
    client.connection.on('readyForQuery', (msg: { status: string }) => {
      this.txStatus = msg.status as TxStatus;
      // An answer: the server is not silent (statement_timeout bounds each statement's own time).
      this.silence?.refresh();
      // Outside its own BEGIN/ROLLBACK, the session must always be inside its read-only transaction.
      if (!this.inControl && this.txStatus === 'I') void this.readOnlyLost('the read-only transaction ended outside the session');
    });
    client.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      if (msg.parameterName === 'default_transaction_read_only' && msg.parameterValue !== 'on') {
        void this.readOnlyLost(`default_transaction_read_only changed to ${msg.parameterValue}`);
      }
    });
  }

  static async open(target: Target, password: string | undefined, ctx: SessionContext): Promise<PgSession> {
    // The allowlist decides on PostgreSQL's parse tree: the parser must be ready before any statement.
    await loadPgGuard();
    const ssl = tlsOptions(target);
    const where = `${target.host}:${target.port}`;
    const connect = async (sslOpt: TlsOption): Promise<pg.Client> => {
      const client = new pg.Client({
        host: target.host,
        port: target.port,
        user: target.user,
        ...(password === undefined ? {} : { password }),
        database: target.database,
        application_name: ctx.applicationName,
        ssl: sslOpt,
        connectionTimeoutMillis: target.connectTimeoutMs,
        statement_timeout: target.statementTimeoutMs,
        lock_timeout: target.lockTimeoutMs,
        idle_in_transaction_session_timeout: target.statementTimeoutMs * 2,
        options: '-c default_transaction_read_only=on',
        // Each statement still has its own Sync (its own error, its own ReadyForQuery), but is sent at once.
        pipeline: true,
      } as pg.ClientConfig);
      client.on('error', () => {});
      try {
        await client.connect();
        return client;
      } catch (err) {
        // end() never settles when connect() failed before a socket existed (node-postgres waits for an
        // 'end' that never comes): bounded, so a failed connect is this target's error and nothing more.
        await endWithin(client, 1000);
        throw err;
      }
    };
    let client: pg.Client;
    try {
      client = await connect(ssl);
    } catch (err) {
      const mode = target.tls?.mode ?? 'prefer';
      if (mode === 'prefer' && /does not support SSL/i.test((err as Error).message ?? '')) {
        try {
          client = await connect(false);
        } catch (err2) {
          throw mapPgConnectError(err2, where);
        }
      } else {
        throw mapPgConnectError(err, where);
      }
    }
    const session = new PgSession(client, target, ctx);
    try {
      session.versionNum = await session.beginReadOnly();
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** Sends transaction control (a fixed constant), audited, via the extended protocol. */
  private async control(sql: string): Promise<void> {
    this.inControl = true;
    try {
      await guardedQuery({
        audit: this.ctx.audit,
        targetId: this.target.id,
        engine: 'postgres',
        statement: sql,
        guard: () => {
          if (sql !== BEGIN_READ_ONLY && sql !== ROLLBACK) throw new ReadOnlyViolation('not a transaction control statement of the session');
        },
        refusedBecause: () => (this.closed ? 'closed' : undefined),
        send: () => this.roundTrip(extended(sql)),
        errorCode: (err) => (err as { code?: string }).code ?? 'client',
      });
    } finally {
      this.inControl = false;
    }
  }

  /** Opens a read-only transaction and verifies it with its first statement; returns server_version_num. */
  private async beginReadOnly(): Promise<number> {
    this.allStats = undefined;
    this.txFacts.clear();
    this.txSerial++;
    await this.control(BEGIN_READ_ONLY);
    // Sent as is: a verification that fails is never retried or recovered from (the session closes).
    const [ro] = await this.send<OpenRow>(PG_OPEN_SQL);
    if (ro?.tx_read_only !== 'on' || ro.default_read_only !== 'on') {
      await this.readOnlyLost(
        ro?.default_read_only !== 'on' ? 'the server did not accept default_transaction_read_only=on' : 'the transaction is not read-only',
      );
      throw new ReadOnlyViolation(this.lost ?? 'the session is not read-only');
    }
    if (typeof ro.all_stats === 'boolean') this.allStats = { full: ro.all_stats, user: ro.role_name };
    return ro.version_num;
  }

  /**
   * Whether the role sees every user's statistics (pg_read_all_stats), as the first
   * statement of the current verified transaction answered it; undefined outside a
   * verified transaction or when the server could not say (then ask it).
   */
  get readAllStats(): { full: boolean; user: string } | undefined {
    return this.closed || this.lost !== undefined || this.betweenCycles || this.txStatus !== 'T' ? undefined : this.allStats;
  }

  /**
   * A fact about the server (where an extension lives, say) asked at most once per
   * transaction: several signals of one cycle need it, and within one cycle's
   * transaction it is as fresh as asking again. `ask` runs when the current
   * verified transaction has not answered it yet; the answer is forgotten when the
   * transaction ends (the next cycle, or a failed statement's recovery, asks anew).
   */
  async factOfTransaction<T>(key: string, ask: () => Promise<T>): Promise<T> {
    const inVerifiedTx = (): boolean => !this.closed && this.lost === undefined && !this.betweenCycles && this.txStatus === 'T';
    // Signals read together ask together: the second joins the first's question.
    const known = inVerifiedTx() ? this.txFacts.get(key) : undefined;
    if (known !== undefined) return known as Promise<T>;
    const answer = ask();
    if (inVerifiedTx()) this.txFacts.set(key, answer);
    try {
      return await answer;
    } catch (err) {
      // Not an answer to keep. (A transaction replaced meanwhile has emptied the map already: the next one asks anew.)
      if (this.txFacts.get(key) === answer) this.txFacts.delete(key);
      throw err;
    }
  }

  /** Records why the session can no longer be trusted, and closes it: never reused. */
  private async readOnlyLost(why: string): Promise<void> {
    if (this.lost !== undefined) return;
    this.lost = why;
    this.ctx.audit.record({
      time: new Date().toISOString(),
      targetId: this.target.id,
      engine: 'postgres',
      statement: `(session check) ${why}`,
      durationMs: 0,
      outcome: 'refused',
      code: 'read_only_lost',
    });
    this.closed = true;
    await this.client.end().catch(() => {});
  }

  /** Why this session was closed for its read-only state, if it was. */
  get readOnlyLostReason(): string | undefined {
    return this.lost;
  }

  /** The driver's socket (pg keeps it on its connection; not in its types). */
  private get socket(): { cork?(): void; uncork?(): void; destroy(err?: Error): void } {
    return (this.client as unknown as { connection: { stream: { cork?(): void; uncork?(): void; destroy(err?: Error): void } } }).connection.stream;
  }

  /** Every statement the session sends: in the socket's current burst, counted as outstanding until answered. */
  private async roundTrip<R extends object = object>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    this.corkTurn();
    this.awaitAnswer();
    try {
      return await this.client.query<R>(config);
    } finally {
      this.answered();
    }
  }

  /** Corks the socket until this turn of the event loop ends: statements sent meanwhile leave in one write. */
  private corkTurn(): void {
    const stream = this.socket;
    if (this.corked || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
    this.corked = true;
    stream.cork();
    process.nextTick(() => {
      this.corked = false;
      stream.uncork?.();
    });
  }

  /**
   * The client-side backstop if the server stops answering altogether: while statements
   * are outstanding, every ReadyForQuery restarts the clock, and after statement_timeout
   * + 2 s without one the connection is cut (every outstanding statement then fails as a
   * timeout, and the session is closed). Measured from the last answer, not from when a
   * statement was sent: pipelined statements wait their turn on the server.
   */
  private awaitAnswer(): void {
    this.outstanding++;
    if (this.silence !== undefined) return;
    const ms = this.target.statementTimeoutMs + 2000;
    this.silence = setTimeout(() => {
      this.silence = undefined;
      this.closed = true;
      this.socket.destroy(new Error(`Query read timeout: no answer from the server for ${ms} ms`));
    }, ms);
  }

  private answered(): void {
    if (--this.outstanding > 0 || this.silence === undefined) return;
    clearTimeout(this.silence);
    this.silence = undefined;
  }

  /** One statement through the guarded, audited door, as it is: no recovery (query() adds it). */
  private send<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return guardedQuery({
      audit: this.ctx.audit,
      targetId: this.target.id,
      engine: 'postgres',
      statement: sql,
      guard: () => guardSql(sql),
      refusedBecause: () =>
        this.lost !== undefined ? 'read_only_lost' : this.closed ? 'closed' : this.txStatus !== 'T' ? 'not_in_read_only_transaction' : undefined,
      refusalError: (why) =>
        why === 'read_only_lost'
          ? new ReadOnlyViolation(`the session is closed: ${this.lost ?? why}`)
          : new Error(why === 'closed' ? 'the PostgreSQL session is closed and not queryable' : `the PostgreSQL session is ${why.replace(/_/g, ' ')}`),
      send: async () => (await this.roundTrip<R>(extended(sql, params))).rows,
      rows: (r) => r.length,
      errorCode: (err) => (err as { code?: string }).code ?? 'client',
    });
  }

  /**
   * Replaces transaction `serial` after a statement in it failed: ROLLBACK, then a new
   * verified read-only transaction. Once per transaction, however many of its statements
   * report the failure; without a verified transaction the session closes.
   */
  private recoverFrom(serial: number): Promise<void> {
    if (serial !== this.txSerial || this.closed || this.lost !== undefined) return this.recovery ?? Promise.resolve();
    if (this.recovery !== undefined && this.recoveryOf === serial) return this.recovery;
    this.recoveryOf = serial;
    const recovery: Promise<void> = (async () => {
      try {
        await this.control(ROLLBACK);
        await this.beginReadOnly();
      } catch {
        // Without a verified read-only transaction the session sends nothing more.
        await this.close();
      }
    })().finally(() => {
      if (this.recovery === recovery) this.recovery = undefined;
    });
    this.recovery = recovery;
    return recovery;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    for (let attempt = 0; ; attempt++) {
      // A failed transaction is replaced before anything else is sent: wait for that (or start it, when the
      // failure's ReadyForQuery came in before the statement's own error reached its reader).
      if (this.recovery !== undefined) await this.recovery;
      else if (this.txStatus === 'E' && !this.closed && this.lost === undefined) await this.recoverFrom(this.txSerial);
      const serial = this.txSerial;
      try {
        const rows = await this.send<R>(sql, params);
        if (this.lost !== undefined) throw new ReadOnlyViolation(`the session is closed: ${this.lost}`);
        return rows;
      } catch (err) {
        // A statement the server failed aborts its transaction: roll it back and verify a fresh one for the
        // next signal. (pg rejects on ErrorResponse, before the ReadyForQuery that reports the failed
        // transaction, so the server's error is the signal, not txStatus.)
        if (!(err instanceof pg.DatabaseError) || this.closed || this.lost !== undefined) throw err;
        await this.recoverFrom(serial);
        // 25P02: not this statement's failure but an earlier one's, pipelined ahead of it in the same
        // transaction. Sent again in the new one (a bounded number of times: each is a new transaction).
        if (err.code === '25P02' && attempt < 3 && !this.closed && this.lost === undefined) continue;
        throw err;
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Starts another cycle on a pooled session: a new READ ONLY transaction whose
   * first statement verifies transaction_read_only and default_transaction_read_only
   * again (the round trip is the health check). Whatever changed the session's
   * state between cycles (a pooler that handed over another backend, a SET sent
   * behind the agent's back, a terminated backend), the check fails, the session
   * is closed and recorded in the ledger, and nothing else is sent on it.
   */
  async beginCycle(): Promise<void> {
    if (this.closed || this.lost !== undefined) throw new Error('the PostgreSQL session is closed');
    // A session just opened is in its verified transaction already.
    if (!this.betweenCycles) return;
    try {
      this.versionNum = await this.beginReadOnly();
      this.betweenCycles = false;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Ends a pooled session's cycle: rolls the read-only transaction back (the next
   * cycle's statistics are read in a fresh snapshot, and no transaction stays
   * open between cycles). The session must then be idle; otherwise it is closed.
   */
  async endCycle(): Promise<void> {
    if (this.closed || this.lost !== undefined) throw new Error('the PostgreSQL session is closed');
    this.allStats = undefined;
    this.txFacts.clear();
    try {
      await this.control(ROLLBACK);
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.txStatus !== 'I' || this.closed) {
      await this.close();
      throw new Error('the PostgreSQL session did not return to idle after its cycle');
    }
    this.betweenCycles = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.outstanding > 0) {
      // Statements still unanswered (an abandoned cycle, a silent server): a ROLLBACK would queue behind
      // them, and pg's end() waits for a pipeline to drain. The connection is cut instead; the server
      // rolls the transaction back itself when it goes.
      this.closed = true;
      clearTimeout(this.silence);
      this.silence = undefined;
      this.socket.destroy();
      return;
    }
    // Ends the read-only transaction; there is nothing to undo.
    if (this.txStatus !== 'I') await this.control(ROLLBACK).catch(() => {});
    this.closed = true;
    await this.client.end().catch(() => {});
  }
}
