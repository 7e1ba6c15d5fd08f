/**
 * One agent, many PostgreSQL targets (issue 24): the real run loop (`logstag-agent
 * run --config`, payloads spooled through the real Delivery) collects 1,000
 * targets at a 15 s interval against a private PostgreSQL server, first with
 * sessions kept across cycles, then (A/B) opening a session every cycle.
 * Prints, per run: payloads per target per interval (min/median), targets that
 * missed an interval, the agent process's CPU share of one core (its own CPU
 * time / wall time, from /proc), its peak RSS, and the median cycle time.
 * Goal: every target every interval, ≤ 50 % of one core, ≤ 300 MB.
 *
 *   npm run bench:targets [-- --targets 1000 --interval 15 --seconds 180 --warmup 30 --modes pooled,unpooled
 *                            --servers 10 --server-nice 10 --node-args=--cpu-prof,--cpu-prof-dir=/tmp/prof
 *                            --schedule activity=interval,waits_locks=interval]
 *
 * --servers K spreads the targets over K private PostgreSQL servers (target i on
 * server i mod K), so each target sees about N/K agent sessions in
 * pg_stat_activity instead of N. Real targets are separate servers with their own
 * few sessions; with one server, every activity sample of every target reads all
 * 1,000 agent backends (and pg_blocking_pids for each), so the server's cost per
 * cycle, and the payload, grow with the number of targets. The default K = 10 is
 * what a 2-core machine can host beside the agent: each server is a postmaster
 * plus its background processes (about 6) and ~N/K backends, with small
 * shared_buffers; 20 servers doubles the idle background work for 50 instead of
 * 100 sessions per server. The bench prints each server's sessions, the servers'
 * total CPU share, and the median number of rows `postgres.activity` returned
 * per sample (read back from the spooled payloads) so a reader sees what each
 * target saw.
 *
 * --server-nice lowers the PostgreSQL server's priority (its backends inherit the
 * postmaster's), so on a small machine the agent's own figures are less disturbed
 * by the server it monitors; --node-args passes options to the agent's node (a
 * CPU or heap profile of the run).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseRecord } from '../agent/delivery/spool.js';
import { type PgHarness, startPostgres } from '../test/harness/postgres.js';
import { superClient } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '180' },
    warmup: { type: 'string', default: '30' },
    modes: { type: 'string', default: 'pooled,unpooled' },
    servers: { type: 'string', default: '10' },
    'server-nice': { type: 'string', default: '0' },
    'node-args': { type: 'string', default: '' },
    // Every target's `schedule` override, e.g. activity=interval,waits_locks=interval (default: none, the catalog's periods).
    schedule: { type: 'string', default: '' },
  },
});
const SCHEDULE: Record<string, number | 'interval'> = Object.fromEntries(
  values.schedule
    .split(',')
    .filter((x) => x !== '')
    .map((kv) => {
      const [family, period] = kv.split('=');
      // The agent checks families and periods itself; here only the shape, so a typo fails before ten servers start.
      if (family === undefined || period === undefined || !(period === 'interval' || /^[1-9]\d*$/.test(period)))
        throw new RangeError(`--schedule: "${kv}" is not family=seconds or family=interval`);
      return [family, period === 'interval' ? 'interval' : Number(period)];
    }),
);
const TARGETS = Number(values.targets);
const INTERVAL = Number(values.interval);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const MODES = values.modes.split(',') as Array<'pooled' | 'unpooled'>;
const SERVERS = Number(values.servers);
if (!Number.isInteger(SERVERS) || SERVERS < 1 || SERVERS > TARGETS) throw new RangeError('--servers must be an integer from 1 to --targets');
const SERVER_NICE = Number(values['server-nice']);
const NODE_ARGS = values['node-args'] === '' ? [] : values['node-args'].split(',');
const CLK_TCK = 100;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process's own CPU time (user + system) in seconds, from /proc. */
function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}
/** The process's CPU time in user space (its own code) and in the kernel (system calls: sockets, files), in seconds. */
function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}
/**
 * The PostgreSQL servers' CPU time in seconds: each postmaster and every process it
 * forked that is alive now (backends of pooled sessions live through the window;
 * a backend that exited in between is missing, one started in between counts whole).
 */
