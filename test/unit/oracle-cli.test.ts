import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { PayloadV1Schema } from '../../collectors/core/payload.js';
import type { OracleDriver } from '../../collectors/oracle/driver.js';
import { runCli, type Io } from '../../agent/cli/main.js';
import { freePort } from '../harness/util.js';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';
import { FakeOracleDriver, oracleError } from '../helpers/oracle-fake.js';
import { createSessionOnly, dbaUser, leastPrivileged } from '../helpers/oracle.js';

// The CLI's own code path end to end, with node-oracledb replaced by the fake Connection.
const driver = vi.hoisted(() => ({ current: undefined as OracleDriver | undefined }));
vi.mock('../../collectors/oracle/driver.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../collectors/oracle/driver.js')>();
  return {
    ...real,
    oracledbDriver: {
      outFormatObject: real.oracledbDriver.outFormatObject,
      getConnection: (attrs: Parameters<OracleDriver['getConnection']>[0]) => driver.current!.getConnection(attrs),
    },
  };
});

const target = (extra: Record<string, unknown> = {}) =>
  jsonFile({
    id: 'ora-1',
    engine: 'oracle',
    host: 'db1.example.internal',
    port: 1521,
    user: 'C##LOGSTAG_MONITOR',
    service: 'salespdb',
    password: { env: 'ORA_PW' },
    ...extra,
  });

async function cli(args: string[], fake: FakeOracleDriver): Promise<{ code: number; out: string; err: string }> {
  driver.current = fake;
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    stdin: async () => '',
    env: { LOGSTAG_HOME: mkdtempSync(join(tmpdir(), 'lsa-ora-')), ORA_PW: 'monitor-pw' },
    isTTY: false,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('logstag-agent with an Oracle target (fake driver)', () => {
  it('check: the least-privileged identity passes, with the licence reported as not confirmed', async () => {
    const r = await cli(['check', '--target', target()], new FakeOracleDriver(leastPrivileged()));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/as C##LOGSTAG_MONITOR, server Oracle 23\.6\.0\.24\.10 \(CDB\$ROOT\)/);
    expect(r.out).toMatch(/Administrator: no/);
    expect(r.out).toMatch(/\[not_licensed\] Oracle Diagnostics Pack licence/);
    expect(r.out).not.toMatch(/\[missing\]/);
  });

  it('check flags a DBA; grants prints the dedicated-identity script', async () => {
    const check = await cli(['check', '--target', target({ user: 'DBADMIN' })], new FakeOracleDriver(dbaUser));
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/WARNING: DBADMIN is an administrator \(has role DBA;/);
    const grants = await cli(['grants', '--target', target({ user: 'DBADMIN' })], new FakeOracleDriver(dbaUser));
    expect(grants.code).toBe(0);
    expect(grants.out).toMatch(/^CREATE USER C##LOGSTAG_MONITOR/m);
    expect(grants.out).toMatch(/^GRANT SELECT ON SYS\.V_\$SESSION TO C##LOGSTAG_MONITOR CONTAINER=ALL;$/m);
  });

  it('SYS is refused like a failed login (exit 3) and grants then prints the dedicated-identity script', async () => {
    const check = await cli(['check', '--target', target({ user: 'SYS' })], new FakeOracleDriver(dbaUser));
    expect(check.code).toBe(3);
    expect(check.err).toMatch(/does not log in as SYS/);
    const grants = await cli(['grants', '--target', target({ user: 'SYS' })], new FakeOracleDriver(dbaUser));
    expect(grants.code).toBe(0);
    expect(grants.out).toMatch(/^CREATE USER C##LOGSTAG_MONITOR/m);
  });

  it('grants for a CREATE SESSION-only user lists exactly the missing SELECT grants', async () => {
    const r = await cli(['grants', '--target', target({ user: 'LOGSTAG_LOW' })], new FakeOracleDriver(createSessionOnly));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^GRANT SELECT ON SYS\.V_\$SQLSTATS TO LOGSTAG_LOW;$/m);
    expect(r.out).not.toMatch(/^GRANT SELECT ON SYS\.V_\$ACTIVE_SESSION_HISTORY/m);
  });

  it('collect --once prints a valid v1 payload; ASH/AWR are not_licensed until confirmed, then collected', async () => {
    const off = await cli(['collect', '--once', '--json', '--target', target()], new FakeOracleDriver(leastPrivileged()));
    expect(off.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(off.out));
    expect(p.target).toEqual({ id: 'ora-1', engine: 'oracle', name: 'ora-1' });
    expect(p.signals.find((s) => s.id === 'oracle.ash_activity')).toMatchObject({ status: 'unavailable', reason: 'not_licensed' });
    expect(p.signals.find((s) => s.id === 'oracle.sessions')?.status).toBe('ok');
    const licensed = new FakeOracleDriver(leastPrivileged(true));
    const on = await cli(['collect', '--once', '--json', '--target', target({ oracle: { diagnosticsPack: true } })], licensed);
    expect(on.code).toBe(0);
    expect(PayloadV1Schema.parse(JSON.parse(on.out)).signals.find((s) => s.id === 'oracle.ash_activity')?.status).toBe('ok');
  });

  it('authentication failure (ORA-01017) exits 3 with one line; a bad licence field exits 2', async () => {
    const auth = await cli(['collect', '--once', '--target', target()], new FakeOracleDriver(leastPrivileged(), oracleError('ORA-01017')));
    expect(auth.code).toBe(3);
    expect(auth.err).toMatch(/^error: db1\.example\.internal:1521\/salespdb: authentication failed \(ORA-01017/);
    expect(auth.err).not.toContain('monitor-pw');
    const bad = await cli(['check', '--target', target({ oracle: { diagnosticsPack: 'yes' } })], new FakeOracleDriver(leastPrivileged()));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/oracle\.diagnosticsPack/);
  });
});

describe('logstag-agent with an Oracle target (the built CLI and the real node-oracledb Thin driver)', () => {
  it('an unreachable listener exits 3 with one line; grants then prints the full script', async () => {
    const port = await freePort(); // nothing listens there
    const file = target({ host: '127.0.0.1', port, connectTimeoutMs: 3000 });
    const r = await runAgentCli(['check', '--target', file], { env: { ORA_PW: 'x' } });
    expect(r.code).toBe(3);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/127\.0\.0\.1:\d+\/salespdb: NJS-50[13]/);
    const g = await runAgentCli(['grants', '--target', file], { env: { ORA_PW: 'x' } });
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/^CREATE USER C##LOGSTAG_MONITOR/m);
  });
});
