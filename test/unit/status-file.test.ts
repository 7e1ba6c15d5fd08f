// The per-target status file the running agent keeps for `status` (agent/run/status-file.ts):
// states and counters from the loop's cycle reports, atomic rewrites under a burst of
// cycles, and a reader that reports a dead or damaged file instead of trusting or crashing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TargetConnectError } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import type { CycleReport } from '../../agent/run/run-loop.js';
import { type AgentRunStatus, describeTargetStatus, readTargetStatus, TargetStatusRecorder, targetStatusFile } from '../../agent/run/status-file.js';

const target = (id: string): Target => TargetSchema.parse({ id, engine: 'postgres', host: 'db1.internal', port: 5432, user: 'monitor', database: 'app' });
const AGENT = { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'test' };
const payload = (id: string, signals: PayloadV1['signals'] = []): PayloadV1 => ({
  schema: 'logstag.payload/v1',
  agent: AGENT,
  target: { id, engine: 'postgres', name: id },
  collectedAt: new Date().toISOString(),
  signals,
});
const ok = (id: string, signals: PayloadV1['signals'] = []): CycleReport => ({
  id,
  outcome: 'spooled',
  key: 'k',
  payload: payload(id, signals),
  durationMs: 5,
});
const failed = (id: string, kind: 'credentials' | 'unreachable' | 'timeout', message: string, since = '2026-01-01T00:00:00.000Z'): CycleReport => ({
  id,
  outcome: 'failed',
  problem: { kind, message, since },
});

function setup(ids: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'lsa-status-'));
  const file = targetStatusFile(join(dir, 'spool'));
  let clock = Date.parse('2026-06-01T12:00:00.000Z');
  const rec = new TargetStatusRecorder(file, {
    config: '/etc/logstag-agent/config.json',
    targets: ids.map((id) => ({ target: target(id), intervalSeconds: 60 })),
    now: () => new Date((clock += 1000)),
  });
  const read = (): AgentRunStatus => JSON.parse(readFileSync(file, 'utf8')) as AgentRunStatus;
  return { dir, file, rec, read };
}

