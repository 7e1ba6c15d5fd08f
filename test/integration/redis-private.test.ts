// Redis tests that change server state (slow-log threshold, ACL users, restarts) or need a
// topology (Sentinel, cluster, TLS): each runs on private servers started by the same harness.
import { Spool } from '../../agent/delivery/spool.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadV1Schema, type PayloadV1 } from '../../collectors/core/payload.js';
import { parseTarget } from '../../agent/config/target-file.js';
import { checkCommand, CommandRefused } from '../../collectors/redis/guard.js';
import { RedisSession } from '../../collectors/redis/session.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { readStatements } from '../../agent/audit/reader.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { MONITOR_ACL, type RedisHarness, type RespTarget, redisCommand, redisCommands, redisMonitor, startRedis } from '../harness/redis.js';
import { freePort, randomSecret, requireBinary, runChecked, waitFor } from '../harness/util.js';
import { jsonFile, repoRoot, runAgentCli } from '../helpers/cli.js';

const adminOf = (h: RedisHarness): RespTarget => ({ host: h.host, port: h.port, auth: h.users.admin });

/**
 * Adds n + 1 entries to the slow log through the admin user (the CONFIG SET that lowers the
 * threshold is logged too: Redis compares after running it), then raises the threshold so
 * nothing else lands there.
 */
async function slowEntries(h: RedisHarness, n: number): Promise<void> {
  const cmds: string[][] = [['CONFIG', 'SET', 'slowlog-log-slower-than', '0']];
  for (let i = 0; i < n; i++) cmds.push(['GET', `key-${i}`]);
  cmds.push(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000000']);
  await redisCommands(adminOf(h), cmds);
}

function target(h: RedisHarness, who: 'monitor' | 'admin', extra: Record<string, unknown> = {}) {
  const file = jsonFile({
    id: 'redis-own',
    engine: 'redis',
    host: h.host,
    port: h.port,
    user: h.users[who].user,
    password: { env: 'LSA_REDIS_PASSWORD' },
    ...extra,
  });
  return { file, env: { LSA_REDIS_PASSWORD: h.users[who].password } };
}

const valueOf = <T>(p: PayloadV1, id: string): T => {
  const s = p.signals.find((x) => x.id === id);
  if (s?.status !== 'ok') throw new Error(`${id}: ${JSON.stringify(s)}`);
  return s.value as T;
};

/** MONITOR quotes arguments like sdscatrepr: "a b", "\x00", "\"". */
function monitorArgs(line: string): { addr: string; args: string[] } | undefined {
  const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!m) return undefined;
  const args = [...m[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) =>
    a[1]!.replace(/\\x([0-9a-f]{2})|\\(.)/gi, (_, hex: string | undefined, c: string | undefined) =>
      hex !== undefined
        ? String.fromCharCode(Number.parseInt(hex, 16))
        : (({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c!] ?? c!),
    ),
  );
  return { addr: m[1]!, args };
}

describe('what the server saw', () => {
  let h: RedisHarness;
  beforeAll(async () => {
    h = await startRedis();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('MONITOR and INFO commandstats show only allowlisted commands from the agent, and a cycle leaves SLOWLOG LEN as it was', async () => {
    await slowEntries(h, 5);
    const lenBefore = await redisCommand(adminOf(h), 'SLOWLOG', 'LEN');
    expect(lenBefore).toBe(6);
    const monitor = await redisMonitor(adminOf(h));
    let lines: string[];
    let statsBefore: Map<string, number>;
    try {
      statsBefore = await commandCalls(h);
      const t = target(h, 'monitor');
      const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env });
      expect(r.code).toBe(0);
      const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
      expect(valueOf<unknown[]>(p, 'redis.slowlog')).toHaveLength(6);
      // MONITOR relays each command before it runs; the agent's last one is INFO cluster.
      lines = await waitFor('the agent commands in MONITOR', async () => {
        const all = monitor.lines();
        return all.some((l) => l.includes('"INFO" "cluster"')) ? all : undefined;
      });
    } finally {
      await monitor.stop();
    }
    const parsed = lines.map(monitorArgs).filter((x) => x !== undefined);
    // The agent's connections are the ones that named themselves logstag-agent/<version>.
    const agentAddrs = new Set(
      parsed
        .filter((x) => x.args[0]?.toLowerCase() === 'client' && x.args[1]?.toLowerCase() === 'setname' && x.args[2]?.startsWith('logstag-agent/'))
        .map((x) => x.addr),
    );
    expect(agentAddrs.size).toBe(1);
    const agent = parsed.filter((x) => agentAddrs.has(x.addr));
    expect(agent.length).toBeGreaterThan(10);
    for (const { args } of agent) expect(() => checkCommand(args[0]!, args.slice(1)), args.join(' ')).not.toThrow();
    expect(agent.map(({ args }) => args.slice(0, 2).join(' ').toUpperCase())).toEqual(
      expect.arrayContaining(['CLIENT SETNAME', 'PING', 'INFO SERVER', 'ACL WHOAMI']),
    );

    // MONITOR never shows @admin commands (SLOWLOG, CONFIG, CLIENT LIST, LATENCY, ACL LIST …),
    // which is where every command the agent must never send lives. The server's per-command
    // counters see them, denied ones included (rejected_calls): on this private server every
    // change but the test's own INFO and AUTH comes from the agent.
    const statsAfter = await commandCalls(h);
    const ran = [...statsAfter]
      .filter(([k, n]) => n !== (statsBefore.get(k) ?? 0))
      .map(([k]) => k)
      .sort();
    expect(ran).toEqual([
      'acl|list',
      'acl|whoami',
      'auth',
      'client|list',
      'client|setname',
      'config|get',
      'info',
      'latency|latest',
      'memory|stats',
      'ping',
      'slowlog|get',
      'slowlog|len',
    ]);
    expect(await redisCommand(adminOf(h), 'SLOWLOG', 'LEN')).toBe(lenBefore);
  });
});

/** calls + rejected_calls + failed_calls per command, from INFO commandstats (as admin). */
async function commandCalls(h: RedisHarness): Promise<Map<string, number>> {
  const text = String(await redisCommand(adminOf(h), 'INFO', 'commandstats'));
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):(.*)$/gm)) {
    const kv = Object.fromEntries(
      m[2]!
        .trim()
        .split(',')
        .map((p) => p.split('=') as [string, string]),
    );
    out.set(m[1]!, Number(kv['calls'] ?? 0) + Number(kv['rejected_calls'] ?? 0) + Number(kv['failed_calls'] ?? 0));
  }
  return out;
}

