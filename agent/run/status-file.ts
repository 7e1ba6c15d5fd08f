/**
 * Per-target status without the window: the running agent (`run`) keeps a
 * small JSON file next to its spool with every target's state, last cycle,
 * consecutive failures, last error in plain words and when it is tried next.
 * `logstag-agent status --config FILE` reads it: no listener, no socket, just
 * a file written atomically (write to a temporary name, fsync, rename), so a
 * reader sees the previous or the next version, never half of one.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { setupGaps } from '../../collectors/core/signal.js';
import { oneLine } from '../../collectors/core/text.js';
import type { CycleReport, LoopTarget, ProblemKind } from './run-loop.js';
import type { TargetScheduleStats } from './scheduler.js';

export type TargetState =
  'pending' | 'ok' | 'permission_limited' | 'credentials_rejected' | 'unreachable' | 'timed_out' | 'config_error' | 'failing' | 'not_stored';

const STATE_WORDS: Record<TargetState, string> = {
  pending: 'waiting for its first cycle',
  ok: 'collecting',
  permission_limited: 'collecting, but some signals are unavailable for lack of a grant (see `logstag-agent check`)',
  credentials_rejected: 'credentials rejected',
  unreachable: 'unreachable',
  timed_out: 'cycle timed out',
  config_error: 'configuration problem',
  failing: 'collection failing',
  not_stored: 'collected, but the payload could not be stored for delivery',
};

export interface TargetStatus {
  id: string;
  engine: string;
  /** host:port (no credentials). */
  address: string;
  intervalSeconds: number;
  state: TargetState;
  /** The state in plain words. */
  stateText: string;
  lastCycleAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  lastError: { kind: ProblemKind | 'authentication' | 'delivery'; message: string; since: string } | null;
  /** Signals unavailable for lack of a grant in the last collected cycle. */
  permissionGaps: number | null;
  /** When the loop collects it next (its interval after the last cycle; the loop retries a failing target on its interval). */
  nextCycleAt: string | null;
  /**
   * Intervals in which the target was due and not collected (its previous cycle
   * still ran, or no slot was free in time) since the agent started. Absent in
   * files written by older agents.
   */
  missedIntervals?: number;
  /** How late its last cycle started after it was due, in ms. */
  lastStartLagMs?: number;
}

export interface AgentRunStatus {
  v: 1;
  pid: number;
  config: string;
  startedAt: string;
  updatedAt: string;
  /** Set when the agent stopped cleanly; null while it runs (or if it died without stopping). */
  stoppedAt: string | null;
  targets: TargetStatus[];
}

/** Where `run --config` keeps its targets' status: next to its spool, so every user who reads the spool finds it. */
export function targetStatusFile(spoolDir: string): string {
  return join(dirname(spoolDir), `${basename(spoolDir)}-targets.json`);
}

const STATE_OF: Record<ProblemKind, TargetState> = {
  credentials: 'credentials_rejected',
  unreachable: 'unreachable',
  timeout: 'timed_out',
  config: 'config_error',
  internal: 'failing',
};

/** Keeps the status file of one `run` from its loop's 'cycle' reports. */
export class TargetStatusRecorder {
  private readonly status: AgentRunStatus;
  private readonly byId = new Map<string, TargetStatus>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  /** The least time between two writes (the last change is always written, at most this late). */
  readonly minIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() of the last write's start. */
  private lastWrite = -Infinity;
  /** Files written so far (the start's included). */
  writeCount = 0;

  constructor(
    readonly file: string,
    opts: { config: string; targets: readonly LoopTarget[]; now?: () => Date; pid?: number; minIntervalMs?: number },
  ) {
    this.now = opts.now ?? (() => new Date());
    // A thousand targets end a cycle every few ms; the file (every target) is rewritten at most once a second.
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    const at = this.now().toISOString();
    this.status = { v: 1, pid: opts.pid ?? process.pid, config: opts.config, startedAt: at, updatedAt: at, stoppedAt: null, targets: [] };
    for (const { target, intervalSeconds } of opts.targets) {
      const t: TargetStatus = {
        id: target.id,
        engine: target.engine,
        address: `${target.host}:${target.port}`,
        intervalSeconds,
        state: 'pending',
        stateText: STATE_WORDS.pending,
        lastCycleAt: null,
        lastSuccessAt: null,
        consecutiveFailures: 0,
        lastError: null,
        permissionGaps: null,
        nextCycleAt: null,
        missedIntervals: 0,
        lastStartLagMs: 0,
      };
      this.byId.set(target.id, t);
      this.status.targets.push(t);
    }
  }

  private readonly now: () => Date;

  /** Takes the scheduler's view of a target (missed intervals, start lag, next due time). */
  noteSchedule(id: string, schedule: TargetScheduleStats | undefined): void {
    const t = this.byId.get(id);
    if (t === undefined || schedule === undefined) return;
    const changed = t.missedIntervals !== schedule.missedIntervals;
    t.missedIntervals = schedule.missedIntervals;
    t.lastStartLagMs = Math.round(schedule.lastStartLagMs);
    if (changed) this.schedule();
  }

