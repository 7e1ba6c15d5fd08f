// The audit ledger answers "what did the agent run on my server, and when?": three real
// collection cycles against the harness PostgreSQL (log_statement=all), then cycle 2 is
// rebuilt from the ledger alone — through the reader and through `logstag-agent audit` —
// and compared with what the server's own log says it received.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { LedgerReader } from '../../agent/audit/reader.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { runAgentCli } from '../helpers/cli.js';
import { pgTarget } from '../helpers/pg.js';

const info = inject('pg');
const ENTRY_START = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \S+) \[\d+\] /;

/** What the server logged as received (execute/statement) from application `app`, with its log time. */
async function received(app: string): Promise<{ at: number; text: string }[]> {
  const raw = await readFile(info.logFile, 'utf8');
  const entries: string[] = [];
  for (const line of raw.split('\n')) {
    if (ENTRY_START.test(line)) entries.push(line);
    else if (entries.length > 0) entries[entries.length - 1] += `\n${line}`;
  }
  return entries.flatMap((e) => {
    const m = ENTRY_START.exec(e)!;
    if (!e.slice(m[0].length).startsWith(`${app} `)) return [];
    const s = /LOG: {2}(?:execute [^:]*|statement): ([\s\S]*)$/.exec(e);
    return s === null ? [] : [{ at: Date.parse(m[1]!.replace(' ', 'T').replace(/ UTC$/, 'Z')), text: s[1]! }];
  });
}

/** The ledger keeps a statement's text with whitespace runs collapsed (as the audit door always has). */
const collapse = (t: string): string => t.replace(/\s+/g, ' ').trim();

describe('audit ledger: a past cycle rebuilt from the ledger matches what the server received', () => {
  it('3 real cycles; cycle 2 reconstructed (reader and CLI) equals the server log of cycle 2, in order and in time', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lsa-reconstruct-'));
    const ledger = new AuditLedger(join(home, 'audit'));
    const run = `rc${randomBytes(3).toString('hex')}`;
    const target = pgTarget(info, info.users.monitor.user);
    // One ledger, three cycles; each cycle's agent version differs, so its application_name tells the server log's lines apart.
    for (let n = 1; n <= 3; n++) {
      const ops = new TargetOperations(
        { id: 'rc-agent', version: `${run}-${n}`, host: 'test' },
        ledger,
        () => {
          throw new Error('no vault in this test');
        },
        { PW: info.users.monitor.password },
      );
      const r = await ops.collect(target);
      expect(r.payload.signals.filter((s) => s.status === 'ok').length).toBeGreaterThan(10);
    }
    ledger.close();
    const app = (n: number) => `logstag-agent/${run}-${n}`;
    const deadline = Date.now() + 15_000;
    // The logging collector writes asynchronously: wait for cycle 3's closing ROLLBACK.
    while (!(await received(app(3))).some((e) => e.text === 'ROLLBACK') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const witness = await received(app(2));
    const before = await received(app(1));
    const after = await received(app(3));
    expect(witness.length).toBeGreaterThan(10);

    const reader = new LedgerReader(join(home, 'audit'));
    const all = [...reader.cycles({ target: target.id })];
    expect(all.map((c) => c.cycle)).toEqual([1, 2, 3]);
    const [cycle2] = [...reader.cycles({ cycle: 2 })];
    expect(reader.problems).toEqual([]);
    const sent = cycle2!.statements.filter((s) => s.outcome !== 'refused');
    expect(sent.map((s) => s.text)).toEqual(witness.map((w) => collapse(w.text)));
    // And in time: after cycle 1's last statement reached the server, before cycle 3's first.
    expect(cycle2!.startedAt).toBeGreaterThan(before.at(-1)!.at - 1);
    expect(cycle2!.startedAt).toBeLessThan(after[0]!.at + 1);
    expect(cycle2!.startedAt).toBeLessThanOrEqual(witness[0]!.at + 1);

    // The CLI shows the same, as JSON and as the DBA's table.
    const json = await runAgentCli(['audit', '--cycle', '2', '--json'], { home });
    expect(json.code).toBe(0);
    const lines = json.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const fromCli = JSON.parse(lines[0]!) as { cycle: number; target: string; statements: { text: string; outcome: string }[] };
    expect(fromCli).toMatchObject({ cycle: 2, target: target.id });
    expect(fromCli.statements.filter((s) => s.outcome !== 'refused').map((s) => s.text)).toEqual(witness.map((w) => collapse(w.text)));
    const table = await runAgentCli(['audit', '--target', target.id, '--since', new Date(cycle2!.startedAt).toISOString()], { home });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^\\S+Z {2}target ${target.id} \\(postgres\\) {2}cycle 2 {2}\\d+ statement\\(s\\)$`, 'm'));
    expect(table.stdout).not.toMatch(/cycle 1 /);
    expect(table.stdout).toContain('  ok      ');
    expect(table.stdout).toContain(witness[1]!.text.replace(/\s+/g, ' ').trim());
    expect(table.stderr).toMatch(/2 cycle\(s\), \d+ statement\(s\)/);
  });
});
