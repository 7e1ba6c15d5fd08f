import type { AuditSink } from './core/audit.js';
import { auditCycle } from './core/audit-cycle.js';
import { type ClosableSession, type EngineCollector, TargetConnectError } from './core/engine.js';
import { type AgentIdentity, buildPayload, type PayloadV1 } from './core/payload.js';
import type { EffectivePolicy } from './core/policy.js';
import { annotate, applyPolicy, type FieldAnnotation, needsNameKey, type RedactionContext } from './core/redact/apply.js';
import { NameHasher } from './core/redact/names.js';
import { runSignals, type SignalOutcome } from './core/runner.js';
import type { TargetMemory, TargetMemoryStore } from './core/memory.js';
import { type Family, optionalSignalsOf, unavailable } from './core/signal.js';
import { DEFAULT_FULL_EVERY_SECONDS, describeSchedule, dueFamilies, periodsOf, type SignalStatus } from './core/schedule.js';
import { Shipping } from './core/incremental.js';
import type { Target } from './target.js';
import type { Refusal } from './core/egress-guard.js';
import type { SessionLease } from './core/session-lease.js';

export type { AgentIdentity };

export interface CycleDeps {
  collector: EngineCollector<ClosableSession, Target>;
  password: string | undefined;
  audit: AuditSink;
  agent: AgentIdentity;
  /** The policy of this cycle, fixed when it starts: a change applies from the next cycle. */
  policy: EffectivePolicy;
  /** The per-agent name key; asked for only when the policy redacts names. */
  nameKey(): Promise<Uint8Array>;
  /** Per-target state between cycles (slow-log cursors); without it every cycle is a first cycle. */
  memory?: TargetMemoryStore;
  onProgress?(done: number, total: number, signalId: string): void;
  /** The cloud binding's secret, resolved only when the target has a binding. */
  cloudSecret?(): Promise<string | undefined>;
  /** Refusals of the cloud clients' egress guard (status, log). */
  onCloudRefusal?(r: Refusal): void;
  /**
   * Sessions kept across cycles (the run loop's pool): the session is taken from
   * it and given back. Without it the cycle opens a session and closes it
   * (preview, `collect --once`).
   */
  sessions?: SessionLease;
  /**
   * The run loop's time for this cycle: which families are due is decided against it.
   * Without it (a preview, collect now, `collect --once`) every family is read: the
   * operator asked to see the target, and such a cycle never moves the schedule.
   */
  now?: Date;
  /**
   * The tick this cycle serves (at or before `now`): which families are due, and the time they are
   * recorded as shipped, are reckoned from it, so a cycle that waited for a slot keeps its target's
   * phase. `collectedAt` stays `now`: rates are computed from when the values were read.
   */
  slotAt?: Date;
  /** The interval the run loop collects this target at (its run config may differ from the target's own). */
  intervalSeconds?: number;
  /** Every family is due: the run loop's first cycle of a target after the agent starts or the target is edited (default: when `now` is not given). */
  allDue?: boolean;
}

export interface CycleResult {
  /** The final payload: what the shipper sends and the preview shows, byte for byte (serializePayload). */
  payload: PayloadV1;
  /** Every field of every signal with its category and the action applied. */
  readonly annotations: FieldAnnotation[];
  policy: EffectivePolicy;
  /** Set when the target could not be connected to; every signal then says so. */
  connectError?: TargetConnectError;
  /** Signals whose absence does not make the setup incomplete (opt-ins, optional grants): see setupGaps. */
  optionalSignals?: readonly string[];
  /**
   * Every signal's status as last read, families not due this cycle included
   * (schedule.ts latestSignals): what the target's health counts. Set by the
   * agent (TargetOperations), which remembers the previous cycles.
   */
  latest?: readonly SignalStatus[];
  /** No family of the target was due on this tick (the run loop wakes at the periods' common divisor): nothing was read, and the payload is not shipped. */
  idle?: true;
  /** Each family's period for this target (the window and `check` show it). */
  schedule?: ReturnType<typeof describeSchedule>;
  durationMs: number;
  /**
   * Makes the state this cycle advanced (e.g. the last slow-log entry shipped)
   * durable. Call it once the payload is safely stored (outbox, spool); a cycle
   * that is never committed — a preview, `collect --once` — leaves the next
   * cycle to read the same entries again.
   */
  commitMemory(): Promise<void>;
}

