import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The collection cycle a statement belongs to. A cycle runs inside
 * `auditCycle(fn)`; every statement any session sends while `fn` runs (however
 * long the session itself lives) is recorded against that one cycle, so the
 * ledger can keep each cycle as one compact record. Statements sent outside a
 * cycle (check, test connection) are grouped by the ledger on its own.
 */
export interface AuditCycleScope {
  /** Cycle number per ledger and target, assigned by the ledger on the first statement. */
  readonly ids: Map<object, Map<string, number>>;
}

const cycleScope = new AsyncLocalStorage<AuditCycleScope>();

/** Runs one collection cycle: the statements it sends are recorded as one cycle. */
export function auditCycle<T>(fn: () => Promise<T>): Promise<T> {
  return cycleScope.run({ ids: new Map() }, fn);
}

/** The cycle the current statement belongs to, if it is sent inside `auditCycle`. */
export function currentAuditCycle(): AuditCycleScope | undefined {
  return cycleScope.getStore();
}
