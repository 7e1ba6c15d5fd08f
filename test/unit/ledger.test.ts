import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { auditCycle } from '../../collectors/core/audit-cycle.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { LedgerReader, readStatements } from '../../agent/audit/reader.js';
import { digestOf, SEGMENT_RE } from '../../agent/audit/format.js';
import { encodeSegment, groupLive } from '../../agent/audit/compact.js';
import { viewLedger } from '../../agent/audit/viewer.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const entry = (text: string, at: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  time: new Date(at).toISOString(),
  targetId: 't1',
  engine: 'postgres',
  statement: text,
  durationMs: 1.25,
  outcome: 'ok',
  rows: 1,
  ...extra,
});
const dir = () => join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit');
const CATALOG = ['BEGIN TRANSACTION READ ONLY', "SELECT current_setting('transaction_read_only') AS ro", 'SELECT * FROM pg_stat_activity', 'ROLLBACK'];

/** One cycle of `texts` for `target` at `at`, inside a cycle scope as collectCycle runs it. */
async function cycle(l: AuditLedger, target: string, at: number, texts = CATALOG, extra: (i: number) => Partial<AuditEntry> = () => ({})): Promise<void> {
  await auditCycle(async () => {
    for (const [i, t] of texts.entries()) {
      await Promise.resolve();
      l.record(entry(t, at + i, { targetId: target, ...extra(i) }));
    }
  });
}

const segments = (d: string) => readdirSync(d).filter((n) => SEGMENT_RE.test(n));

describe('audit ledger: statement texts once, cycles compact', () => {
  it('records each text once in statements.jsonl (id = digest of the exact text) and reads every cycle back exactly', async () => {
    const d = dir();
    const l = new AuditLedger(d);
    for (let n = 0; n < 5; n++) await cycle(l, 't1', T0 + n * 60_000);
    const texts = readFileSync(l.statementsFile, 'utf8')
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as { id: string; text: string });
    expect(texts.map((t) => t.text)).toEqual(CATALOG);
    for (const t of texts) expect(digestOf(t.text).startsWith(t.id)).toBe(true);
    // No statement text in the live file: only ids.
    for (const t of CATALOG) expect(readFileSync(l.file, 'utf8')).not.toContain(t);
    const cycles = [...new LedgerReader(d).cycles()];
    expect(cycles.map((c) => c.cycle)).toEqual([1, 2, 3, 4, 5]);
    for (const c of cycles) expect(c.statements.map((s) => s.text)).toEqual(CATALOG);
    expect([...new LedgerReader(d).cycles({ cycle: 3 })].map((c) => c.startedAt)).toEqual([T0 + 2 * 60_000 - 1.25]);
  });

  it('keeps two targets cycling at the same time apart, and filters by target and time', async () => {
    const d = dir();
    const l = new AuditLedger(d);
    await Promise.all([cycle(l, 'a', T0), cycle(l, 'b', T0, ['PING', 'INFO'])]);
    await Promise.all([cycle(l, 'a', T0 + 60_000), cycle(l, 'b', T0 + 60_000, ['PING', 'INFO'])]);
    const r = new LedgerReader(d);
    expect([...r.cycles({ target: 'b' })].map((c) => c.statements.map((s) => s.text))).toEqual([
      ['PING', 'INFO'],
      ['PING', 'INFO'],
    ]);
    expect([...new LedgerReader(d).cycles({ target: 'a', since: T0 + 30_000 })].map((c) => c.startedAt)).toEqual([T0 + 60_000 - 1.25]);
    expect([...new LedgerReader(d).cycles({ until: T0 + 30_000 })].map((c) => c.target).sort()).toEqual(['a', 'b']);
  });

  it('continues the cycle numbers after a restart', async () => {
    const d = dir();
    await cycle(new AuditLedger(d), 't1', T0);
    const again = new AuditLedger(d);
    await cycle(again, 't1', T0 + 60_000);
    expect([...new LedgerReader(d).cycles()].map((c) => c.cycle)).toEqual([1, 2]);
  });

  it('records policy changes', () => {
    const d = dir();
    const l = new AuditLedger(d);
    const policy = { default: 'collect' } as never;
    l.recordPolicyChange({
      time: new Date(T0).toISOString(),
      kind: 'policy_change',
      scope: 'workspace',
      actor: 'dba',
      via: 'cli',
      before: policy,
      after: policy,
    });
    const r = new LedgerReader(d);
    expect([...r.cycles()]).toEqual([]);
    expect(r.policyChanges.map((p) => p.actor)).toEqual(['dba']);
  });
});

