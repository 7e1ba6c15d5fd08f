import { testCycleDeps } from './cycle.js';
import type { AuditEntry, AuditSink } from '../../collectors/core/audit.js';
import type { ChecklistItem, IdentityReport } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { type Target, TargetSchema, type TargetInput } from '../../collectors/target.js';
import { createMssqlCollector } from '../../collectors/mssql/index.js';
import { collectCycle } from '../../collectors/cycle.js';
import type { FakeSqlServer } from './mssql-fake.js';

export class MemoryAudit implements AuditSink {
  readonly entries: AuditEntry[] = [];
  record(e: AuditEntry): void {
    this.entries.push(e);
  }
}

export function mssqlTarget(extra: Partial<TargetInput> = {}): Target {
  return TargetSchema.parse({
    id: 'sql-1',
    engine: 'mssql',
    host: 'sql01.internal',
    port: 1433,
    user: 'monitor',
    database: 'app',
    password: { env: 'PW' },
    ...extra,
  });
}

export const AGENT = { id: 'test-agent', version: '0.1.0', host: 'test' };

export interface FakeRun {
  payload: PayloadV1;
  identity: IdentityReport;
  items: ChecklistItem[];
  script: string;
  audit: MemoryAudit;
}

/** What `collect --once` and `check` do, in process, against a fake server: one cycle, then identity + checklist + script. */
export async function runAgainst(fake: FakeSqlServer, target: Target = mssqlTarget({ user: fake.o.identity.login })): Promise<FakeRun> {
  const collector = createMssqlCollector(fake.connect);
  const audit = new MemoryAudit();
  const { payload, connectError } = await collectCycle(target, { collector, password: 'pw', audit, agent: AGENT, ...testCycleDeps(target) });
  if (connectError) throw connectError;
  const session = await collector.connect(target, 'pw', { audit, applicationName: 'logstag-agent/0.1.0' });
  try {
    const identity = await collector.identity(session);
    const items = await collector.checklist(session);
    const script = collector.grantScript(target, identity.isAdministrator ? 'all' : items);
    return { payload, identity, items, script, audit };
  } finally {
    await session.close();
  }
}

export const statuses = (p: PayloadV1): Record<string, string> => Object.fromEntries(p.signals.map((s) => [s.id, s.status === 'ok' ? 'ok' : s.reason]));

export const signal = <T = unknown>(p: PayloadV1, id: string): { status: string; value: T; reason?: string; fix?: string; detail?: string } => {
  const s = p.signals.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no signal ${id}`);
  return s as never;
};