describe('refusals and renamed commands', () => {
  let h: RedisHarness;
  beforeAll(async () => {
    h = await startRedis({ config: ['rename-command CONFIG ""', 'rename-command SLOWLOG "SLOWLOG-b7f2"'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses a write or a reset before it reaches the server, and records the refusal without its arguments', async () => {
    const entries: Array<{ statement: string; outcome: string; code?: string }> = [];
    const t = parseTarget({ id: 'own', engine: 'redis', host: h.host, port: h.port, user: 'admin', password: { env: 'PW' } }, 't');
    // Even as an administrator: the agent's own allowlist is the first line, not the server's ACL.
    const session = await RedisSession.open(t, h.users.admin.password, { audit: { record: (e) => entries.push(e) }, applicationName: 'logstag-agent/test' });
    try {
      const before = await commandCalls(h);
      await expect(session.command('SLOWLOG', 'RESET')).rejects.toBeInstanceOf(CommandRefused);
      await expect(session.command('CONFIG', 'SET', 'requirepass', 'hunter2')).rejects.toBeInstanceOf(CommandRefused);
      await expect(session.command('FLUSHALL')).rejects.toBeInstanceOf(CommandRefused);
      expect(await session.command('PING')).toBe('PONG');
      const after = await commandCalls(h);
      expect(
        [...after]
          .filter(([k, n]) => n !== (before.get(k) ?? 0))
          .map(([k]) => k)
          .sort(),
      ).toEqual(['auth', 'info', 'ping']);
    } finally {
      await session.close();
    }
    expect(entries.filter((e) => e.outcome === 'refused')).toEqual([
      { time: expect.any(String), targetId: 'own', engine: 'redis', statement: 'SLOWLOG RESET', durationMs: 0, outcome: 'refused', code: 'allowlist' },
      { time: expect.any(String), targetId: 'own', engine: 'redis', statement: 'CONFIG SET <2 args>', durationMs: 0, outcome: 'refused', code: 'allowlist' },
      { time: expect.any(String), targetId: 'own', engine: 'redis', statement: 'FLUSHALL', durationMs: 0, outcome: 'refused', code: 'allowlist' },
    ]);
    expect(JSON.stringify(entries)).not.toContain('hunter2');
  });

  it('reports commands renamed with rename-command as disabled and keeps collecting the rest', async () => {
    const t = target(h, 'monitor');
    const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env });
    expect(r.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    for (const id of ['redis.config', 'redis.slowlog', 'redis.slowlog_len']) {
      expect(p.signals.find((s) => s.id === id)).toMatchObject({
        status: 'unavailable',
        reason: 'disabled',
        detail: expect.stringMatching(/renamed or disabled on this server \(rename-command\)/),
      });
    }
    expect(valueOf<{ product: string }>(p, 'redis.server').product).toBe('redis');
    expect(valueOf<unknown[]>(p, 'redis.client_summary').length).toBeGreaterThan(0);
    const c = await runAgentCli(['check', '--target', t.file], { env: t.env });
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/\[not_enabled\] \+config\|get: CONFIG is renamed or disabled/);
  });
});

describe('slow-log entries are shipped once', () => {
  let h: RedisHarness;
  beforeAll(async () => {
    h = await startRedis();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('across cycles, agent restarts and a server restart; a cycle that is not committed ships again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-dedupe-'));
    const t = parseTarget({ id: 'cache', engine: 'redis', host: h.host, port: h.port, user: 'monitor', password: { env: 'PW' } }, 't');
    const agent = () =>
      new TargetOperations(
        { id: 'agent-1', version: '0.1.0', host: 'test' },
        new AuditLedger(join(dir, 'audit')),
        () => {
          throw new Error('no vault in this test');
        },
        { PW: h.users.monitor.password },
        undefined,
        new TargetMemoryStore(join(dir, 'target-state')),
      );
    const slowIds = (r: { payload: PayloadV1 }): number[] => valueOf<Array<{ id: number }>>(r.payload, 'redis.slowlog').map((e) => e.id);
    const len = (r: { payload: PayloadV1 }) => valueOf<{ cursor: string; missed_entries: number | null }>(r.payload, 'redis.slowlog_len');

    await slowEntries(h, 3);
    const ops = agent();
    const c1 = await ops.collect(t);
    expect(slowIds(c1)).toEqual([0, 1, 2, 3]);
    await c1.commitMemory();

    const c2 = await ops.collect(t);
    expect(slowIds(c2)).toEqual([]);
    expect(len(c2)).toMatchObject({ cursor: 'resumed', missed_entries: 0 });

    await slowEntries(h, 1); // ids 4, 5
    const preview = await ops.collect(t); // never committed, like the live preview
    expect(slowIds(preview)).toEqual([4, 5]);
    const c3 = await ops.collect(t);
    expect(slowIds(c3)).toEqual([4, 5]);
    await c3.commitMemory();

    // The agent restarts: a new process reads the cursor back from its home.
    const c4 = await agent().collect(t);
    expect(slowIds(c4)).toEqual([]);

    // The server restarts: a new run_id, ids from 0 again.
    await h.restart();
    await slowEntries(h, 1);
    const c5 = await agent().collect(t);
    expect(slowIds(c5)).toEqual([0, 1]);
    expect(len(c5)).toMatchObject({ cursor: 'server_restarted', missed_entries: 0 });
    // The target's two memory slots and the store's writer record (agent/state/target-memory-store.ts), nothing else.
    expect(readdirSync(join(dir, 'target-state')).sort()).toEqual(['@writer.json', 'cache.json', 'cache@1.json']);
  });

  it('`run` persists the cursor after the payload is in the spool, so a restarted agent does not ship entries again', async () => {
    await slowEntries(h, 2);
    const home = mkdtempSync(join(tmpdir(), 'lsa-run-'));
    const spoolDir = join(home, 'spool');
    const t = target(h, 'monitor', { id: 'cache-run' });
    const config = jsonFile({ targets: [{ file: t.file }], spool: { dir: spoolDir } }, 'run.json');
    // Every payload the agent spooled so far (a read-only view of the spool, as `logstag-agent spool` shows it).
    const spooled = async (): Promise<PayloadV1[]> => {
      if (!existsSync(spoolDir)) return [];
      const spool = await Spool.open(spoolDir, { maxBytes: 256 * 1024 * 1024, readOnly: true });
      try {
        const batch = await spool.peek(1000, 256 * 1024 * 1024);
        return batch.records.map((r) => PayloadV1Schema.parse(JSON.parse(r.body.toString('utf8'))));
      } finally {
        await spool.close();
      }
    };
    const runOnce = async (): Promise<PayloadV1> => {
      const before = (await spooled()).length;
      const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'dist/agent/cli/bin.js'), 'run', '--config', config], {
        env: { ...process.env, ...t.env, LOGSTAG_HOME: home },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      try {
        return await waitFor(
          'the first payload in the spool',
          async () => {
            const all = await spooled();
            return all.length > before && existsSync(join(home, 'target-state', 'cache-run.json')) ? all.at(-1) : undefined;
          },
          20_000,
        );
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    };
    // A clean stop made the targets' state durable and closed its epoch, so the next start trusts it.
    const writerRecord = () => JSON.parse(readFileSync(join(home, 'target-state', '@writer.json'), 'utf8')) as { open: boolean };
    const first = await runOnce();
    expect(writerRecord().open).toBe(false);
    expect(valueOf<unknown[]>(first, 'redis.slowlog').length).toBeGreaterThan(0);
    const second = await runOnce();
    expect(valueOf<unknown[]>(second, 'redis.slowlog')).toEqual([]);
    expect(valueOf<{ cursor: string }>(second, 'redis.slowlog_len').cursor).toBe('resumed');
    expect(writerRecord().open).toBe(false);
  });
});

