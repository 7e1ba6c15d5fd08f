import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../collectors/core/engine.js';
import type { AgentAuditSink, AuditEntry, PolicyChangeEntry } from '../../collectors/core/audit.js';
import { currentAuditCycle } from '../../collectors/core/audit-cycle.js';
import { encodeSegment, type Grouped, groupLive, groupLiveInto, LiveGroup } from './compact.js';
import { digestOf, ID_LENGTHS, idMatches, LEGACY_RE, type LiveStatement, parseStatementLine, SEGMENT_RE } from './format.js';

export interface LedgerOptions {
  /** Everything the ledger keeps (live file, statement texts, compressed segments) stays within this many bytes. Default 100 MB. */
  maxBytes?: number;
  /** Cycles older than this are dropped. Default 30 days. */
  retentionDays?: number;
  /** The live file is compacted into a compressed segment when it would exceed this. Default 16 MB, at most an eighth of maxBytes. */
  liveMaxBytes?: number;
  /** The clock used for retention (a bench runs simulated time). */
  now?: () => number;
  /**
   * Bench only: gather lines and write them together (when 64 KB have gathered,
   * before a rotation, on flush() and close()) instead of one write per
   * statement. The bytes, rotations, segments and retention are the same; only
   * when lines reach the file changes, so a process killed loses what was still
   * gathered. The agent never sets it.
   */
  deferWrites?: boolean;
}

const DEFERRED_FLUSH_BYTES = 64 * 1024;

export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;
/** Statements without a cycle (check, test connection) from one target are one group while they follow within this. */
const ADHOC_GAP_MS = 10_000;