describe('audit ledger: rotation, compression, retention', () => {
  it('compacts a full live file into a gzip segment of one record per cycle; every text still reconstructs', async () => {
    const d = dir();
    const l = new AuditLedger(d, { liveMaxBytes: 4096, maxBytes: 10 * 1024 * 1024, now: () => T0 + 3_600_000 });
    for (let n = 0; n < 40; n++)
      await cycle(l, n % 2 === 0 ? 'a' : 'b', T0 + n * 30_000, CATALOG, (i) => (n === 7 && i === 2 ? { outcome: 'error', code: '57014' } : {}));
    const segs = segments(d);
    expect(segs.length).toBeGreaterThan(0);
    const gz = readFileSync(join(d, segs[0]!));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const text = gunzipSync(gz).toString('utf8');
    for (const t of CATALOG) expect(text).not.toContain(t);
    // One plan line for the recurring statement list (and one for a cycle cut by the rotation), then one short record per cycle.
    const lines = text.trim().split('\n');
    expect(lines.filter((x) => x.startsWith('{"p":')).length).toBeLessThanOrEqual(3);
    expect(lines.filter((x) => x.startsWith('[')).length).toBe(JSON.parse(lines[0]!).cycles);
    const cycles = [...new LedgerReader(d).cycles()];
    expect(cycles.map((c) => c.cycle)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(cycles.map((c) => c.target)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'a' : 'b')));
    for (const c of cycles) expect(c.statements.map((s) => s.text)).toEqual(CATALOG);
    expect(cycles[7]!.statements[2]).toMatchObject({ outcome: 'error', code: '57014' });
    expect(cycles.filter((c) => c.source === 'segment').length).toBeGreaterThan(0);
    for (const c of cycles) expect(Math.abs(c.startedAt - (T0 + (c.cycle - 1) * 30_000 - 1.25))).toBeLessThanOrEqual(1);
  });

  it('keeps the cycle duration, and each slow or failed statement its own, once compacted; a fast statement says it was fast', async () => {
    const d = dir();
    const l = new AuditLedger(d, { liveMaxBytes: 4096, maxBytes: 10 * 1024 * 1024, now: () => T0 + 3_600_000 });
    const ms = (n: number, i: number): number => (i === 2 ? 250 + n : i === 1 && n % 5 === 0 ? 40 : 2.5);
    for (let n = 0; n < 40; n++)
      await cycle(l, 'a', T0 + n * 30_000, CATALOG, (i) => ({ durationMs: ms(n, i), ...(i === 1 && n % 5 === 0 ? { outcome: 'error', code: '42501' } : {}) }));
    // Wholly compacted cycles (a cycle cut by a rotation keeps its live half exact).
    const compacted = [...new LedgerReader(d).cycles()].filter((c) => c.source === 'segment' && c.statements.every((s) => s.time === undefined));
    expect(compacted.length).toBeGreaterThan(3);
    for (const c of compacted) {
      const n = c.cycle - 1;
      expect(c.statements[2]).toMatchObject({ durationMs: 250 + n });
      if (n % 5 === 0) expect(c.statements[1]).toMatchObject({ outcome: 'error', code: '42501', durationMs: 40 });
      else expect(c.statements[1]).toMatchObject({ outcome: 'ok', fasterThanMs: 100 });
      expect(c.statements[0]!.durationMs).toBeUndefined();
      expect(c.statements[0]!.fasterThanMs).toBe(100);
    }
    const out: string[] = [];
    viewLedger(
      d,
      {},
      false,
      (x) => out.push(x),
      () => {},
    );
    expect(out.join('\n')).toContain('< 100 ms');
  });

  it('a rotation compacts what the writer wrote: the same segment, byte for byte, as compacting the file itself, odd values included', async () => {
    const d = dir();
    const l = new AuditLedger(d, { liveMaxBytes: 64 * 1024, now: () => T0 });
    // Values a line must carry exactly, or that make a line unreadable (a reader skips it: so must the writer's copy).
    const odd = (n: number, i: number): Partial<AuditEntry> =>
      // Values the type forbids still reach a sink written in plain JavaScript: cast on purpose.
      [
        { durationMs: -0 },
        { durationMs: 1e21 },
        { durationMs: Number.NaN },
        { durationMs: Number.POSITIVE_INFINITY, outcome: 'error', code: 'x' },
        { outcome: 'error', code: 'quote " backslash \\ newline \n' },
        { outcome: 'refused', code: 'read_only_guard', durationMs: 0.0001 },
        { durationMs: 250.5 },
        { rows: Number.NaN },
        { time: 'not a time' },
        { outcome: 'maybe' },
        { rows: 3, durationMs: 99.9999 },
      ][(n * 7 + i) % 11]! as Partial<AuditEntry>;
    const targets = ['plain', 'quote"d', 'new\nline', 'lone \ud800 surrogate', 'ünïcødé 🐘'];
    let n = 0;
    const liveBefore = (): string => (existsSync(l.file) ? readFileSync(l.file, 'utf8') : '');
    let snapshot = '';
    // Fill the live file until a line rotates it, keeping what the file held just before that line.
    while (segments(d).length === 0 && n < 5000) {
      await auditCycle(async () => {
        for (const [i, t] of CATALOG.entries()) {
          await Promise.resolve();
          if (segments(d).length > 0) return;
          snapshot = liveBefore();
          l.record(entry(t, T0 + n * 1000 + i, { targetId: targets[n % targets.length]!, ...odd(n, i) }));
        }
      });
      if (n % 13 === 0 && segments(d).length === 0) {
        snapshot = liveBefore();
        l.recordPolicyChange({
          time: new Date(T0 + n).toISOString(),
          kind: 'policy_change',
          scope: 'workspace',
          actor: 'ops "x"',
          via: 'api',
          before: {},
          after: { query_text: 'exclude' },
        });
      }
      n++;
    }
    // A statement that took 1e21 ms (or a clock before 1970) still leaves a segment the ledger can see.
    expect(segments(d)).toHaveLength(1);
    const [seg] = segments(d);
    const fromFile = groupLive(snapshot, { intern: () => 'unused', nextCycle: () => 0 });
    expect(fromFile.damaged.length).toBeGreaterThan(0);
    expect(fromFile.legacy).toBe(false);
    const expected = encodeSegment(fromFile.cycles, fromFile.policies);
    expect(seg).toBe(expected.name);
    expect(gunzipSync(readFileSync(join(d, seg!))).toString('utf8')).toBe(gunzipSync(expected.body).toString('utf8'));
    // And what reads back is every cycle of the file's readable lines (the reader lists them by start time).
    const back = [...new LedgerReader(d).cycles()].filter((c) => c.source === 'segment').sort((a, b) => a.cycle - b.cycle);
    expect(back.map((c) => [c.cycle, c.target])).toEqual(fromFile.cycles.map((c) => [c.cycle, c.target]));
  });

  it('drops cycles older than the retention, and the oldest first when over the size cap', async () => {
    const d = dir();
    let now = T0;
    const l = new AuditLedger(d, { liveMaxBytes: 4096, retentionDays: 1, now: () => now });
    for (let n = 0; n < 3 * 24; n++) {
      now = T0 + n * 3_600_000;
      await cycle(l, 't1', now);
    }
    const cycles = [...new LedgerReader(d).cycles()];
    // Nothing older than a day (plus what the segment holding the horizon still spans), the newest all there.
    expect(cycles[0]!.startedAt).toBeGreaterThanOrEqual(now - 86_400_000 - 12 * 3_600_000);
    expect(cycles.at(-1)!.cycle).toBe(72);

    const small = dir();
    const capped = new AuditLedger(small, { maxBytes: 40_000, now: () => T0 });
    for (let n = 0; n < 2000; n++) await cycle(capped, `t${n % 7}`, T0 + n * 1000, [...CATALOG, `SELECT ${n % 300}`]);
    const total = readdirSync(small).reduce((a, n) => a + statSync(join(small, n)).size, 0);
    expect(total).toBeLessThanOrEqual(40_000);
    expect(capped.bytesOnDisk()).toBe(total);
    expect([...new LedgerReader(small).cycles()].at(-1)!.cycle).toBe(2000);
  });

  it('reads and migrates a ledger written by the earlier version (one JSON line per statement, text inline)', () => {
    const d = dir();
    const T0 = Date.now() - 3_600_000;
    const old = (text: string, at: number) =>
      `${JSON.stringify({ time: new Date(at).toISOString(), targetId: 'old', engine: 'postgres', statement: text, durationMs: 2, outcome: 'ok', rows: 1 })}\n`;
    require_dir(d);
    writeFileSync(join(d, 'audit.1.jsonl'), old('SELECT 1', T0) + old('SELECT 2', T0 + 5));
    writeFileSync(join(d, 'audit.jsonl'), old('SELECT 3', T0 + 120_000));
    expect(readStatements(d).map((s) => s.statement)).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    const l = new AuditLedger(d);
    l.record(entry('SELECT 4', T0 + 240_000));
    expect(existsSync(join(d, 'audit.1.jsonl'))).toBe(false);
    expect(readStatements(d).map((s) => s.statement)).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4']);
  });
});