describe('the grant script', () => {
  let h: RedisHarness;
  beforeAll(async () => {
    h = await startRedis();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('creates a user that the checklist passes and that is not an administrator', async () => {
    const admin = target(h, 'admin');
    const r = await runAgentCli(['grants', '--target', admin.file], { env: admin.env });
    expect(r.code).toBe(0);
    const password = randomSecret();
    const acl = r.stdout.split('\n').filter((l) => l.startsWith('ACL '));
    expect(acl).toHaveLength(1);
    const [reply] = await redisCommands(adminOf(h), [acl[0]!.replace('CHOOSE-A-STRONG-PASSWORD', password).split(' ')]);
    expect(reply).toBe('OK');

    const file = jsonFile({ id: 'redis-new', engine: 'redis', host: h.host, port: h.port, user: 'logstag_monitor', password: { env: 'PW' } });
    const c = await runAgentCli(['check', '--target', file, '--json'], { env: { PW: password } });
    expect(c.code).toBe(0);
    const report = JSON.parse(c.stdout) as { identity: { isAdministrator: boolean }; items: Array<{ status: string; grant: string }> };
    expect(report.identity.isAdministrator).toBe(false);
    expect(report.items.filter((i) => i.status !== 'granted').map((i) => `${i.grant} ${i.status}`)).toEqual([
      '+acl|list opt_in',
      '+cluster|info not_applicable',
    ]);

    // It can read, and it cannot write, reset or kill: the server refuses, not only the agent.
    const [get, reset, set, kill] = await redisCommands({ host: h.host, port: h.port, auth: { user: 'logstag_monitor', password } }, [
      ['SLOWLOG', 'GET', '1'],
      ['SLOWLOG', 'RESET'],
      ['SET', 'k', 'v'],
      ['CLIENT', 'KILL', 'ID', '1'],
    ]);
    expect(Array.isArray(get)).toBe(true);
    for (const denied of [reset, set, kill]) expect(String(denied)).toMatch(/NOPERM/);
  });
});

describe('connection modes', () => {
  it('sentinel: finds the current master through a Sentinel and audits the lookup', async () => {
    const h = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'lsa-sentinel-'));
    const port = await freePort();
    // Sentinel rewrites its configuration file: it must be writable.
    writeFileSync(
      join(dir, 'sentinel.conf'),
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster ${h.host} ${h.port} 1`,
        `sentinel auth-user mymaster admin`,
        `sentinel auth-pass mymaster ${h.users.admin.password}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const sentinel = spawn(requireBinary(process.env.REDIS_SERVER ?? 'redis-server', 'redis-server'), [join(dir, 'sentinel.conf'), '--sentinel'], {
      cwd: dir,
      stdio: 'ignore',
    });
    try {
      await waitFor('the Sentinel to know the master', async () => {
        const r = await redisCommand({ host: '127.0.0.1', port, timeoutMs: 1000 }, 'SENTINEL', 'get-master-addr-by-name', 'mymaster');
        return Array.isArray(r) && r[1] === String(h.port) ? true : undefined;
      });
      const home = mkdtempSync(join(tmpdir(), 'lsa-sentinel-home-'));
      const file = jsonFile({
        id: 'redis-sentinel',
        engine: 'redis',
        host: '127.0.0.1',
        port,
        user: 'monitor',
        password: { env: 'PW' },
        redis: { mode: 'sentinel', masterName: 'mymaster' },
      });
      const r = await runAgentCli(['collect', '--once', '--target', file, '--json'], { env: { PW: h.users.monitor.password }, home });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
      expect(valueOf<{ tcp_port: number }>(p, 'redis.server').tcp_port).toBe(h.port);
      expect(readStatements(join(home, 'audit')).map((e) => e.statement)).toContain('SENTINEL GET-MASTER-ADDR-BY-NAME mymaster');
    } finally {
      const gone = new Promise((r) => sentinel.once('exit', r));
      sentinel.kill('SIGTERM');
      await gone;
      await h.stop();
    }
  });

  it('cluster: discovers the nodes, reads the configured node, reports cluster state', async () => {
    const user = { user: 'clustermon', password: randomSecret() };
    const nodes: RedisHarness[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const busPort = await freePort();
        nodes.push(
          await startRedis({
            config: [
              'cluster-enabled yes',
              'cluster-config-file nodes.conf',
              `cluster-port ${busPort}`,
              `user ${user.user} on >${user.password} ${MONITOR_ACL} +cluster|slots`,
            ],
          }),
        );
      }
      const ranges = [
        ['0', '5460'],
        ['5461', '10922'],
        ['10923', '16383'],
      ];
      for (const [i, n] of nodes.entries()) expect(await redisCommand(adminOf(n), 'CLUSTER', 'ADDSLOTSRANGE', ...ranges[i]!)).toBe('OK');
      const bus = await Promise.all(nodes.map(async (n) => (await redisCommand(adminOf(n), 'CONFIG', 'GET', 'cluster-port')) as string[]));
      for (const [i, n] of nodes.slice(1).entries())
        expect(await redisCommand(adminOf(nodes[0]!), 'CLUSTER', 'MEET', n.host, String(n.port), bus[i + 1]![1]!)).toBe('OK');
      for (const n of nodes) {
        await waitFor(
          'cluster_state:ok',
          async () => (String(await redisCommand(adminOf(n), 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? true : undefined),
          30_000,
        );
      }
      const seed = nodes[1]!;
      const file = jsonFile({
        id: 'redis-cluster',
        engine: 'redis',
        host: seed.host,
        port: seed.port,
        user: user.user,
        password: { env: 'PW' },
        redis: { mode: 'cluster' },
      });
      const r = await runAgentCli(['collect', '--once', '--target', file, '--json'], { env: { PW: user.password } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
      expect(valueOf<{ tcp_port: number; mode: string }>(p, 'redis.server')).toMatchObject({ tcp_port: seed.port, mode: 'cluster' });
      const cluster = valueOf<{ cluster_state: string; cluster_known_nodes: number; nodes: Array<{ addr: string; role: string; self: boolean }> }>(
        p,
        'redis.cluster',
      );
      expect(cluster).toMatchObject({ cluster_state: 'ok', cluster_known_nodes: 3 });
      expect(cluster.nodes.map((n) => n.addr).sort()).toEqual(nodes.map((n) => `${n.host}:${n.port}`).sort());
      expect(cluster.nodes.find((n) => n.self)?.addr).toBe(`${seed.host}:${seed.port}`);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }, 60_000);

  it('TLS: verify-full against the server certificate works; a wrong CA fails as a TLS error (exit 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-tls-'));
    const openssl = requireBinary('openssl', 'openssl');
    const ssl = (...args: string[]) => runChecked(openssl, args, { cwd: dir });
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Other CA', '-keyout', 'other.key', '-out', 'other.pem');
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    await ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    );
    const tlsPort = await freePort();
    const h = await startRedis({
      config: [
        `tls-port ${tlsPort}`,
        `tls-cert-file ${join(dir, 'server.pem')}`,
        `tls-key-file ${join(dir, 'server.key')}`,
        `tls-ca-cert-file ${join(dir, 'ca.pem')}`,
        'tls-auth-clients no',
      ],
    });
    try {
      const t = (caFile: string) =>
        jsonFile({
          id: 'redis-tls',
          engine: 'redis',
          host: 'localhost',
          port: tlsPort,
          user: 'monitor',
          password: { env: 'PW' },
          tls: { mode: 'verify-full', caFile },
          connectTimeoutMs: 3000,
        });
      const ok = await runAgentCli(['check', '--target', t(join(dir, 'ca.pem'))], { env: { PW: h.users.monitor.password } });
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/Administrator: no/);
      const bad = await runAgentCli(['check', '--target', t(join(dir, 'other.pem'))], { env: { PW: h.users.monitor.password } });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/TLS failed/);
    } finally {
      await h.stop();
    }
  });
});
