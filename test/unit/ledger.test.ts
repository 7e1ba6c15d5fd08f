import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLedger } from '../../agent/audit/ledger.js';

const entry = (n: number) => ({
  time: new Date(0).toISOString(),
  targetId: 't',
  engine: 'postgres',
  statement: `SELECT ${n}`,
  durationMs: 1,
  outcome: 'ok' as const,
  rows: 1,
});
const lines = (f: string) =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { statement: string });

describe('audit ledger', () => {
  it('appends one JSON line per statement', () => {
    const l = new AuditLedger(mkdtempSync(join(tmpdir(), 'audit-')));
    l.record(entry(1));
    l.record(entry(2));
    expect(lines(l.file).map((e) => e.statement)).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('rotates at the size cap and keeps a bounded number of files', () => {
    const line = Buffer.byteLength(`${JSON.stringify(entry(10))}\n`);
    const l = new AuditLedger(mkdtempSync(join(tmpdir(), 'audit-')), { maxBytes: line * 3, keep: 2 });
    for (let n = 10; n < 22; n++) l.record(entry(n));
    // 12 entries, 3 per file: the oldest file (10–12) has been dropped.
    expect(lines(l.file).map((e) => e.statement)).toEqual(['SELECT 19', 'SELECT 20', 'SELECT 21']);
    expect(lines(l.rotatedFile(1)).map((e) => e.statement)).toEqual(['SELECT 16', 'SELECT 17', 'SELECT 18']);
    expect(lines(l.rotatedFile(2)).map((e) => e.statement)).toEqual(['SELECT 13', 'SELECT 14', 'SELECT 15']);
    expect(existsSync(l.rotatedFile(3))).toBe(false);
  });

  it('continues an existing file after a restart without exceeding the cap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const line = Buffer.byteLength(`${JSON.stringify(entry(10))}\n`);
    new AuditLedger(dir, { maxBytes: line * 2 }).record(entry(10));
    const again = new AuditLedger(dir, { maxBytes: line * 2 });
    again.record(entry(11));
    again.record(entry(12));
    expect(lines(again.file).map((e) => e.statement)).toEqual(['SELECT 12']);
    expect(lines(again.rotatedFile(1)).map((e) => e.statement)).toEqual(['SELECT 10', 'SELECT 11']);
  });
});
