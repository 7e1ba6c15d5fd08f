// Issue 18 for Oracle: every attack class, through the real OracleSession against the
// recorded fake; none may reach the driver.
import { describe, expect, it } from 'vitest';
import { ReadOnlyViolation } from '../../collectors/core/read-only.js';
import { ORACLE_ATTACKS } from '../helpers/oracle-attacks.js';
import { dbaUser, MemoryAudit, oracleTarget } from '../helpers/oracle.js';
import { FakeOracleDriver } from '../helpers/oracle-fake.js';
import { OracleSession } from '../../collectors/oracle/session.js';

describe('Oracle read-only by construction', () => {
  it(`none of ${ORACLE_ATTACKS.length} attacks is sent: each is refused and audited as refused (Diagnostics Pack confirmed, the widest guard)`, async () => {
    expect(ORACLE_ATTACKS.length).toBeGreaterThanOrEqual(200);
    // A DBA on the fake: nothing on the server side would stop a write.
    const driver = new FakeOracleDriver(dbaUser);
    const audit = new MemoryAudit();
    const s = await OracleSession.open(driver, oracleTarget(dbaUser.user, { oracle: { diagnosticsPack: true } }), 'pw', {
      audit,
      applicationName: 'logstag-agent/0.1.0',
    });
    const sentBefore = [...driver.statements];
    const passed: string[] = [];
    for (const { sql } of ORACLE_ATTACKS) {
      const err = await s.query(sql).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof ReadOnlyViolation)) passed.push(sql);
    }
    expect(passed).toEqual([]);
    expect(driver.statements).toEqual(sentBefore);
    expect(driver.connections.flatMap((c) => c.writes)).toEqual([]);
    expect(audit.entries.filter((e) => e.outcome === 'refused').length).toBe(ORACLE_ATTACKS.length);
    await s.close();
  });
});