describe('TargetStatusRecorder', () => {
  it('writes every target as pending at start, next to the spool', async () => {
    const { rec, read, file, dir } = setup(['a', 'b']);
    expect(file).toBe(join(dir, 'spool-targets.json'));
    await rec.start();
    const s = read();
    expect(s.pid).toBe(process.pid);
    expect(s.stoppedAt).toBeNull();
    expect(s.targets.map((t) => [t.id, t.state, t.address])).toEqual([
      ['a', 'pending', 'db1.internal:5432'],
      ['b', 'pending', 'db1.internal:5432'],
    ]);
  });

  it('counts consecutive failures, keeps the first "since" of a lasting problem, and resets on success', async () => {
    const { rec, read } = setup(['a']);
    await rec.start();
    rec.record({
      id: 'a',
      outcome: 'spooled',
      key: 'k',
      payload: payload('a'),
      durationMs: 3,
      connectError: new TargetConnectError('authentication', 'password authentication failed for user "monitor"'),
    });
    rec.record({
      id: 'a',
      outcome: 'spooled',
      key: 'k',
      payload: payload('a'),
      durationMs: 3,
      connectError: new TargetConnectError('authentication', 'password authentication failed for user "monitor"'),
    });
    await rec.flush();
    let t = read().targets[0]!;
    expect(t).toMatchObject({ state: 'credentials_rejected', stateText: 'credentials rejected', consecutiveFailures: 2, lastSuccessAt: null });
    const firstSince = t.lastError!.since;
    expect(t.lastError!.message).toBe('password authentication failed for user "monitor"');
    rec.record(failed('a', 'credentials', 'password authentication failed again'));
    await rec.flush();
    t = read().targets[0]!;
    expect(t.consecutiveFailures).toBe(3);
    // The loop's own problem carries its since: the recorder keeps what the loop says.
    expect(t.lastError!.since).toBe('2026-01-01T00:00:00.000Z');
    expect(firstSince).not.toBe('2026-01-01T00:00:00.000Z');
    rec.record(failed('a', 'timeout', 'the collection cycle took longer than 30 s and was abandoned'));
    await rec.flush();
    expect(read().targets[0]).toMatchObject({ state: 'timed_out', consecutiveFailures: 4 });
    rec.record(ok('a'));
    await rec.flush();
    t = read().targets[0]!;
    expect(t).toMatchObject({ state: 'ok', consecutiveFailures: 0, lastError: null, permissionGaps: 0 });
    expect(t.lastSuccessAt).toBe(t.lastCycleAt);
    expect(Date.parse(t.nextCycleAt!) - Date.parse(t.lastCycleAt!)).toBe(60_000);
  });

  it('says when a target collects but lacks grants, in words', async () => {
    const { rec, read } = setup(['a']);
    rec.record(ok('a', [{ id: 'pg.stat_statements', family: 'query_stats', status: 'unavailable', reason: 'permission', detail: 'needs pg_read_all_stats' }]));
    await rec.flush();
    expect(read().targets[0]).toMatchObject({ state: 'permission_limited', permissionGaps: 1 });
    expect(read().targets[0]!.stateText).toMatch(/1 signal\(s\) unavailable for lack of a grant/);
  });

  it('ignores reports for targets it was not given (no entry invented)', async () => {
    const { rec, read } = setup(['a']);
    await rec.start();
    rec.record(ok('intruder'));
    await rec.flush();
    expect(read().targets.map((t) => t.id)).toEqual(['a']);
  });

  it('a burst of cycles leaves one whole, current file (writes are serialized and atomic)', async () => {
    const { rec, file } = setup(['a', 'b']);
    const reads: string[] = [];
    for (let i = 0; i < 200; i++) {
      rec.record(i % 2 === 0 ? ok('a') : failed('b', 'unreachable', `connect ECONNREFUSED try ${i}`));
      if (i % 20 === 0) {
        try {
          reads.push(readFileSync(file, 'utf8'));
        } catch {
          // not written yet
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    await rec.flush();
    for (const text of [...reads, readFileSync(file, 'utf8')]) expect(() => JSON.parse(text)).not.toThrow();
    const s = JSON.parse(readFileSync(file, 'utf8')) as AgentRunStatus;
    expect(s.targets[1]).toMatchObject({ consecutiveFailures: 100, state: 'unreachable' });
    expect(s.targets[1]!.lastError!.message).toBe('connect ECONNREFUSED try 199');
  });

  it('a thousand targets ending cycles back to back: one write per interval for the whole agent, and the last change always lands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-status-'));
    const file = targetStatusFile(join(dir, 'spool'));
    const ids = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    const rec = new TargetStatusRecorder(file, {
      config: 'c.json',
      targets: ids.map((id) => ({ target: target(id), intervalSeconds: 15 })),
      minIntervalMs: 300,
    });
    await rec.start();
    const began = performance.now();
    for (let round = 0; round < 3; round++) {
      for (const id of ids) {
        rec.record(ok(id));
        await new Promise((r) => setImmediate(r));
      }
    }
    const elapsed = performance.now() - began;
    // 3,000 cycle reports: the start's write, then at most one per 300 ms (and one in flight at the end).
    expect(rec.writeCount).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 300));
    rec.record(failed('t999', 'unreachable', 'the very last report'));
    // No flush: the held-back write still comes within the interval.
    await new Promise((r) => setTimeout(r, 700));
    const s = JSON.parse(readFileSync(file, 'utf8')) as AgentRunStatus;
    expect(s.targets[999]!.lastError!.message).toBe('the very last report');
    expect(s.targets.every((t) => t.lastCycleAt !== null)).toBe(true);
  });

  it('a message of many lines is stored as one line', async () => {
    const { rec, read } = setup(['a']);
    rec.record(failed('a', 'unreachable', 'line one\n    at Socket.connect (node:net:1:1)\nline three'));
    await rec.flush();
    expect(read().targets[0]!.lastError!.message).not.toContain('\n');
  });
});

describe('readTargetStatus', () => {
  it('a clean stop reads as stopped; a dead PID without a stop reads as not running (not as running)', async () => {
    const { rec, file } = setup(['a']);
    await rec.start();
    let r = await readTargetStatus(file);
    expect(r).toMatchObject({ found: true, running: true });
    await rec.stop();
    r = await readTargetStatus(file);
    expect(r).toMatchObject({ found: true, running: false });
    expect(describeTargetStatus(r).join('\n')).toMatch(/agent: +stopped at /);
    // A crashed agent: stoppedAt null, PID gone (PID 2^22 is above Linux's pid_max).
    const s = JSON.parse(readFileSync(file, 'utf8')) as AgentRunStatus;
    writeFileSync(file, JSON.stringify({ ...s, stoppedAt: null, pid: 4_194_305 }));
    r = await readTargetStatus(file);
    expect(r).toMatchObject({ found: true, running: false });
    expect(describeTargetStatus(r).join('\n')).toMatch(/not running \(pid 4194305 is gone without stopping cleanly/);
  });

  it('a missing or damaged file is reported, never thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-status-'));
    const file = join(dir, 'spool-targets.json');
    expect(describeTargetStatus(await readTargetStatus(file)).join('\n')).toMatch(/no status yet/);
    writeFileSync(file, '{"v":1,"targets":[{"id":');
    expect(describeTargetStatus(await readTargetStatus(file)).join('\n')).toMatch(/cannot be read: damaged/);
    writeFileSync(file, '{"v":2}');
    expect(describeTargetStatus(await readTargetStatus(file)).join('\n')).toMatch(/cannot be read: damaged \(unknown layout\)/);
  });
});