function serverCpuSeconds(postmasters: number[]): number {
  const pm = new Set(postmasters);
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (pm.has(Number(name)) || pm.has(Number(fields[1]))) total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
const statusKb = (pid: number, key: string): number =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** Median rows of `postgres.activity` per sample, over every payload in the spool (0 when none). */
function activityRowsMedian(spoolDir: string): { median: number; samples: number } {
  const rows: number[] = [];
  for (const name of readdirSync(spoolDir).filter((n) => n.endsWith('.seg'))) {
    const buf = readFileSync(join(spoolDir, name));
    for (let pos = 0; ;) {
      const rec = parseRecord(buf, pos);
      if (typeof rec === 'string') break;
      pos = rec.end;
      if (rec.seq === 0) continue;
      try {
        const payload = JSON.parse(rec.body.toString('utf8')) as { signals?: Array<{ id: string; value?: unknown }> };
        const activity = payload.signals?.find((s) => s.id === 'postgres.activity');
        if (Array.isArray(activity?.value)) rows.push(activity.value.length);
      } catch {
        // not a JSON payload: not counted
      }
    }
  }
  return { median: rows.length ? median(rows) : 0, samples: rows.length };
}

// Start the servers a few at a time (initdb and a restart each; more at once only thrash two cores).
const servers: PgHarness[] = [];
const perServer = Math.ceil(TARGETS / SERVERS);
try {
  for (let i = 0; i < SERVERS; i += 4) {
    await Promise.all(
      Array.from({ length: Math.min(4, SERVERS - i) }, async () => {
        const pg = await startPostgres();
        servers.push(pg);
        // Room for one session per target (and the A/B's churn), small shared memory, and no
        // statement log: 1,000 targets are a lot of lines.
        const su = await superClient(pg);
        await su.query(`ALTER SYSTEM SET max_connections = ${perServer + 50}`);
        await su.query("ALTER SYSTEM SET shared_buffers = '8MB'");
        await su.query("ALTER SYSTEM SET log_statement = 'none'");
        // The server's own time per statement (parse/plan included) for the breakdown printed after the window.
        await su.query('ALTER SYSTEM SET pg_stat_statements.track_planning = on');
        await su.end();
        await pg.restart();
      }),
    );
  }
  const postmasters = servers.map((pg) => Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]));
  // Backends fork from the postmaster and inherit its priority.
  if (SERVER_NICE !== 0) for (const pm of postmasters) execFileSync('renice', ['-n', String(SERVER_NICE), '-p', String(pm)]);
  const check = await superClient(servers[0]!);
  const maxConn = (await check.query<{ max_connections: string }>('SHOW max_connections')).rows[0]!.max_connections;
  await check.end();
  console.log(
    `${SERVERS} PostgreSQL ${servers[0]!.major} servers (~${perServer} targets each), max_connections ${maxConn}, shared_buffers 8MB, server nice ${SERVER_NICE}; ${TARGETS} targets every ${INTERVAL} s, schedule ${values.schedule === '' ? 'the default (activity and locks every 10 s)' : values.schedule}; window ${SECONDS} s after ${WARMUP} s warm-up`,
  );
  /** Sessions per server now (every backend in pg_stat_activity, as an activity sample sees them). */
  const sessionsPerServer = async (): Promise<number[]> =>
    Promise.all(
      servers.map(async (pg) => {
        const c = await superClient(pg);
        try {
          return Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend'")).rows[0]!.n);
        } finally {
          await c.end();
        }
      }),
    );

  /** pg_stat_statements starts the window empty on every server. */
  const resetServerStatements = async (): Promise<void> => {
    await Promise.all(
      servers.map(async (pg) => {
        const c = await superClient(pg);
        try {
          await c.query('SELECT pg_stat_statements_reset()');
        } finally {
          await c.end();
        }
      }),
    );
  };
  /** Every server's statements since the reset, summed by text across servers, costliest first. */
  const serverStatements = async (): Promise<Array<{ query: string; calls: number; ms: number; planMs: number }>> => {
    const byText = new Map<string, { query: string; calls: number; ms: number; planMs: number }>();
    for (const pg of servers) {
      const c = await superClient(pg);
      try {
        const { rows } = await c.query<{ query: string; calls: string; ms: number; plan_ms: number }>(
          'SELECT query, calls, total_exec_time + total_plan_time AS ms, total_plan_time AS plan_ms FROM pg_stat_statements',
        );
        for (const r of rows) {
          const query = r.query.replace(/\s+/g, ' ').slice(0, 110);
          const x = byText.get(query) ?? { query, calls: 0, ms: 0, planMs: 0 };
          x.calls += Number(r.calls);
          x.ms += r.ms;
          x.planMs += r.plan_ms;
          byText.set(query, x);
        }
      } finally {
        await c.end();
      }
    }
    return [...byText.values()].sort((a, b) => b.ms - a.ms);
  };

  for (const mode of MODES) {
    const dir = mkdtempSync(join(tmpdir(), `bench-targets-${mode}-`));
    const spoolDir = join(dir, 'spool');
    const config = join(dir, 'run.json');
    const targets = Array.from({ length: TARGETS }, (_, i) => ({
      id: `t${String(i).padStart(4, '0')}`,
      engine: 'postgres',
      host: servers[i % SERVERS]!.host,
      port: servers[i % SERVERS]!.port,
      user: servers[i % SERVERS]!.users.monitor.user,
      database: servers[i % SERVERS]!.database,
      password: { env: `BENCH_PW_${i % SERVERS}` },
      tls: { mode: 'disable' },
      ...(Object.keys(SCHEDULE).length === 0 ? {} : { schedule: SCHEDULE }),
    }));
    writeFileSync(
      config,
      JSON.stringify({
        intervalSeconds: INTERVAL,
        targets,
        spool: { dir: spoolDir, maxBytes: 4 * 1024 * 1024 * 1024 },
        flushTimeoutSeconds: 0,
        sessions: { reuse: mode === 'pooled', maxOpen: TARGETS + 50 },
      }),
    );
    const load0 = loadavg();
    const child = spawn(process.execPath, [...NODE_ARGS, 'dist/agent/cli/bin.js', 'run', '--config', config], {
      env: { ...process.env, ...Object.fromEntries(servers.map((pg, k) => [`BENCH_PW_${k}`, pg.users.monitor.password])), LOGSTAG_HOME: join(dir, 'home') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const done = new Map<string, number[]>();
    const cycleMs: number[] = [];
    const other: string[] = [];
    let windowStart = Infinity;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const m = /^(t\d{4}): \d+ signals \(\d+ unavailable\) in (\d+) ms; spooled /.exec(line);
      if (m) {
        const now = performance.now();
        done.set(m[1]!, [...(done.get(m[1]!) ?? []), now]);
        if (now >= windowStart) cycleMs.push(Number(m[2]));
      } else if (other.length < 2000) other.push(line);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await sleep(WARMUP * 1000);
    await resetServerStatements();
    const split0 = cpuSplit(child.pid!);
    const cpu0 = cpuSeconds(child.pid!);
    const server0 = serverCpuSeconds(postmasters);
    windowStart = performance.now();
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, statusKb(child.pid!, 'VmRSS'));
    }, 1000);
    await sleep(SECONDS * 1000);
    const windowEnd = performance.now();
    const split1 = cpuSplit(child.pid!);
    const cpu1 = cpuSeconds(child.pid!);
    const server1 = serverCpuSeconds(postmasters);
    const sessions = await sessionsPerServer();
    const statements = await serverStatements();
    const hwm = statusKb(child.pid!, 'VmHWM');
    clearInterval(sampler);
    const load1 = loadavg();
    child.kill('SIGTERM');
    const code = await exited;
    const activity = activityRowsMedian(spoolDir);

    const intervals = SECONDS / INTERVAL;
    const perTarget: number[] = [];
    let missedByGap = 0;
    for (const t of targets) {
      const times = (done.get(t.id) ?? []).filter((x) => x >= windowStart && x < windowEnd);
      perTarget.push(times.length / intervals);
      // A gap of more than 1.5 intervals between two payloads (or to the window's edges) means an interval without one.
      const edges = [windowStart, ...times, windowEnd];
      if (edges.some((x, i) => i > 0 && x - edges[i - 1]! > 1.5 * INTERVAL * 1000)) missedByGap++;
    }
    const status = JSON.parse(readFileSync(`${spoolDir}-targets.json`, 'utf8')) as { targets: Array<{ id: string; missedIntervals?: number }> };
    const missedBySchedule = status.targets.filter((t) => (t.missedIntervals ?? 0) > 0).length;
    const missedTotal = status.targets.reduce((n, t) => n + (t.missedIntervals ?? 0), 0);
    console.log(`\n== ${mode === 'pooled' ? 'sessions kept across cycles' : 'a new session every cycle (A/B)'} ==`);
    console.log(
      `payloads per target per interval: min ${Math.min(...perTarget).toFixed(2)}, median ${median(perTarget).toFixed(2)} (${intervals} intervals in the window)`,
    );
    console.log(
      `targets that missed an interval in the window: ${missedByGap} of ${TARGETS}; per the run status (whole run incl. warm-up): ${missedBySchedule} targets, ${missedTotal} missed intervals`,
    );
    console.log(
      `agent CPU: ${(cpu1 - cpu0).toFixed(1)} s over ${((windowEnd - windowStart) / 1000).toFixed(0)} s wall = ${((100 * (cpu1 - cpu0)) / ((windowEnd - windowStart) / 1000)).toFixed(1)} % of one core (goal ≤ 50 %); user ${(split1.user - split0.user).toFixed(1)} s, kernel ${(split1.system - split0.system).toFixed(1)} s`,
    );
    console.log(
      `agent RSS: peak ${(hwm / 1024).toFixed(0)} MB (VmHWM, whole run), ${(peakRss / 1024).toFixed(0)} MB max sampled in the window (goal ≤ 300 MB)`,
    );
    console.log(
      `PostgreSQL servers' CPU (${SERVERS} postmasters + their live processes): ${(server1 - server0).toFixed(1)} s = ${((100 * (server1 - server0)) / ((windowEnd - windowStart) / 1000)).toFixed(1)} % of one core; agent CPU per collected cycle ${((1000 * (cpu1 - cpu0)) / Math.max(1, cycleMs.length)).toFixed(1)} ms`,
    );
    console.log(
      `client sessions per server at the window's end (incl. the bench's own): min ${Math.min(...sessions)}, median ${median(sessions)}, max ${Math.max(...sessions)}; postgres.activity rows per sample: median ${activity.median} over ${activity.samples} samples (whole run)`,
    );
    console.log(`cycle time (connect or reuse + every signal + payload), median ${median(cycleMs)} ms over ${cycleMs.length} cycles`);
    console.log(`machine load average (1 min): ${load0[0]!.toFixed(2)} at start, ${load1[0]!.toFixed(2)} at end; agent exit code ${code}`);
    const cycles = Math.max(1, cycleMs.length);
    const stmtTotal = statements.reduce((n, x) => n + x.ms, 0);
    const planTotal = statements.reduce((n, x) => n + x.planMs, 0);
    console.log(
      `the servers' own statement time (pg_stat_statements, plan + execute, all servers): ${((stmtTotal / 1000 / ((windowEnd - windowStart) / 1000)) * 100).toFixed(1)} % of one core, ${(stmtTotal / cycles).toFixed(1)} ms per cycle (planning ${(planTotal / cycles).toFixed(1)} ms of it); the rest of their CPU is sessions, transactions and the protocol. Costliest statements:`,
    );
    for (const x of statements.slice(0, 12))
      console.log(
        `  ${(x.ms / cycles).toFixed(2).padStart(6)} ms/cycle  ${String(x.calls).padStart(7)} calls  ${(x.ms / Math.max(1, x.calls)).toFixed(3).padStart(7)} ms each (plan ${(x.planMs / Math.max(1, x.calls)).toFixed(3)})  ${x.query}`,
      );
    const problems = other.filter((l) => !/^(collecting|stopping|stopped)/.test(l));
    if (problems.length > 0) console.log(`other agent lines (${problems.length}), first: ${problems.slice(0, 3).join(' | ')}`);
  }
} finally {
  await Promise.all(servers.map((pg) => pg.stop()));
}