export const applicationName = (agent: AgentIdentity): string => `logstag-agent/${agent.version}`;

/** Opens a session with the engine's read-only adapter; the caller closes it. */
export function openSession(
  target: Target,
  deps: Pick<CycleDeps, 'collector' | 'password' | 'audit' | 'agent'>,
  memory?: TargetMemory,
): Promise<ClosableSession> {
  return deps.collector.connect(target, deps.password, {
    audit: deps.audit,
    applicationName: applicationName(deps.agent),
    ...(memory === undefined ? {} : { memory }),
  });
}

/**
 * One collection cycle for one target: connect, read the catalog signals whose
 * family is due at `deps.now` (collectors/core/schedule.ts; each read told the policy), apply the policy and build the validated v1 payload —
 * once. A target that cannot be reached still yields a payload in which every
 * signal is unavailable with the reason, so a gap is visible and never mistaken
 * for "no activity".
 */
export function collectCycle(target: Target, deps: CycleDeps): Promise<CycleResult> {
  // Every statement of this cycle, on whatever session, is recorded in the ledger as one cycle.
  return auditCycle(() => collectOneCycle(target, deps));
}

async function collectOneCycle(target: Target, deps: CycleDeps): Promise<CycleResult> {
  const started = performance.now();
  const collectedAt = deps.now ?? new Date();
  const { collector, policy } = deps;
  // Before connecting: without the key, redacted names could not leave, so nothing is read.
  const redaction: RedactionContext = {
    policy,
    engine: target.engine,
    ...(needsNameKey(policy) ? { names: new NameHasher(await deps.nameKey()) } : {}),
  };
  let outcomes: SignalOutcome[];
  let connectError: TargetConnectError | undefined;
  let session: ClosableSession | undefined;
  const memory = deps.memory === undefined ? undefined : await deps.memory.load(target.id);
  // Only the families that are due are read; the payload lists them, so a family left out is never mistaken for a gap.
  const scheduleMs = (deps.slotAt ?? collectedAt).getTime();
  const shipping = new Shipping(memory, {
    nowMs: scheduleMs,
    fullEveryMs: (target.schedule?.fullEverySeconds ?? DEFAULT_FULL_EVERY_SECONDS) * 1000,
  });
  shipping.collectedAt = collectedAt.toISOString();
  const due = dueFamilies(
    periodsOf(deps.intervalSeconds ?? target.intervalSeconds, target.schedule),
    (deps.allDue ?? deps.now === undefined) ? {} : shipping.shippedAt,
    scheduleMs,
  );
  const catalog = collector.catalog.filter((s) => due.includes(s.family));
  // Signals read only to tell whether a delta signal's counters were reset (a restart, a statistics reset): not shipped.
  const companions = Shipping.companions(collector.catalog, catalog);
  // The provider's metrics are read alongside the database (another host, another connection), and whether
  // or not the database answers: an unreachable database with its provider's CPU at 100% is the point.
  const cloudRead = target.cloud === undefined || !due.includes('cloud') ? Promise.resolve(undefined) : readCloud(target, target.cloud, deps, policy);
  // Settled below; a failure on the database side must not leave it unhandled meanwhile.
  cloudRead.catch(() => {});
  // A tick on which only families this engine has no signal for are due (cloud, slowlog) does not log in.
  const needSession = catalog.length + companions.length > 0;
  // Nothing of this target is due on this tick: nothing is read, shipped or remembered.
  const idle = catalog.length === 0 && !(target.cloud !== undefined && due.includes('cloud'));
  try {
    if (needSession)
      session =
        deps.sessions === undefined
          ? await openSession(target, deps, memory)
          : await deps.sessions.acquire(target, deps.password, () => openSession(target, deps, memory), memory);
  } catch (err) {
    if (!(err instanceof TargetConnectError)) throw err;
    connectError = err;
  }
  if (!needSession) {
    outcomes = [];
  } else if (session === undefined) {
    const reason = connectError?.kind === 'timeout' ? 'timeout' : 'error';
    const result = unavailable(reason, `target not collected: ${connectError?.message ?? 'no session'}`);
    outcomes = catalog.map((spec) => ({ spec, result, durationMs: 0 }));
  } else {
    // A cycle that saw a timeout or threw does not leave its session to the next cycle.
    let clean = false;
    try {
      outcomes = await runSignals([...catalog, ...companions], session, {
        timeoutMs: target.statementTimeoutMs + 3000,
        mapError: (e) => collector.mapSignalError(e),
        policy,
        // The operator's per-target confirmations (e.g. Oracle's Diagnostics Pack licence); off unless the engine says so.
        isOptedIn: (spec) => collector.optedIn?.(target, spec) ?? false,
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      });
      clean = !outcomes.some((o) => o.result.status === 'unavailable' && o.result.reason === 'timeout');
    } finally {
      if (deps.sessions === undefined) await session.close();
      else await deps.sessions.release(target, session, clean);
    }
  }
  shipping.noteEpochs(catalog, outcomes);
  const companionIds = new Set(companions.map((s) => s.id));
  outcomes = outcomes.filter((o) => !companionIds.has(o.spec.id));
  const cloud = await cloudRead;
  if (cloud !== undefined) outcomes = [...outcomes, ...cloud.outcomes];
  const payload = buildPayload(
    {
      agent: deps.agent,
      target: { id: target.id, engine: target.engine, name: target.name ?? target.id },
      collectedAt,
      sequence: shipping.sequence,
      families: due,
      incremental: (signal, spec) => shipping.transform(signal, spec),
    },
    outcomes,
    (spec, value) => applyPolicy(spec, value, redaction),
  );
  // Families read on a live session count as collected (cloud: when its read ran); an unreachable target stays due.
  const collected: Family[] = due.filter((f) => (f === 'cloud' ? target.cloud === undefined || cloud !== undefined : connectError === undefined));
  if (!idle) shipping.record(payload, collected);
  const store = deps.memory;
  // Made when asked (the preview and the window ask; the run loop never does): at 1,000 targets an
  // annotation list per cycle was a steady share of the agent's allocation.
  let annotations: FieldAnnotation[] | undefined;
  return {
    payload,
    get annotations(): FieldAnnotation[] {
      return (annotations ??= annotate([...collector.catalog, ...(cloud?.catalog ?? [])], policy));
    },
    policy,
    ...(connectError ? { connectError } : {}),
    optionalSignals: optionalSignalsOf(collector.catalog, collector.optionalGrants ?? []),
    schedule: describeSchedule(deps.intervalSeconds ?? target.intervalSeconds, target.schedule),
    durationMs: performance.now() - started,
    ...(idle ? { idle: true } : {}),
    commitMemory: () => (idle || store === undefined || memory === undefined ? Promise.resolve() : store.commit(target.id, memory)),
  };
}

async function readCloud(target: Target, binding: NonNullable<Target['cloud']>, deps: CycleDeps, policy: EffectivePolicy) {
  const { collectCloud } = await import('./cloud/cycle.js');
  return collectCloud(binding, {
    targetId: target.id,
    engine: target.engine,
    audit: deps.audit,
    policy,
    secret: deps.cloudSecret ?? (() => Promise.resolve(undefined)),
    ...(deps.onCloudRefusal ? { onRefuse: deps.onCloudRefusal } : {}),
  });
}
