import { testCycleDeps } from './cycle.js';
import type { AuditEntry, AuditSink } from '../../collectors/core/audit.js';
import type { ChecklistItem, IdentityReport } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import { oracleGrantScript } from '../../collectors/oracle/grants.js';
import { createOracleCollector } from '../../collectors/oracle/index.js';
import { collectCycle } from '../../collectors/cycle.js';
import { FakeOracleDriver, type Identity } from './oracle-fake.js';

export function oracleTarget(user: string, extra: Record<string, unknown> = {}): Target {
  return TargetSchema.parse({
    id: 'ora-test',
    engine: 'oracle',
    host: 'db1.example.internal',
    port: 1521,
    user,
    service: 'salespdb',
    password: { env: 'ORA_PW' },
    ...extra,
  });
}

/** The SELECT grants a script actually applies (commented lines excluded), as the objects queries name. */
export function grantedBy(script: string): Set<string> {
  const objects = new Set<string>();
  for (const m of script.matchAll(/^GRANT SELECT ON SYS\.(\S+) TO /gm)) objects.add(m[1]!.replace(/^(G?V)_\$/, '$1$'));
  return objects;
}

/** A user with CREATE SESSION only, connected to a PDB of a 19c CDB. */
export const createSessionOnly: Identity = {
  user: 'LOGSTAG_LOW',
  conId: 3,
  conName: 'SALESPDB',
  version: '19.24.0.0.0',
  isDba: false,
  roles: [],
  privileges: ['CREATE SESSION'],
  readable: new Set(),
  containerDataAll: false,
};

/** The dedicated common user in CDB$ROOT of a 23ai CDB, with exactly what the recommended script grants. */
export function leastPrivileged(diagnosticsPack = false): Identity {
  const script = oracleGrantScript(oracleTarget('C##LOGSTAG_MONITOR', { oracle: { diagnosticsPack } }), 'all');
  return {
    user: 'C##LOGSTAG_MONITOR',
    conId: 1,
    conName: 'CDB$ROOT',
    version: '23.6.0.24.10',
    isDba: false,
    roles: [],
    privileges: ['CREATE SESSION'],
    readable: grantedBy(script),
    containerDataAll: true,
  };
}

/** An administrator of a 19c non-CDB: the DBA role and its system privileges. */
export const dbaUser: Identity = {
  user: 'DBADMIN',
  conId: 0,
  conName: 'ORCL',
  version: '19.24.0.0.0',
  isDba: false,
  roles: ['DBA', 'DATAPUMP_EXP_FULL_DATABASE', 'EXP_FULL_DATABASE', 'SELECT_CATALOG_ROLE'],
  privileges: [
    'ALTER SYSTEM',
    'CREATE SESSION',
    'GRANT ANY PRIVILEGE',
    'SELECT ANY DICTIONARY',
    'SELECT ANY TABLE',
    'DROP ANY TABLE',
    'CREATE USER',
    'ALTER USER',
  ],
  readable: 'all',
  containerDataAll: false,
};

export class MemoryAudit implements AuditSink {
  readonly entries: AuditEntry[] = [];
  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }
}

export interface OracleRun {
  payload: PayloadV1;
  identity: IdentityReport;
  items: ChecklistItem[];
  script: string;
  driver: FakeOracleDriver;
  audit: MemoryAudit;
}

/** One collection cycle plus the permission report, exactly as the agent's service runs them, over the fake driver. */
export async function runOracle(who: Identity, targetExtra: Record<string, unknown> = {}): Promise<OracleRun> {
  const driver = new FakeOracleDriver(who);
  const collector = createOracleCollector(driver);
  const target = oracleTarget(who.user, targetExtra);
  const audit = new MemoryAudit();
  const agent = { id: 'test-agent', version: '0.1.0', host: 'test' };
  const { payload, connectError } = await collectCycle(target, {
    collector: collector as never,
    password: 'pw',
    audit,
    agent,
    ...testCycleDeps(target),
  });
  if (connectError) throw connectError;
  const session = await collector.connect(target, 'pw', { audit, applicationName: 'logstag-agent/0.1.0' });
  try {
    const identity = await collector.identity(session);
    const items = await collector.checklist(session);
    const script = collector.grantScript(target, identity.isAdministrator ? 'all' : items);
    return { payload, identity, items, script, driver, audit };
  } finally {
    await session.close();
  }
}

export const statuses = (p: PayloadV1): Record<string, string> => Object.fromEntries(p.signals.map((s) => [s.id, s.status === 'ok' ? 'ok' : s.reason]));
