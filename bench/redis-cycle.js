// Benchmark: one Redis collection cycle of the agent CLI against a server with 10,000
// CLIENT LIST entries and a full 1,024-entry slow log. Prints the cycle time, the payload
// bytes (and the client summary's share), the peak RSS and CPU time of the CLI process,
// next to the figures of the agent that listed every client. Run with `npm run bench:redis`
// (raises `ulimit -n` first).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist/agent/cli/bin.js');
// BENCH_REDIS_CLIENTS and BENCH_REDIS_RUNS override the defaults (e.g. 0 clients for the floor of a cycle).
const CLIENTS = Number(process.env.BENCH_REDIS_CLIENTS ?? 10_000);
const SLOWLOG = 1_024;
const RUNS = Number(process.env.BENCH_REDIS_RUNS ?? 3);
/**
 * The same bench on the agent that shipped CLIENT LIST row by row (redis.client_list, commit
 * 7bcc702, this machine, load average 1 to 2): kept here because that code is gone.
 */
const BEFORE = { payloadKb: 2831, maxRssMb: 151.4, cycleMs: 286 };

if (!existsSync(CLI)) {
  console.error('bench: dist/ is missing; run `npm run build:node` first');
  process.exit(2);
}
// The recommended least-privileged user, from the agent's own grant list.
const { BASE_GRANTS } = await import(join(root, 'dist/collectors/redis/grants.js'));

