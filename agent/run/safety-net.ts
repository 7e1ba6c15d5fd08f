/**
 * Fault isolation's last line. A target's failures are normally its own cycle's
 * `error`/`timeout` result (RunLoop.runCycle catches what a collector throws or
 * rejects; the scheduler abandons a hung cycle at its timeout). What can still
 * escape is a driver's asynchronous fault outside any awaited promise: an
 * 'error' event emitted on an object nobody listens to, a throw in a socket
 * callback, a rejected promise nobody awaits. By default Node ends the process
 * on those, and every target goes dark with it.
 *
 * Choice: log and keep running. Such a fault belongs to one target's driver
 * objects (its session is abandoned with its cycle); the agent's own state
 * cannot be left half-written by it, because every durable write is atomic
 * (the spool appends and fsyncs whole records, state files are replaced by
 * rename) and the run loop's bookkeeping is synchronous. So the other targets
 * keep their schedule, and the line names the target when the fault happened
 * inside one target's cycle (the cycle runs in an async context that carries
 * its id, inherited by every callback its driver schedules).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { oneLine } from '../../collectors/core/text.js';

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` as the work of target `id`: whatever escapes from it later is reported under that id. */
export function asTarget<T>(id: string, fn: () => T): T {
  return scope.run(id, fn);
}

/** The target whose work is running now, if any. */
export const currentTarget = (): string | undefined => scope.getStore();

/** The one line for a fault that escaped (the message only: a stack trace is for LOGSTAG_DEBUG=1). */
export function escapedFaultLine(err: unknown, target: string | undefined = currentTarget()): string {
  const message = oneLine(err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err));
  return target === undefined
    ? `internal error (the agent keeps running): ${message}`
    : `${target}: driver fault outside its cycle (the agent keeps running; the target is retried at its next cycle): ${message}`;
}

let installed: ((err: unknown) => void) | undefined;

/**
 * Installs the process-level net once: uncaught exceptions and unhandled
 * rejections become one line through `log` and the process carries on.
 */
export function installSafetyNet(log: (line: string, err: unknown) => void): void {
  if (installed !== undefined) return;
  installed = (err: unknown) => {
    try {
      log(escapedFaultLine(err), err);
    } catch {
      // Logging itself failed (stderr closed): nothing more can be done, and nothing must throw from here.
    }
  };
  process.on('uncaughtException', installed);
  process.on('unhandledRejection', installed);
}
