import type { CloudContext } from '../provider.js';
import { awsErrorCode } from './errors.js';

/** What a command is, for the ledger: the operation and what it reads, never a credential. */
export type Describe = (commandName: string, input: Record<string, unknown>) => string;

/** The minimal slice of a smithy middleware stack the ledger needs (each SDK client's `middlewareStack`). */
interface StackLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  add(middleware: any, options: { step: 'initialize'; name: string; override?: boolean }): void;
}

const countPoints = (output: unknown): number | undefined => {
  const results = (output as { MetricDataResults?: Array<{ Values?: unknown[] }> } | undefined)?.MetricDataResults;
  return results === undefined ? undefined : results.reduce((n, r) => n + (r.Values?.length ?? 0), 0);
};

/**
 * Records every AWS API call a client sends (retries included, one entry per
 * call) in the audit ledger, like every statement sent to a database: at the
 * initialize step, so the entry carries the final outcome and the provider's
 * error code, never its message (it can name principals and resources).
 */
export function auditPlugin(ctx: CloudContext, describe: Describe) {
  return {
    applyToStack(stack: StackLike): void {
      stack.add(
        (next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>, context: { commandName?: string }) =>
          async (args: { input: Record<string, unknown> }) => {
            const started = Date.now();
            const statement = describe(context.commandName?.replace(/Command$/, '') ?? 'AWS call', args.input);
            const base = { targetId: ctx.targetId, engine: 'aws', statement };
            try {
              const result = await next(args);
              const rows = countPoints(result.output);
              ctx.audit.record({
                time: new Date(started).toISOString(),
                ...base,
                durationMs: Date.now() - started,
                outcome: 'ok',
                ...(rows === undefined ? {} : { rows }),
              });
              return result;
            } catch (err) {
              ctx.audit.record({ time: new Date(started).toISOString(), ...base, durationMs: Date.now() - started, outcome: 'error', code: awsErrorCode(err) });
              throw err;
            }
          },
        { step: 'initialize', name: 'logstagAudit', override: true },
      );
    },
  };
}
