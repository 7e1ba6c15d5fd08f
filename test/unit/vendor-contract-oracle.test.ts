import { describe, expect, it } from 'vitest';
import { leastPrivileged, runOracle } from '../helpers/oracle.js';

const containers = (p: { signals: { id: string; value?: unknown }[] }) =>
  p.signals.find((s) => s.id === 'oracle.containers') as unknown as { status: string; value: Array<{ name: string; open_at: string }> };

describe('oracle.containers.open_at (V$CONTAINERS.OPEN_TIME is TIMESTAMP(3), no time zone)', () => {
  it.each([
    ['agent west of the database host', '+02:00', '-05:00'],
    ['agent east of the database host', '-07:00', '+09:30'],
  ])('%s: the instant is read in the database host zone, never the session zone', async (_label, host, session) => {
    const r = await runOracle({ ...leastPrivileged(), hostTimeZone: host, sessionTimeZone: session });
    const c = containers(r.payload);
    expect(c.status).toBe('ok');
    // Source rows say 08:12:40.117 etc. on the host's wall clock.
    const wall = { 'CDB$ROOT': '2025-05-01T08:12:40', 'PDB$SEED': '2025-05-01T08:12:41', SALESPDB: '2025-05-01T08:12:44' } as Record<string, string>;
    for (const row of c.value) {
      const expected = new Date(Date.parse(`${wall[row.name]}${host}`)).toISOString().replace(/\.\d{3}Z$/, 'Z');
      expect(row.open_at, row.name).toBe(expected);
    }
  });
});
