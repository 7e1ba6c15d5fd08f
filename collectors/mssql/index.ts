import type { Target } from '../target.js';
import type { EngineCollector } from '../core/engine.js';
import { mssqlCatalog } from './catalog.js';
import { type ConnectDriver, connectWithMssql } from './driver.js';
import { mapMssqlSignalError } from './errors.js';
import { mssqlChecklist, mssqlGrantScript, mssqlIdentity } from './grants.js';
import { MssqlSession } from './session.js';

/** The collector over a given driver: the real mssql pool in production, a recorded fake in tests. */
export function createMssqlCollector(connect: ConnectDriver = connectWithMssql): EngineCollector<MssqlSession, Target> {
  return {
    engine: 'mssql',
    catalog: mssqlCatalog,
    connect: (target, password, ctx) => MssqlSession.open(target, password, ctx, connect),
    mapSignalError: mapMssqlSignalError,
    identity: mssqlIdentity,
    checklist: mssqlChecklist,
    grantScript: mssqlGrantScript,
  };
}

export const mssqlCollector = createMssqlCollector();
