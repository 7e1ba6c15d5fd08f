import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyChangeEntry } from '../../collectors/core/audit.js';
import { decodeSegment, groupLive, type RawCycle } from './compact.js';
import { type CycleView, digestOf, idMatches, LEGACY_RE, parseStatementLine, SEGMENT_RE, SLOW_STATEMENT_MS } from './format.js';

export interface LedgerFilter {
  target?: string;
  /** Inclusive, ms since the epoch: cycles that ran at or after it. */
  since?: number;
  /** Exclusive, ms since the epoch: cycles that started before it. */
  until?: number;
  cycle?: number;
}

/** A part of the ledger that could not be read as written: reported, skipped, never fatal. */
export interface LedgerProblem {
  file: string;
  line?: number;
  problem: string;
}

/**
 * Reads the ledger a writer (ledger.ts) keeps in `dir`: cycles oldest first,
 * each with the exact text of every statement, its outcome and duration.
 * Segments wholly outside the time filter are not opened. A damaged line,
 * segment or statement text is added to `problems` and skipped.
 */
export class LedgerReader {
  readonly problems: LedgerProblem[] = [];
  readonly policyChanges: PolicyChangeEntry[] = [];
  private readonly texts = new Map<string, string>();

  constructor(readonly dir: string) {
    const file = join(dir, 'statements.jsonl');
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problems.push({ file, problem: (err as Error).message });
    }
    text.split('\n').forEach((line, i) => {
      if (line === '') return;
      const s = parseStatementLine(line);
      if (s === undefined) this.problems.push({ file, line: i + 1, problem: 'not a statement line' });
      else if (!idMatches(s.id, s.text))
        this.problems.push({ file, line: i + 1, problem: `the text of statement ${s.id} does not match its digest (edited?): not shown` });
      else if (!this.texts.has(s.id)) this.texts.set(s.id, s.text);
    });
  }

  /** The exact text of a statement id, or undefined when the ledger does not hold a text that matches it. */
  textOf(id: string): string | undefined {
    return this.texts.get(id);
  }

  /** Every cycle that matches, oldest first (a cycle split across a rotation is one cycle). */
  *cycles(filter: LedgerFilter = {}): Generator<CycleView> {
    let held = new Map<number, CycleView>();
    for (const part of this.parts(filter)) {
      const next = new Map<number, CycleView>();
      for (const c of part) {
        if (filter.target !== undefined && c.target !== filter.target) continue;
        if (filter.cycle !== undefined && c.cycle !== filter.cycle) continue;
        const before = held.get(c.cycle) ?? next.get(c.cycle);
        if (before !== undefined && before.target === c.target) {
          before.statements.push(...c.statements);
          before.startedAt = Math.min(before.startedAt, c.startedAt);
        } else next.set(c.cycle, c);
      }
      yield* this.inRange([...held.values()], filter);
      held = next;
    }
    yield* this.inRange([...held.values()], filter);
  }

  private *inRange(cycles: CycleView[], filter: LedgerFilter): Generator<CycleView> {
    cycles.sort((a, b) => a.startedAt - b.startedAt || a.cycle - b.cycle);
    for (const c of cycles) {
      if (filter.since !== undefined && c.startedAt < filter.since) continue;
      if (filter.until !== undefined && c.startedAt >= filter.until) continue;
      yield c;
    }
  }

  /** Each file's cycles, oldest file first: segments, then a rotation in progress, then the live file. */
  private *parts(filter: LedgerFilter): Generator<CycleView[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const segments = names
      .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
      .filter((x) => x.m !== null)
      .map(({ name, m }) => ({ name, from: Number(m![1]), to: Number(m![2]), first: Number(m![3]) }))
      .sort((a, b) => a.from - b.from || a.first - b.first);
    for (const s of segments) {
      // The name says when the segment's cycles ran; a segment outside the filter is not opened.
      if (filter.since !== undefined && s.to < filter.since) continue;
      if (filter.until !== undefined && s.from >= filter.until) continue;
      const file = join(this.dir, s.name);
      let gz: Buffer;
      try {
        gz = readFileSync(file);
      } catch (err) {
        // Rotated away (retention) while we listed: nothing to show.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problems.push({ file, problem: (err as Error).message });
        continue;
      }
      const d = decodeSegment(gz);
      if (d.truncated !== undefined) this.problems.push({ file, problem: `damaged compressed data (${d.truncated}): what precedes the damage is shown` });
      for (const line of d.damaged) this.problems.push({ file, line, problem: 'not a ledger record: skipped' });
      this.policyChanges.push(...d.policies);
      yield d.cycles.map((c) => this.view(c, 'segment'));
    }
    const legacy = names.filter((n) => LEGACY_RE.test(n)).sort((a, b) => Number(LEGACY_RE.exec(b)![1]) - Number(LEGACY_RE.exec(a)![1]));
    for (const name of [...legacy, 'audit.rotating.jsonl', 'audit.jsonl']) {
      if (!names.includes(name)) continue;
      const file = join(this.dir, name);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problems.push({ file, problem: (err as Error).message });
        continue;
      }
      // Lines from an earlier version carry their text: numbered here only for display (negative, never a writer's number).
      let legacyCycle = 0;
      const inline = new Map<string, string>();
      const g = groupLive(text, {
        intern: (t) => {
          const id = digestOf(t).slice(0, 16);
          inline.set(id, t);
          return id;
        },
        nextCycle: () => --legacyCycle,
      });
      for (const line of g.damaged) {
        const last = line === text.split('\n').length && !text.endsWith('\n');
        this.problems.push({ file, line, problem: last ? 'last line incomplete (cut short while written): skipped' : 'not a ledger line: skipped' });
      }
      this.policyChanges.push(...g.policies);
      yield g.cycles.map((c) => this.view(c, g.legacy && name !== 'audit.jsonl' ? 'legacy' : 'live', inline));
    }
  }

  private view(c: RawCycle, source: CycleView['source'], inline?: Map<string, string>): CycleView {
    return {
      cycle: c.cycle,
      target: c.target,
      engine: c.engine,
      startedAt: c.startedAt,
      source,
      statements: c.statements.map((s) => ({
        id: s.sid,
        text: inline?.get(s.sid) ?? this.texts.get(s.sid),
        outcome: s.outcome,
        ...(s.ms === undefined ? { fasterThanMs: SLOW_STATEMENT_MS } : { durationMs: s.ms }),
        ...(s.code === undefined ? {} : { code: s.code }),
        ...(s.rows === undefined ? {} : { rows: s.rows }),
        ...(s.time === undefined ? {} : { time: s.time }),
      })),
    };
  }
}

/** Every statement the ledger in `dir` recorded, flattened, oldest first (what tests and benches read). */
export function readStatements(
  dir: string,
  filter: LedgerFilter = {},
): {
  target: string;
  engine: string;
  cycle: number;
  statement: string;
  outcome: string;
  durationMs?: number;
  fasterThanMs?: number;
  code?: string;
  time?: string;
}[] {
  const r = new LedgerReader(dir);
  const out = [];
  for (const c of r.cycles(filter))
    for (const s of c.statements)
      out.push({
        target: c.target,
        engine: c.engine,
        cycle: c.cycle,
        statement: s.text ?? `(unknown statement ${s.id})`,
        outcome: s.outcome,
        ...(s.durationMs === undefined ? {} : { durationMs: s.durationMs }),
        ...(s.fasterThanMs === undefined ? {} : { fasterThanMs: s.fasterThanMs }),
        ...(s.code === undefined ? {} : { code: s.code }),
        ...(s.time === undefined ? {} : { time: s.time }),
      });
  return out;
}
