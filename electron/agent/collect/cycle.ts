import type { AuditSink } from '../../../collectors/core/audit.js';
import { type ClosableSession, type EngineCollector, TargetConnectError } from '../../../collectors/core/engine.js';
import { buildPayload, type PayloadV1 } from '../../../collectors/core/payload.js';
import { runSignals, type SignalOutcome } from '../../../collectors/core/runner.js';
import { unavailable } from '../../../collectors/core/signal.js';
import type { Target } from '../../../collectors/core/target.js';

export interface AgentIdentity {
  id: string;
  version: string;
  host: string;
}

export interface CycleDeps {
  collector: EngineCollector<ClosableSession>;
  password: string | undefined;
  audit: AuditSink;
  agent: AgentIdentity;
  onProgress?(done: number, total: number, signalId: string): void;
}

export interface CycleResult {
  payload: PayloadV1;
  /** Set when the target could not be connected to; every signal then says so. */
  connectError?: TargetConnectError;
  durationMs: number;
}

export const applicationName = (agent: AgentIdentity): string => `logstag-agent/${agent.version}`;

/** Opens a session with the engine's read-only adapter; the caller closes it. */
export function openSession(target: Target, deps: Pick<CycleDeps, 'collector' | 'password' | 'audit' | 'agent'>): Promise<ClosableSession> {
  return deps.collector.connect(target, deps.password, { audit: deps.audit, applicationName: applicationName(deps.agent) });
}

/**
 * One collection cycle for one target: connect, read every catalog signal, build
 * a validated v1 payload. A target that cannot be reached still yields a payload
 * in which every signal is unavailable with the reason, so a gap is visible and
 * never mistaken for "no activity".
 */
export async function collectCycle(target: Target, deps: CycleDeps): Promise<CycleResult> {
  const started = performance.now();
  const collectedAt = new Date();
  const { collector } = deps;
  let outcomes: SignalOutcome[];
  let connectError: TargetConnectError | undefined;
  let session: ClosableSession | undefined;
  try {
    session = await openSession(target, deps);
  } catch (err) {
    if (!(err instanceof TargetConnectError)) throw err;
    connectError = err;
  }
  if (session === undefined) {
    const reason = connectError?.kind === 'timeout' ? 'timeout' : 'error';
    const result = unavailable(reason, `target not collected: ${connectError?.message ?? 'no session'}`);
    outcomes = collector.catalog.map((spec) => ({ spec, result, durationMs: 0 }));
  } else {
    try {
      outcomes = await runSignals(collector.catalog, session, {
        timeoutMs: target.statementTimeoutMs + 3000,
        mapError: (e) => collector.mapSignalError(e),
        isOptedIn: (spec) => collector.isOptedIn?.(target, spec) ?? false,
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      });
    } finally {
      await session.close();
    }
  }
  const payload = buildPayload(
    { agent: deps.agent, target: { id: target.id, engine: target.engine, name: target.name ?? target.id }, collectedAt },
    outcomes,
  );
  return { payload, ...(connectError ? { connectError } : {}), durationMs: performance.now() - started };
}
