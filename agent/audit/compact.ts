import { gunzipSync, gzipSync } from 'node:zlib';
import type { AuditEntry, PolicyChangeEntry } from '../../collectors/core/audit.js';
import { type CycleRecordLine, liveStatementEnd, type LiveStatement, parseLiveLine, type SegmentHeader, segmentName, SLOW_STATEMENT_MS } from './format.js';

/** One statement of a cycle, by statement id. */
export interface RawStatement {
  sid: string;
  /** Undefined for a compacted fast statement (under SLOW_STATEMENT_MS). */
  ms: number | undefined;
  outcome: AuditEntry['outcome'];
  code?: string;
  rows?: number;
  time?: string;
}

export interface RawCycle {
  cycle: number;
  target: string;
  engine: string;
  startedAt: number;
  endedAt: number;
  statements: RawStatement[];
}

export interface Grouped {
  cycles: RawCycle[];
  policies: PolicyChangeEntry[];
  /** 1-based numbers of the lines that are not ledger lines (damaged, truncated, hand-edited). */
  damaged: number[];
  /** True when the live file held lines from an earlier version (text inline). */
  legacy: boolean;
}

/** Statements an earlier version recorded without a cycle: one run per target while they follow each other. */
const LEGACY_GAP_MS = 30_000;

/**
 * The cycles of a live (or legacy) file, built line by line in the order the lines
 * were written. The ledger's writer keeps one for its live file and adds each
 * statement as it writes its line, so a rotation compacts what it holds rather
 * than reading the file back; `groupLive` builds the same from the file's text.
 * Both go through `statement`, so a file and the writer's copy of it compact to
 * the same segment by construction.
 */
export class LiveGroup {
  private readonly byCycle = new Map<number, RawCycle>();
  private readonly legacyRun = new Map<string, RawCycle>();
  readonly policies: PolicyChangeEntry[] = [];
  /** 1-based numbers of the lines that are not ledger lines (damaged, truncated, hand-edited). */
  readonly damaged: number[] = [];
  /** True when the live file held lines from an earlier version (text inline). */
  legacy = false;
  /** Lines seen (the number of the next line is lines + 1). */
  lines = 0;

  /** Lean: one shared record per statement id for fast, successful statements (see `lean`). */
  private readonly fastOk = new Map<string, RawStatement>();

  /**
   * `lean`: keep only what a segment keeps (encodeSegment): each statement's id
   * and outcome, its code, and its duration only when slow or failed; no end
   * time, no row count. The writer's copy of its live file is lean (a full live
   * file is then a few MB of memory, not the file's 16 MB); a reader's is not.
   */
  constructor(private readonly opts: { intern(text: string): string; nextCycle(): number; lean?: boolean }) {}

  /** One line of the file, as written (without its newline). */
  line(line: string): void {
    const lineNo = ++this.lines;
    if (line === '') return;
    const parsed = parseLiveLine(line);
    if (parsed === undefined) this.damaged.push(lineNo);
    else if (parsed.kind === 'policy') this.policies.push(parsed.value);
    else if (parsed.kind === 'statement') this.add(parsed.value, lineNo, Date.parse(parsed.value.time));
    else this.addLegacy(parsed.value);
  }

  /**
   * One statement line the writer has just written, given as the object it
   * serialised rather than parsed back: kept only if the line would read back
   * as a statement line (the same check as parseLiveLine).
   */
  statement(s: LiveStatement): void {
    const lineNo = ++this.lines;
    const end = liveStatementEnd(s as unknown as Record<string, unknown>);
    if (end !== undefined) this.add(s, lineNo, end);
    else this.damaged.push(lineNo);
  }

  /** A policy change line the writer has just written (rare: parsed back). */
  policyLine(line: string): void {
    this.line(line);
  }

  private add(s: LiveStatement, lineNo: number, end: number): void {
    let c = this.byCycle.get(s.cycle);
    if (c === undefined || c.target !== s.target) {
      if (c !== undefined) {
        // A cycle number reused for another target is not one of ours: keep the first, report the line.
        this.damaged.push(lineNo);
        return;
      }
      c = { cycle: s.cycle, target: s.target, engine: s.engine, startedAt: end - s.ms, endedAt: end, statements: [] };
      this.byCycle.set(s.cycle, c);
    }
    c.startedAt = Math.min(c.startedAt, end - s.ms);
    c.endedAt = Math.max(c.endedAt, end);
    if (this.opts.lean !== true) c.statements.push(strip({ sid: s.sid, ms: s.ms, outcome: s.outcome, code: s.code, rows: s.rows, time: s.time }));
    else if (s.outcome !== 'ok' || s.ms >= SLOW_STATEMENT_MS)
      c.statements.push(strip({ sid: s.sid, ms: s.ms, outcome: s.outcome, code: s.code, rows: undefined, time: undefined }));
    else {
      // What a segment keeps of a fast, successful statement is its id: one shared record per id.
      let fast = this.fastOk.get(s.sid);
      if (fast === undefined)
        this.fastOk.set(s.sid, (fast = Object.freeze(strip({ sid: s.sid, ms: undefined, outcome: 'ok', code: undefined, rows: undefined, time: undefined }))));
      c.statements.push(fast);
    }
  }

