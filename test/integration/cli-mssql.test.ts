import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/util.js';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';

/** SQL Server targets through the real CLI and the real mssql/tedious driver; no server listens on the port. */
async function target(extra: Record<string, unknown> = {}) {
  const port = await freePort();
  const file = jsonFile({
    id: 'sql-main',
    engine: 'mssql',
    host: '127.0.0.1',
    port,
    user: 'logstag_monitor',
    database: 'app',
    password: { env: 'LSA_MSSQL_PASSWORD' },
    connectTimeoutMs: 2000,
    ...extra,
  });
  return { file, env: { LSA_MSSQL_PASSWORD: 'not-a-real-password' } };
}

describe('CLI with a SQL Server target', () => {
  it('check and collect --once: an unreachable server exits 3 with one line naming the address', async () => {
    const t = await target();
    for (const args of [
      ['check', '--target', t.file],
      ['collect', '--once', '--target', t.file],
    ]) {
      const r = await runAgentCli(args, { env: t.env });
      expect(r.code, args.join(' ')).toBe(3);
      expect(isOneLineError(r.stderr)).toBe(true);
      expect(r.stderr).toMatch(/127\.0\.0\.1:\d+: unreachable/);
      expect(r.stderr).not.toContain('not-a-real-password');
      expect(r.stdout).toBe('');
    }
  });

  it('grants without a reachable server prints the dedicated, version-aware login script (exit 0)', async () => {
    const t = await target();
    const r = await runAgentCli(['grants', '--target', t.file], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: could not connect/);
    expect(r.stdout).toContain('CREATE LOGIN [logstag_monitor]');
    expect(r.stdout).toContain('GRANT VIEW ANY DEFINITION TO [logstag_monitor];');
    expect(r.stdout).toMatch(
      /EXEC \(N'GRANT VIEW SERVER PERFORMANCE STATE TO \[logstag_monitor\];'\);\nELSE\n {4}GRANT VIEW SERVER STATE TO \[logstag_monitor\];/,
    );
  });

  it('configuration the driver cannot honour is bad input (exit 2), before any connection', async () => {
    const ca = await target({ tls: { mode: 'verify-ca', caFile: '/etc/hostname' } });
    const r = await runAgentCli(['check', '--target', ca.file], { env: ca.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: tls\.mode verify-ca is not available for SQL Server/);
    const misplaced = await target({ engine: 'postgres', mssql: { readOnlyIntent: true } });
    const r2 = await runAgentCli(['check', '--target', misplaced.file], { env: misplaced.env });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/mssql: applies to mssql targets only, not postgres/);
  });
});