  /** Applies one cycle report (and the scheduler's view of the target, when given) and schedules a write. */
  record(r: CycleReport, schedule?: TargetScheduleStats): void {
    const t = this.byId.get(r.id);
    if (t === undefined) return;
    this.noteSchedule(r.id, schedule);
    const now = this.now();
    const at = now.toISOString();
    t.lastCycleAt = at;
    t.nextCycleAt = new Date(schedule?.nextDueAt ?? now.getTime() + t.intervalSeconds * 1000).toISOString();
    const fail = (state: TargetState, kind: NonNullable<TargetStatus['lastError']>['kind'], message: string, since?: string): void => {
      t.consecutiveFailures += 1;
      t.lastError = { kind, message: oneLine(message), since: since ?? (t.lastError?.kind === kind ? t.lastError.since : at) };
      this.setState(t, state);
    };
    switch (r.outcome) {
      case 'spooled':
        if (r.connectError !== undefined) {
          const auth = r.connectError.kind === 'authentication';
          fail(auth ? 'credentials_rejected' : 'unreachable', auth ? 'credentials' : 'unreachable', r.connectError.message);
        } else {
          t.consecutiveFailures = 0;
          t.lastError = null;
          t.lastSuccessAt = at;
          t.permissionGaps = setupGaps(r.latest ?? r.payload.signals, r.optionalSignals).filter((s) => s.reason === 'permission').length;
          this.setState(t, t.permissionGaps > 0 ? 'permission_limited' : 'ok');
        }
        break;
      case 'failed':
        fail(STATE_OF[r.problem.kind], r.problem.kind, r.problem.message, r.problem.since);
        break;
      case 'not_stored':
        fail('not_stored', 'delivery', r.message);
        break;
    }
    this.schedule();
  }

  private setState(t: TargetStatus, state: TargetState): void {
    t.state = state;
    t.stateText =
      state === 'permission_limited'
        ? `collecting, ${t.permissionGaps} signal(s) unavailable for lack of a grant (see \`logstag-agent check\`)`
        : STATE_WORDS[state];
  }

  /** Writes the initial file (every target pending) and resolves once it is on disk. */
  async start(): Promise<void> {
    this.schedule();
    await this.flush();
  }

  /** Marks the run stopped and writes it. */
  async stop(): Promise<void> {
    this.status.stoppedAt = this.now().toISOString();
    this.schedule();
    await this.flush();
  }

  /** Resolves when every change so far is on disk (a write held back for minIntervalMs is done now). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.queueWrite();
    }
    return this.writing;
  }

  /**
   * One write at a time, and at most one per minIntervalMs for the whole agent;
   * changes that arrive meanwhile are folded into the next write, which always comes.
   */
  private schedule(): void {
    if (this.dirty) return;
    this.dirty = true;
    const wait = this.lastWrite + this.minIntervalMs - performance.now();
    if (wait <= 0) return this.queueWrite();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.queueWrite();
    }, wait);
    this.timer.unref();
  }

  private queueWrite(): void {
    this.writing = this.writing.then(async () => {
      this.dirty = false;
      this.lastWrite = performance.now();
      this.writeCount++;
      this.status.updatedAt = this.now().toISOString();
      try {
        await writeFileAtomic(this.file, `${JSON.stringify(this.status, null, 2)}\n`, { mode: 0o600 });
      } catch {
        // The status file is a report, not state: a failed write (disk full) must not stop collection; the next cycle writes again.
      }
    });
  }
}

export type ReadStatus =
  { found: false; file: string } | { found: true; file: string; running: boolean; status: AgentRunStatus } | { found: true; file: string; unreadable: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user (the service user).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the status file; never throws for a missing or damaged file (status reports it). */
export async function readTargetStatus(file: string): Promise<ReadStatus> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { found: false, file };
    return { found: true, file, unreadable: oneLine((err as Error).message) };
  }
  let status: AgentRunStatus;
  try {
    status = JSON.parse(text) as AgentRunStatus;
    if (status?.v !== 1 || !Array.isArray(status.targets) || typeof status.pid !== 'number') throw new Error('unknown layout');
  } catch (err) {
    return { found: true, file, unreadable: `damaged (${oneLine((err as Error).message)})` };
  }
  return { found: true, file, running: status.stoppedAt === null && alive(status.pid), status };
}

/** The targets part of `status`, for a person. */
export function describeTargetStatus(r: ReadStatus, now: Date = new Date()): string[] {
  if (!r.found) return [`targets:         no status yet (the agent writes ${r.file} while \`run --config\` runs)`];
  if ('unreadable' in r) return [`targets:         ${r.file} cannot be read: ${r.unreadable}`];
  const s = r.status;
  const ago = (iso: string | null): string => (iso === null ? 'never' : `${iso} (${Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000))} s ago)`);
  const agent = r.running
    ? `running (pid ${s.pid}, since ${s.startedAt}; status updated ${ago(s.updatedAt)})`
    : s.stoppedAt !== null
      ? `stopped at ${s.stoppedAt}`
      : `not running (pid ${s.pid} is gone without stopping cleanly; last update ${ago(s.updatedAt)})`;
  const lines = [`agent:           ${agent}`, 'targets:'];
  for (const t of s.targets) {
    lines.push(`  ${t.id} (${t.engine} ${t.address}): ${t.stateText}`);
    lines.push(`      last cycle ${ago(t.lastCycleAt)}; last success ${ago(t.lastSuccessAt)}; consecutive failures ${t.consecutiveFailures}`);
    if (t.lastError !== null) lines.push(`      last error (since ${t.lastError.since}): ${t.lastError.message}`);
    if (r.running && t.nextCycleAt !== null) lines.push(`      next attempt ${t.nextCycleAt} (every ${t.intervalSeconds} s)`);
  }
  return lines;
}