  private addLegacy(e: AuditEntry): void {
    this.legacy = true;
    const end = Date.parse(e.time);
    let run = this.legacyRun.get(e.targetId);
    if (run === undefined || end - e.durationMs - run.endedAt > LEGACY_GAP_MS) {
      run = { cycle: this.opts.nextCycle(), target: e.targetId, engine: e.engine, startedAt: end - e.durationMs, endedAt: end, statements: [] };
      this.legacyRun.set(e.targetId, run);
      this.byCycle.set(run.cycle, run);
    }
    run.endedAt = Math.max(run.endedAt, end);
    run.statements.push(strip({ sid: this.opts.intern(e.statement), ms: e.durationMs, outcome: e.outcome, code: e.code, rows: e.rows, time: e.time }));
  }

  /** Nothing held (no statement, no policy change). */
  get empty(): boolean {
    return this.byCycle.size === 0 && this.policies.length === 0;
  }

  result(): Grouped {
    const cycles = [...this.byCycle.values()].sort((a, b) => a.cycle - b.cycle);
    return { cycles, policies: this.policies, damaged: this.damaged, legacy: this.legacy };
  }
}

/**
 * Groups the lines of a live (or legacy) file into cycles, in the order they
 * were written. A line that is not a ledger line is counted and skipped, never
 * fatal. `intern` gives a legacy line's text its statement id; `nextCycle`
 * numbers the runs of legacy lines.
 */
export function groupLive(text: string, opts: { intern(text: string): string; nextCycle(): number }): Grouped {
  return groupLiveInto(new LiveGroup(opts), text).result();
}

/** Adds the lines of `text` to `group` (the last element, after the last newline, is empty or a line cut short). */
export function groupLiveInto(group: LiveGroup, text: string): LiveGroup {
  let from = 0;
  while (from <= text.length) {
    const nl = text.indexOf('\n', from);
    const end = nl === -1 ? text.length : nl;
    group.line(text.slice(from, end));
    from = end + 1;
  }
  return group;
}

function strip(s: { [K in keyof RawStatement]: RawStatement[K] | undefined }): RawStatement {
  const out: RawStatement = { sid: s.sid!, ms: s.ms, outcome: s.outcome! };
  if (s.code !== undefined) out.code = s.code;
  if (s.rows !== undefined) out.rows = s.rows;
  if (s.time !== undefined) out.time = s.time;
  return out;
}

/** Compacts cycles into one gzip segment: statement lists become plans, times deltas; the cycle's duration and slow or failed statements' own durations in whole milliseconds. */
export function encodeSegment(cycles: readonly RawCycle[], policies: readonly PolicyChangeEntry[]): { name: string; body: Buffer; from: number; to: number } {
  const times = [...cycles.map((c) => c.startedAt), ...policies.map((p) => Date.parse(p.time))];
  const ends = [...cycles.map((c) => c.endedAt), ...policies.map((p) => Date.parse(p.time))];
  // Never before the epoch: a segment is named by its times (SEGMENT_RE reads digits), and a statement
  // recorded with an absurd duration or a clock before 1970 must not make its segment one the ledger cannot see.
  const from = Math.max(0, Math.floor(Math.min(...times)));
  const to = Math.ceil(Math.max(...ends));
  const firstCycle = cycles[0]?.cycle ?? 0;
  const targets = new Map<string, number>();
  const plans = new Map<string, number>();
  const head: string[] = [];
  const body: string[] = [];
  const lastStart = new Map<number, number>();
  let lastCycle = firstCycle;
  for (const c of cycles) {
    const tk = `${c.target}\u0000${c.engine}`;
    let t = targets.get(tk);
    if (t === undefined) {
      t = targets.size;
      targets.set(tk, t);
      head.push(JSON.stringify({ t, id: c.target, engine: c.engine }));
    }
    const sids = c.statements.map((s) => s.sid);
    const pk = sids.join(',');
    let p = plans.get(pk);
    if (p === undefined) {
      p = plans.size;
      plans.set(pk, p);
      head.push(JSON.stringify({ p, s: sids }));
    }
    const start = Math.round(c.startedAt);
    const failed = c.statements.flatMap((s, i): ([number, string] | [number, string, string])[] =>
      s.outcome === 'ok' ? [] : [s.code === undefined ? [i, s.outcome] : [i, s.outcome, s.code]],
    );
    const slow = c.statements.flatMap((s, i): [number, number][] =>
      s.ms !== undefined && (s.ms >= SLOW_STATEMENT_MS || s.outcome !== 'ok') ? [[i, Math.round(s.ms)]] : [],
    );
    const rec: CycleRecordLine = [c.cycle - lastCycle, t, start - (lastStart.get(t) ?? from), p, Math.max(0, Math.round(c.endedAt - c.startedAt))];
    if (slow.length > 0 || failed.length > 0) rec.push(slow);
    if (failed.length > 0) rec.push(failed);
    body.push(JSON.stringify(rec));
    lastStart.set(t, start);
    lastCycle = c.cycle;
  }
  for (const p of policies) body.push(JSON.stringify(p));
  const header: SegmentHeader = { segment: 1, from, to, first: firstCycle, cycles: cycles.length };
  const text = `${[JSON.stringify(header), ...head, ...body].join('\n')}\n`;
  return { name: segmentName(from, to, firstCycle), body: gzipSync(text, { level: 9 }), from, to };
}

