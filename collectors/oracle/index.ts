import type { Target } from '../target.js';
import type { EngineCollector } from '../core/engine.js';
import { oracleCatalog } from './catalog.js';
import { type OracleDriver, oracledbDriver } from './driver.js';
import { mapOracleSignalError } from './errors.js';
import { oracleChecklist, oracleGrantScript, oracleIdentity } from './grants.js';
import { diagnosticsPackConfirmed, OracleSession } from './session.js';

/** The Oracle collector over a driver: node-oracledb (Thin mode) in production, a fake Connection in tests. */
export function createOracleCollector(driver: OracleDriver): EngineCollector<OracleSession, Target> {
  return {
    engine: 'oracle',
    catalog: oracleCatalog,
    connect: (target, password, ctx) => OracleSession.open(driver, target, password, ctx),
    // The only opt-in signals are the Diagnostics Pack ones (ASH/AWR).
    optedIn: (target, spec) => spec.optIn === 'license' && diagnosticsPackConfirmed(target),
    mapSignalError: mapOracleSignalError,
    identity: oracleIdentity,
    checklist: oracleChecklist,
    grantScript: oracleGrantScript,
  };
}

export const oracleCollector = createOracleCollector(oracledbDriver);