/** The operator's retention settings from the environment (LOGSTAG_AUDIT_RETENTION_DAYS, LOGSTAG_AUDIT_MAX_MB). */
export function ledgerOptionsFromEnv(env: NodeJS.ProcessEnv): LedgerOptions {
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number, not "${raw}"`);
    return n;
  };
  const days = num('LOGSTAG_AUDIT_RETENTION_DAYS');
  const mb = num('LOGSTAG_AUDIT_MAX_MB');
  return { ...(days === undefined ? {} : { retentionDays: days }), ...(mb === undefined ? {} : { maxBytes: Math.round(mb * 1024 * 1024) }) };
}

interface SegmentFile {
  name: string;
  to: number;
  bytes: number;
}

/**
 * The local audit ledger (docs/audit-ledger.md). Every statement the agent
 * sends is appended, synchronously and before anything else happens, to the live
 * file as one short line that names its text by digest; the text itself is
 * written once, to statements.jsonl, before the first line that uses it. When
 * the live file is full it is compacted into a gzip segment holding one record
 * per cycle (the cycle's statement list becomes a plan stored once per
 * segment). Segments older than the retention are dropped, and the oldest go
 * first whenever the whole ledger would exceed its size cap.
 *
 * A damaged line (a crash mid-write, a hand edit) never stops the ledger: the
 * reader reports and skips it, and the writer starts its next line on a fresh
 * line.
 */
export class AuditLedger implements AgentAuditSink {
  /** The live file (what "Open audit ledger" shows). */
  readonly file: string;
  readonly statementsFile: string;
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly retentionMs: number;
  private readonly liveMaxBytes: number;
  private readonly now: () => number;
  private readonly deferWrites: boolean;
  /** Lines gathered and not yet written (deferWrites only). */
  private pending: string[] = [];
  private pendingBytes = 0;
  private fd: number | undefined;
  private liveBytes = 0;
  private statementsBytes = 0;
  private nextCycle = 1;
  /** statement text → id, and id → text, for every statement in statements.jsonl. */
  private readonly idOf = new Map<string, string>();
  private readonly textOf = new Map<string, string>();
  private readonly adhoc = new Map<string, { cycle: number; lastMs: number }>();
  private segments: SegmentFile[] = [];
  /**
   * The live file's cycles as a segment keeps them, built as each line is
   * written (seeded from the file when the ledger opens): a rotation compacts
   * this rather than reading 16 MB back and parsing every line.
   */
  private live: LiveGroup = this.newLiveGroup();

  constructor(dir: string, opts: LedgerOptions = {}) {
    this.dir = dir;
    this.file = join(dir, 'audit.jsonl');
    this.statementsFile = join(dir, 'statements.jsonl');
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.retentionMs = (opts.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
    this.liveMaxBytes = Math.max(4096, Math.min(opts.liveMaxBytes ?? 16 * 1024 * 1024, Math.floor(this.maxBytes / 8)));
    this.now = opts.now ?? Date.now;
    this.deferWrites = opts.deferWrites === true;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.loadStatements();
    this.scanSegments();
    // A rotation interrupted by a crash, and files from an earlier version, become segments first.
    const rotating = join(dir, 'audit.rotating.jsonl');
    if (existsSync(rotating)) this.compactFile(rotating);
    for (const legacy of readdirSync(dir)
      .filter((n) => LEGACY_RE.test(n))
      .sort((a, b) => Number(LEGACY_RE.exec(b)![1]) - Number(LEGACY_RE.exec(a)![1])))
      this.compactFile(join(dir, legacy));
    this.resumeLive();
  }

  record(entry: AuditEntry): void {
    const sid = this.intern(entry.statement);
    const line: LiveStatement = {
      time: entry.time,
      target: entry.targetId,
      engine: entry.engine,
      cycle: this.cycleOf(entry),
      sid,
      ms: entry.durationMs,
      outcome: entry.outcome,
    };
    if (entry.code !== undefined) line.code = entry.code;
    if (entry.rows !== undefined) line.rows = entry.rows;
    this.appendLive(`${JSON.stringify(line)}\n`);
    // After the write (which may have rotated): the writer's copy of the live file gains the line just written.
    this.live.statement(line);
  }

  recordPolicyChange(entry: PolicyChangeEntry): void {
    const line = JSON.stringify(entry);
    this.appendLive(`${line}\n`);
    this.live.policyLine(line);
  }

  /** Bytes the ledger holds on disk now (live file, statement texts, segments). */
  bytesOnDisk(): number {
    return this.liveBytes + this.statementsBytes + this.segments.reduce((a, s) => a + s.bytes, 0);
  }

  /** Writes what deferWrites gathered (nothing to do otherwise: every line is written as it is recorded). */
  flush(): void {
    if (this.pendingBytes === 0) return;
    if (this.fd === undefined) this.openLive();
    writeSync(this.fd!, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Closes the live file (a new record reopens it). */
  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The statement's id: the digest of its exact text, written to statements.jsonl before first use. */
  private intern(text: string): string {
    const known = this.idOf.get(text);
    if (known !== undefined) return known;
    const digest = digestOf(text);
    // Two texts sharing a digest prefix: the later one takes a longer id, so an id always names one text.
    const id = ID_LENGTHS.map((n) => digest.slice(0, n)).find((candidate) => !this.textOf.has(candidate)) ?? digest;
    const line = `${JSON.stringify({ id, text })}\n`;
    writeFileSync(this.statementsFile, line, { flag: 'a', mode: 0o600 });
    this.statementsBytes += Buffer.byteLength(line);
    this.idOf.set(text, id);
    this.textOf.set(id, text);
    return id;
  }

  private cycleOf(entry: AuditEntry): number {
    const scope = currentAuditCycle();
    if (scope !== undefined) {
      let mine = scope.ids.get(this);
      if (mine === undefined) scope.ids.set(this, (mine = new Map()));
      let n = mine.get(entry.targetId);
      if (n === undefined) mine.set(entry.targetId, (n = this.nextCycle++));
      return n;
    }
    const at = Date.parse(entry.time);
    const run = this.adhoc.get(entry.targetId);
    if (run !== undefined && at - entry.durationMs - run.lastMs <= ADHOC_GAP_MS) {
      run.lastMs = Math.max(run.lastMs, at);
      return run.cycle;
    }
    const cycle = this.nextCycle++;
    this.adhoc.set(entry.targetId, { cycle, lastMs: at });
    return cycle;
  }

  private appendLive(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.liveBytes > 0 && this.liveBytes + bytes > this.liveMaxBytes) this.rotate();
    if (this.fd === undefined) this.openLive();
    if (this.deferWrites) {
      this.pending.push(line);
      this.pendingBytes += bytes;
      if (this.pendingBytes >= DEFERRED_FLUSH_BYTES) this.flush();
    } else writeSync(this.fd!, line);
    this.liveBytes += bytes;
  }

  private openLive(): void {
    this.fd = openSync(this.file, 'a', 0o600);
    this.liveBytes = fstatSync(this.fd).size;
    // A line cut short (a crash mid-write, a hand edit) is closed, so the next record is a line of its own.
    if (this.liveBytes > 0) {
      const last = Buffer.alloc(1);
      const rfd = openSync(this.file, 'r');
      try {
        readSync(rfd, last, 0, 1, this.liveBytes - 1);
      } finally {
        closeSync(rfd);
      }
      if (last[0] !== 0x0a) {
        writeSync(this.fd, '\n');
        this.liveBytes += 1;
      }
    }
  }

  /** Picks up after a restart: the next cycle number follows every cycle already recorded. */
  private resumeLive(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.live = groupLiveInto(this.newLiveGroup(), text);
    const { cycles, legacy } = this.live.result();
    for (const c of cycles) this.nextCycle = Math.max(this.nextCycle, c.cycle + 1);
    // A live file from an earlier version has no cycle numbers: it is compacted now, as one segment.
    if (legacy) {
      this.close();
      const rotating = join(this.dir, 'audit.rotating.jsonl');
      renameSync(this.file, rotating);
      this.live = this.newLiveGroup();
      this.compactFile(rotating);
    }
    // Opened on the first record: until then there is no live file (the app shows the folder).
    this.liveBytes = existsSync(this.file) ? statSync(this.file).size : 0;
  }

  private loadStatements(): void {
    let text = '';
    try {
      text = readFileSync(this.statementsFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.statementsBytes = Buffer.byteLength(text);
    for (const line of text.split('\n')) {
      const s = line === '' ? undefined : parseStatementLine(line);
      // A hand-edited text no longer matches its id: it is not trusted, and the text is recorded again when next sent.
      if (s === undefined || !idMatches(s.id, s.text) || this.textOf.has(s.id)) continue;
      this.idOf.set(s.text, s.id);
      this.textOf.set(s.id, s.text);
    }
    if (text !== '' && !text.endsWith('\n')) {
      writeFileSync(this.statementsFile, '\n', { flag: 'a' });
      this.statementsBytes += 1;
    }
  }

  private scanSegments(): void {
    this.segments = readdirSync(this.dir)
      .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
      .filter((x) => x.m !== null)
      .map(({ name, m }) => ({ name, to: Number(m![2]), bytes: statSync(join(this.dir, name)).size }))
      .sort((a, b) => a.to - b.to || a.name.localeCompare(b.name));
  }

  private newLiveGroup(): LiveGroup {
    return new LiveGroup({ intern: (t) => this.intern(t), nextCycle: () => this.nextCycle++, lean: true });
  }

  /**
   * The live file becomes a compressed segment; then retention and the size cap
   * are applied. The segment is made from the writer's copy of the file (the
   * same lines, grouped by the same code as a file read back); the file is
   * renamed first, so a crash before the segment is written leaves it to be
   * compacted from disk when the ledger next opens.
   */
  private rotate(): void {
    this.close();
    const rotating = join(this.dir, 'audit.rotating.jsonl');
    renameSync(this.file, rotating);
    this.liveBytes = 0;
    const held = this.live;
    this.live = this.newLiveGroup();
    this.writeSegment(held.result(), rotating);
    this.adhoc.clear();
  }

  /**
   * Compacts one live-format file into a segment, then removes it. The segment's
   * name follows from its content, so a compaction repeated after a crash
   * rewrites the same segment rather than adding a second copy.
   */
  private compactFile(path: string): void {
    const text = readFileSync(path, 'utf8');
    this.writeSegment(groupLive(text, { intern: (t) => this.intern(t), nextCycle: () => this.nextCycle++ }), path);
  }

  /** Writes the segment of `grouped` (the content of the live-format file `path`), removes `path`, prunes. */
  private writeSegment({ cycles, policies }: Grouped, path: string): void {
    for (const c of cycles) this.nextCycle = Math.max(this.nextCycle, c.cycle + 1);
    if (cycles.length > 0 || policies.length > 0) {
      const seg = encodeSegment(cycles, policies);
      const tmp = join(this.dir, `${seg.name}.tmp`);
      writeFileSync(tmp, seg.body, { mode: 0o600 });
      renameSync(tmp, join(this.dir, seg.name));
      this.segments = this.segments.filter((s) => s.name !== seg.name);
      this.segments.push({ name: seg.name, to: seg.to, bytes: seg.body.length });
      this.segments.sort((a, b) => a.to - b.to || a.name.localeCompare(b.name));
    }
    rmSync(path, { force: true });
    this.prune();
  }

  /** Drops segments past the retention, then the oldest while the ledger is over its cap. */
  private prune(): void {
    const horizon = this.now() - this.retentionMs;
    while (this.segments.length > 0 && (this.segments[0]!.to < horizon || this.bytesOnDisk() > this.maxBytes - this.liveMaxBytes)) {
      rmSync(join(this.dir, this.segments.shift()!.name), { force: true });
    }
  }
}

/** Who is at the controls: the OS user the agent runs as (the app and the CLI run as the operator). */
export function operatorName(): string {
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}