export interface DecodedSegment {
  header: SegmentHeader | undefined;
  cycles: RawCycle[];
  policies: PolicyChangeEntry[];
  damaged: number[];
  /** Set when the gzip stream itself is damaged: what could be decoded is still returned. */
  truncated?: string;
}

/** Reads a segment back; a damaged line (or a damaged tail of the gzip stream) is reported, never fatal. */
export function decodeSegment(gz: Buffer): DecodedSegment {
  let text: string;
  let truncated: string | undefined;
  try {
    text = gunzipSync(gz).toString('utf8');
  } catch (err) {
    truncated = (err as Error).message;
    try {
      // What precedes the damage is still readable.
      text = gunzipSync(gz, { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString('utf8');
    } catch {
      text = '';
    }
  }
  const out: DecodedSegment = { header: undefined, cycles: [], policies: [], damaged: [], ...(truncated ? { truncated } : {}) };
  const targets = new Map<number, { id: string; engine: string }>();
  const plans = new Map<number, string[]>();
  const lastStart = new Map<number, number>();
  let lastCycle = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      out.damaged.push(i + 1);
      continue;
    }
    if (i === 0) {
      const h = v as Partial<SegmentHeader>;
      if (h?.segment !== 1 || typeof h.from !== 'number' || typeof h.to !== 'number' || typeof h.first !== 'number') {
        out.damaged.push(1);
        return out;
      }
      out.header = h as SegmentHeader;
      lastCycle = h.first ?? 0;
      continue;
    }
    const header = out.header!;
    if (Array.isArray(v)) {
      const [dc, t, dt, p, ms, slow, failed] = v as Partial<CycleRecordLine>;
      const target = typeof t === 'number' ? targets.get(t) : undefined;
      const plan = typeof p === 'number' ? plans.get(p) : undefined;
      // The earlier layout: every statement's duration in place of the cycle's.
      const every = Array.isArray(ms) ? ms : undefined;
      if (
        typeof dc !== 'number' ||
        typeof dt !== 'number' ||
        target === undefined ||
        plan === undefined ||
        (every === undefined ? typeof ms !== 'number' : every.length !== plan.length || !every.every((x) => typeof x === 'number')) ||
        (slow !== undefined && !Array.isArray(slow)) ||
        (failed !== undefined && (every !== undefined || !Array.isArray(failed)))
      ) {
        out.damaged.push(i + 1);
        continue;
      }
      const cycle = lastCycle + dc;
      const startedAt = (lastStart.get(t!) ?? header.from) + dt;
      lastStart.set(t!, startedAt);
      lastCycle = cycle;
      const statements: RawStatement[] = plan.map((sid, k) => ({ sid, ms: every?.[k], outcome: 'ok' }));
      // In the earlier layout the sixth element was the failed list.
      const failures = every !== undefined ? ((slow as unknown as ([number, string] | [number, string, string])[] | undefined) ?? []) : (failed ?? []);
      if (every === undefined)
        for (const d of slow ?? []) {
          const s = Array.isArray(d) && typeof d[0] === 'number' && typeof d[1] === 'number' ? statements[d[0]] : undefined;
          if (s !== undefined) s.ms = d[1];
        }
      for (const f of failures) {
        const s = Array.isArray(f) && typeof f[0] === 'number' ? statements[f[0]] : undefined;
        if (s === undefined || (f[1] !== 'error' && f[1] !== 'refused')) continue;
        s.outcome = f[1];
        if (typeof f[2] === 'string') s.code = f[2];
      }
      const duration = every === undefined ? (ms as number) : every.reduce((a, b) => a + b, 0);
      out.cycles.push({ cycle, target: target.id, engine: target.engine, startedAt, endedAt: startedAt + duration, statements });
      continue;
    }
    const o = v as Record<string, unknown>;
    if (typeof o['t'] === 'number' && typeof o['id'] === 'string' && typeof o['engine'] === 'string') targets.set(o['t'], { id: o['id'], engine: o['engine'] });
    else if (typeof o['p'] === 'number' && Array.isArray(o['s']) && o['s'].every((x) => typeof x === 'string')) plans.set(o['p'], o['s'] as string[]);
    else {
      const parsed = parseLiveLine(line);
      if (parsed?.kind === 'policy') out.policies.push(parsed.value);
      else out.damaged.push(i + 1);
    }
  }
  return out;
}
