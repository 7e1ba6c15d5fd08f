import { AsyncLocalStorage } from 'node:async_hooks';
import { type Command, Redis, type RedisOptions } from 'ioredis';
import { checkCommand, CommandRefused } from './guard.js';

/**
 * Enforces the allowlist inside ioredis itself. Every ioredis connection writes
 * commands through Redis#sendCommand: our own reads, and those ioredis sends on
 * its own (AUTH/HELLO, CLIENT SETNAME and, in cluster mode, CLUSTER SLOTS from a
 * refresher connection it duplicates; in sentinel mode, SENTINEL lookups on
 * connections it creates). Checking there, not only in RedisSession#command,
 * means nothing any connection of the agent sends can bypass the allowlist or
 * the audit ledger. The agent process is the only ioredis user, so the hook is
 * installed on the prototype once.
 */

export interface CommandRecord {
  statement: string;
  outcome: 'ok' | 'error' | 'refused';
  durationMs: number;
  /** The error prefix (NOPERM, ERR, …) or the refusal; never a message, which can echo arguments. */
  code?: string;
}

export interface CommandObserver {
  record(entry: CommandRecord): void;
}

/**
 * The observer travels in the connection options: ioredis copies them into
 * cluster node connections and duplicated connections. Connections it builds
 * from scratch (Sentinel lookups) find it in the async context of connect().
 */
const OBSERVER_OPTION = 'logstagObserver';
const ambient = new AsyncLocalStorage<CommandObserver>();

export function observedOptions<O extends object>(observer: CommandObserver, options: O): O {
  return { ...options, [OBSERVER_OPTION]: observer };
}

export function withObserver<T>(observer: CommandObserver, work: () => T): T {
  return ambient.run(observer, work);
}

/** First word of a Redis error reply ('NOPERM', 'ERR', 'WRONGPASS', …), else a driver/network code. */
export function errorCode(err: unknown): string {
  if (err instanceof CommandRefused) return 'allowlist';
  const e = err as { name?: string; message?: string; code?: unknown };
  if (e?.name === 'ReplyError' && typeof e.message === 'string') return /^[A-Z][A-Z_-]*/.exec(e.message)?.[0] ?? 'ERR';
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.message === 'string' && /timed out/i.test(e.message)) return 'timeout';
  return 'client';
}

type SendCommand = (this: Redis, command: Command, stream?: unknown) => unknown;
let installed = false;

export function installCommandGuard(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as { sendCommand: SendCommand };
  const send = proto.sendCommand;
  // ioredis may pass one command through sendCommand again (offline queue, resend); record it once.
  const recorded = new WeakSet<Command>();
  proto.sendCommand = function guardedSendCommand(this: Redis, command: Command, stream?: unknown): unknown {
    const observer = ((this.options as RedisOptions & Record<string, unknown>)[OBSERVER_OPTION] as CommandObserver | undefined) ?? ambient.getStore();
    const first = !recorded.has(command);
    recorded.add(command);
    let statement: string;
    try {
      statement = checkCommand(command.name, command.args).statement;
    } catch (err) {
      if (!(err instanceof CommandRefused)) throw err;
      if (first) observer?.record({ statement: err.statement, outcome: 'refused', durationMs: 0, code: 'allowlist' });
      command.reject(err);
      return command.promise;
    }
    if (first && observer !== undefined) {
      const started = performance.now();
      const ms = (): number => Math.round((performance.now() - started) * 1000) / 1000;
      command.promise.then(
        () => observer.record({ statement, outcome: 'ok', durationMs: ms() }),
        (err: unknown) => observer.record({ statement, outcome: 'error', durationMs: ms(), code: errorCode(err) }),
      );
    }
    return send.call(this, command, stream);
  };
}