function openFiles() {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : Infinity;
}
if (openFiles() < CLIENTS + 500) {
  console.error(`bench: open-file limit ${openFiles()} is too low for ${CLIENTS} connections; run it as \`npm run bench:redis\`, which raises ulimit -n`);
  process.exit(2);
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const resp = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Sends commands on one connection and resolves after `expect` replies' worth of lines is seen (enough for +OK/:n/bulk replies used here). */
function send(port, commands, { auth } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const all = [...(auth ? [['AUTH', ...auth]] : []), ...commands, ['PING']];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', reject);
    sock.on('connect', () => sock.write(all.map(resp).join('')));
    sock.on('data', (d) => {
      buf += d;
      // The closing PING marks the end of the pipeline.
      if (buf.endsWith('+PONG\r\n')) {
        sock.end();
        resolve(buf);
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'logstag-bench-redis-'));
const port = await freePort();
const adminPw = randomBytes(12).toString('base64url');
const monitorPw = randomBytes(12).toString('base64url');
writeFileSync(
  join(dir, 'redis.conf'),
  [
    'bind 127.0.0.1',
    `port ${port}`,
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    `maxclients ${CLIENTS + 100}`,
    `slowlog-max-len ${SLOWLOG}`,
    'user default on nopass ~* &* +@all',
    `user admin on >${adminPw} ~* &* +@all`,
    `user logstag_monitor on >${monitorPw} resetkeys resetchannels -@all ${BASE_GRANTS.map((g) => `+${g}`).join(' ')}`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);
const server = spawn('redis-server', [join(dir, 'redis.conf')], { cwd: dir, stdio: 'ignore' });
const sockets = [];
const cleanup = () => {
  for (const s of sockets) s.destroy();
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

try {
  for (let i = 0; ; i++) {
    try {
      await send(port, []);
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const admin = ['admin', adminPw];

  // 10,000 idle application connections, each with a name, as CLIENT LIST will show them.
  let opened = 0;
  for (let batch = 0; batch < CLIENTS / 500; batch++) {
    await Promise.all(
      Array.from({ length: 500 }, () => {
        const n = opened++;
        return new Promise((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port });
          sockets.push(s);
          s.on('error', reject);
          s.setEncoding('utf8');
          s.on('connect', () => s.write(resp(['CLIENT', 'SETNAME', `app-${n % 40}-worker-${n}`])));
          s.once('data', () => resolve());
        });
      }),
    );
  }

  // A full slow log: 1,100 writes with realistic keys and values of varied size; the last 1,024 stay.
  const fill = [['CONFIG', 'SET', 'slowlog-log-slower-than', '0']];
  for (let i = 0; i < 1_100; i++) fill.push(['SET', `order:${i}:payload`, 'v'.repeat(16 + ((i * 37) % 400))]);
  fill.push(['CONFIG', 'SET', 'slowlog-log-slower-than', '1000000']); // nothing the agent does lands in it
  await send(port, fill, { auth: admin });
  const check = await send(
    port,
    [
      ['SLOWLOG', 'LEN'],
      ['INFO', 'clients'],
    ],
    { auth: admin },
  );
  const len = Number(/:(\d+)\r\n/.exec(check.split('+OK\r\n').slice(1).join(''))?.[1]);
  const connected = Number(/connected_clients:(\d+)/.exec(check)?.[1]);
  if (len !== SLOWLOG || connected < CLIENTS) throw new Error(`setup: slowlog ${len}, clients ${connected}`);
  // The size of the reply the agent summarises (the bulk string after +OK and before +PONG).
  const listed = await send(port, [['CLIENT', 'LIST']], { auth: admin });
  const clientListBytes = Number(/\$(\d+)\r\n/.exec(listed)?.[1]);

  const target = join(dir, 'target.json');
  writeFileSync(
    target,
    JSON.stringify({
      id: 'bench',
      engine: 'redis',
      host: '127.0.0.1',
      port,
      user: 'logstag_monitor',
      password: { env: 'BENCH_REDIS_PW' },
      statementTimeoutMs: 30000,
    }),
  );

  // What the CLI costs before any cycle: start-up and module loading.
  const baseStart = performance.now();
  const base = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(root, 'bench/rss-probe.mjs'), CLI, '--version'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', () => resolve({ wallMs: performance.now() - baseStart, maxRssMb: Number(/BENCH_MAXRSS_KB=(\d+)/.exec(stderr)?.[1]) / 1024 }));
  });

  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const home = mkdtempSync(join(dir, 'home-'));
    const started = performance.now();
    const out = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', join(root, 'bench/rss-probe.mjs'), CLI, 'collect', '--once', '--json', '--target', target], {
        env: { ...process.env, BENCH_REDIS_PW: monitorPw, LOGSTAG_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`CLI exit ${code}: ${stderr.trim()}`))));
    });
    const wallMs = performance.now() - started;
    const payload = JSON.parse(out.stdout);
    const get = (id) => payload.signals.find((s) => s.id === id);
    const clients = get('redis.client_summary');
    const slow = get('redis.slowlog');
    if (clients?.status !== 'ok' || slow?.status !== 'ok') throw new Error('bench: client summary or slow log unavailable');
    // The cycle proper: first to last command on the server, from the CLI's audit ledger.
    const { readStatements } = await import(join(root, 'dist/agent/audit/reader.js'));
    const ledger = readStatements(join(home, 'audit'));
    const t0 = Date.parse(ledger[0].time) - ledger[0].durationMs;
    const t1 = Date.parse(ledger.at(-1).time);
    const slowest = ledger.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    const cycleMs = t1 - t0;
    const commands = ledger.length;
    const slowestText = `${slowest.statement.slice(0, 40)} ${slowest.durationMs.toFixed(1)} ms`;
    runs.push({
      wallMs,
      cycleMs,
      maxRssMb: Number(/BENCH_MAXRSS_KB=(\d+)/.exec(out.stderr)[1]) / 1024,
      cpuMs: Number(/BENCH_CPU_US=(\d+)/.exec(out.stderr)[1]) / 1000,
      clients: clients.value.find((r) => r.set === 'all').clients,
      summaryRows: clients.value.length,
      summaryKb: Buffer.byteLength(JSON.stringify(clients.value)) / 1024,
      slowEntries: slow.value.length,
      payloadKb: Buffer.byteLength(out.stdout) / 1024,
      commands,
      slowest: slowestText,
    });
  }
  const median = (k) => [...runs].map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  console.log(
    `Redis collection cycle, ${CLIENTS.toLocaleString('en')} CLIENT LIST entries + ${SLOWLOG.toLocaleString('en')}-entry slow log (median of ${RUNS} runs of \`logstag-agent collect --once\`)`,
  );
  for (const [i, r] of runs.entries()) {
    console.log(
      `  run ${i + 1}: cycle ${r.cycleMs.toFixed(0)} ms, CLI wall ${r.wallMs.toFixed(0)} ms, peak RSS ${r.maxRssMb.toFixed(1)} MB, ` +
        `CPU ${r.cpuMs.toFixed(0)} ms, ${r.clients} clients in ${r.summaryRows} summary rows (${r.summaryKb.toFixed(1)} KB) + ${r.slowEntries} slow-log entries, ` +
        `payload ${r.payloadKb.toFixed(0)} KB, ${r.commands} commands, slowest ${r.slowest}`,
    );
  }
  console.log(`  baseline \`logstag-agent --version\`: wall ${base.wallMs.toFixed(0)} ms, peak RSS ${base.maxRssMb.toFixed(1)} MB`);
  console.log(
    `  CLIENT LIST reply itself: ${(clientListBytes / 1024).toFixed(0)} KB; load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `cycle time: ${median('cycleMs').toFixed(0)} ms   CLI wall time: ${median('wallMs').toFixed(0)} ms   CLI CPU: ${median('cpuMs').toFixed(0)} ms   ` +
      `payload: ${median('payloadKb').toFixed(0)} KB   peak RSS: ${median('maxRssMb').toFixed(1)} MB`,
  );
  console.log(
    `before (every client listed): payload ${BEFORE.payloadKb} KB, peak RSS ${BEFORE.maxRssMb} MB, cycle ${BEFORE.cycleMs} ms   ` +
      `after: payload ${median('payloadKb').toFixed(0)} KB, peak RSS ${median('maxRssMb').toFixed(1)} MB (goal <= 120 MB)`,
  );
} finally {
  cleanup();
}
process.exit(0);