function require_dir(d: string): void {
  new AuditLedger(d).close();
}

describe('audit ledger under attack: damage is reported and skipped, never fatal, and new records still append', () => {
  it('a line cut short by a crash: the reader skips it with a warning, the next writer starts a fresh line', async () => {
    const d = dir();
    const l = new AuditLedger(d);
    await cycle(l, 't1', T0);
    await cycle(l, 't1', T0 + 60_000);
    l.close();
    truncateSync(l.file, statSync(l.file).size - 20);
    const r = new LedgerReader(d);
    const cycles = [...r.cycles()];
    expect(cycles[0]!.statements.map((s) => s.text)).toEqual(CATALOG);
    expect(cycles[1]!.statements.map((s) => s.text)).toEqual(CATALOG.slice(0, 3));
    expect(r.problems).toEqual([expect.objectContaining({ problem: expect.stringMatching(/last line incomplete/) })]);
    const again = new AuditLedger(d);
    await cycle(again, 't1', T0 + 120_000);
    const after = [...new LedgerReader(d).cycles()];
    expect(after.map((c) => c.cycle)).toEqual([1, 2, 3]);
    expect(after[2]!.statements.map((s) => s.text)).toEqual(CATALOG);
  });

  it('a writer killed mid-stream leaves a readable ledger that a new writer continues', async () => {
    const d = dir();
    new AuditLedger(d).close();
    const script = `
      import { AuditLedger } from ${JSON.stringify(new URL('../../agent/audit/ledger.ts', import.meta.url).pathname)};
      const l = new AuditLedger(${JSON.stringify(d)});
      const big = 'SELECT ' + 'x, '.repeat(2000) + '1';
      for (let n = 0; ; n++) {
        l.record({ time: new Date().toISOString(), targetId: 'k', engine: 'postgres', statement: n % 3 === 0 ? big + n : 'SELECT ' + n, durationMs: 1, outcome: 'ok' });
        if (n === 200) process.stdout.write('going\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const r = new LedgerReader(d);
    const statements = [...r.cycles()].flatMap((c) => c.statements);
    expect(statements.length).toBeGreaterThan(200);
    // Every statement the live file names has its exact text: the text is written before the line that uses it.
    for (const s of statements) expect(s.text).toBeDefined();
    expect(r.problems.every((p) => /last line incomplete/.test(p.problem))).toBe(true);
    const l = new AuditLedger(d);
    l.record(entry('SELECT after the crash', Date.now()));
    expect(readStatements(d).at(-1)!.statement).toBe('SELECT after the crash');
  }, 30_000);

  it('hand-edited files: garbage lines, a changed statement text, a damaged segment are reported and skipped', async () => {
    const d = dir();
    const l = new AuditLedger(d, { liveMaxBytes: 4096, now: () => T0 });
    for (let n = 0; n < 30; n++) await cycle(l, 't1', T0 + n * 60_000);
    l.close();
    // Someone rewrites a statement's text in place to hide what was sent.
    const st = readFileSync(l.statementsFile, 'utf8').replace('SELECT * FROM pg_stat_activity', 'SELECT 1 /* harmless */');
    writeFileSync(l.statementsFile, `${st}not json\n{"id":1}\n`);
    appendFileSync(l.file, '{"time":"yesterday"}\n\u0000\u0000garbage\n[1,2,3]\n');
    const seg = segments(d)[0]!;
    const gz = readFileSync(join(d, seg));
    writeFileSync(join(d, seg), gz.subarray(0, Math.floor(gz.length / 2)));
    writeFileSync(join(d, 'audit-1-2-3.jsonl.gz'), 'not gzip at all');

    const r = new LedgerReader(d);
    const cycles = [...r.cycles()];
    const shown = cycles.flatMap((c) => c.statements.map((s) => s.text));
    // The edited text is never shown as what was sent; the untouched ones still are.
    expect(shown).not.toContain('SELECT 1 /* harmless */');
    expect(shown.filter((t) => t === undefined).length).toBeGreaterThan(0);
    expect(shown).toContain('BEGIN TRANSACTION READ ONLY');
    const problems = r.problems.map((p) => `${p.file.split('/').pop()}:${p.line ?? ''} ${p.problem}`).join('\n');
    expect(problems).toMatch(/statements\.jsonl:\d+ the text of statement [0-9a-f]{16} does not match its digest/);
    expect(problems).toMatch(/statements\.jsonl:\d+ not a statement line/);
    expect(problems).toMatch(/audit\.jsonl:\d+ not a ledger line/);
    expect(problems).toMatch(new RegExp(`${seg.replace(/\./g, '\\.')}: damaged compressed data`));
    expect(problems).toMatch(/audit-1-2-3\.jsonl\.gz/);
    // The viewer prints what it can and warns; it does not throw.
    const out: string[] = [];
    const err: string[] = [];
    expect(() =>
      viewLedger(
        d,
        {},
        false,
        (x) => out.push(x),
        (x) => err.push(x),
      ),
    ).not.toThrow();
    expect(err.some((x) => /^warning: .*does not match its digest/.test(x))).toBe(true);
    expect(out.join('\n')).toContain('(text of statement');
    // The writer opens the damaged ledger, re-records the true text, and appends.
    const again = new AuditLedger(d, { liveMaxBytes: 4096, now: () => T0 });
    await cycle(again, 't1', T0 + 31 * 60_000);
    const last = [...new LedgerReader(d).cycles()].at(-1)!;
    expect(last.statements.map((s) => s.text)).toEqual(CATALOG);
  });
});

describe('audit ledger: no live file before the first statement', () => {
  it('each statement is in the file when record() returns (one write per statement: nothing the agent acted on waits in memory)', async () => {
    const d = dir();
    const l = new AuditLedger(d);
    await auditCycle(async () => {
      for (const [i, t] of CATALOG.entries()) {
        l.record(entry(t, T0 + i));
        // Before anything else runs: no microtask, no timer has had a chance to flush anything.
        const lines = readFileSync(l.file, 'utf8').trim().split('\n');
        expect(lines).toHaveLength(i + 1);
        expect(JSON.parse(lines.at(-1)!)).toMatchObject({ time: new Date(T0 + i).toISOString(), sid: digestOf(t).slice(0, 16) });
      }
      return Promise.resolve();
    });
  });

  it('opening a ledger creates the folder, not the live file', () => {
    const d = dir();
    const l = new AuditLedger(d);
    expect(existsSync(d)).toBe(true);
    expect(existsSync(l.file)).toBe(false);
    l.record(entry('SELECT 1', Date.now()));
    expect(existsSync(l.file)).toBe(true);
  });
});
