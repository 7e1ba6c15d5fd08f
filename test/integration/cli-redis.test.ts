// The CLI against the shared harness Redis 7.0 with a least-privileged ACL user, a user
// lacking SLOWLOG GET, and the default user: what check, grants and collect show.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { readStatements } from '../../agent/audit/reader.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PayloadV1Schema, type PayloadSignal, type PayloadV1 } from '../../collectors/core/payload.js';
import { checkCommand } from '../../collectors/redis/guard.js';
import { RespError, redisCommand, redisCommands } from '../harness/redis.js';
import { freePort, randomSecret } from '../harness/util.js';
import { isOneLineError, jsonFile, runAgentCli } from '../helpers/cli.js';

const redis = inject('redis');
type Who = 'monitor' | 'noslowlog' | 'default';
const admin = { host: redis.host, port: redis.port, auth: redis.users.admin };

function targetFor(who: Who, extra: Record<string, unknown> = {}) {
  const creds = who === 'default' ? { user: 'default', password: redis.users.default.password } : redis.users[who];
  const file = jsonFile({
    id: `redis-${who}`,
    engine: 'redis',
    host: redis.host,
    port: redis.port,
    user: creds.user,
    password: { env: 'LSA_REDIS_PASSWORD' },
    ...extra,
  });
  return { file, env: { LSA_REDIS_PASSWORD: creds.password } };
}

async function collect(who: Who, home?: string): Promise<PayloadV1> {
  const t = targetFor(who);
  const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env, ...(home ? { home } : {}) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return PayloadV1Schema.parse(JSON.parse(r.stdout));
}

const signal = (p: PayloadV1, id: string): PayloadSignal => {
  const s = p.signals.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no signal ${id}`);
  return s;
};
const value = <T>(p: PayloadV1, id: string): T => {
  const s = signal(p, id);
  if (s.status !== 'ok') throw new Error(`${id} is ${s.status}: ${s.detail}`);
  return s.value as T;
};

interface Check {
  identity: { user: string; isAdministrator: boolean; reasons: string[]; serverVersion: string };
  items: Array<{ grant: string; status: string; fix?: string }>;
  script: string;
}
async function check(who: Who): Promise<Check> {
  const t = targetFor(who);
  const r = await runAgentCli(['check', '--target', t.file, '--json'], { env: t.env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Check;
}
const statusOf = (c: Check): Record<string, string> => Object.fromEntries(c.items.map((i) => [i.grant, i.status]));

// Slow-log entries whose arguments hold a secret: none of it may reach a payload.
const SECRET_VALUE = `secret-${randomSecret(12)}`;
beforeAll(async () => {
  const [, , , back] = await redisCommands(admin, [
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'],
    ['SET', 'customer:42:card', SECRET_VALUE],
    ['HSET', 'customer:42', 'email', `${SECRET_VALUE}@example.com`],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '10000'],
  ]);
  expect(back).toBe('OK');
});
afterAll(async () => {
  await redisCommand(admin, 'DEL', 'customer:42:card', 'customer:42');
});

describe('redis harness users', () => {
  it('noslowlog may run SLOWLOG LEN but not SLOWLOG GET', async () => {
    const [len, get] = await redisCommands({ host: redis.host, port: redis.port, auth: redis.users.noslowlog }, [
      ['SLOWLOG', 'LEN'],
      ['SLOWLOG', 'GET', '1'],
    ]);
    expect(typeof len).toBe('number');
    expect((get as RespError).code).toBe('NOPERM');
  });
});

describe('CLI against the harness Redis', () => {
  it('a least-privileged ACL user: checklist all granted but the opt-in ACL LIST, not an administrator', async () => {
    const c = await check('monitor');
    expect(c.identity).toMatchObject({ user: 'monitor', isAdministrator: false, reasons: [], serverVersion: `Redis ${redis.version}` });
    expect(statusOf(c)).toEqual({
      '+ping': 'granted',
      '+client|setname': 'granted',
      '+info': 'granted',
      '+client|list': 'granted',
      '+slowlog|get': 'granted',
      '+slowlog|len': 'granted',
      '+latency|latest': 'granted',
      '+config|get': 'granted',
      '+memory|stats': 'granted',
      '+acl|whoami': 'granted',
      '+acl|list': 'opt_in',
      '+cluster|info': 'not_applicable',
    });
    expect(c.script).toMatch(/Nothing is missing/);
    expect(c.script).toContain('# ACL SETUSER monitor +acl|list');
  });

  it('a least-privileged ACL user: real values, the slow log without its arguments, never 0 for what it cannot see', async () => {
    const p = await collect('monitor');
    expect(p.target).toEqual({ id: 'redis-monitor', engine: 'redis', name: 'redis-monitor' });
    expect(value<{ product: string; version: string; tcp_port: number }>(p, 'redis.server')).toMatchObject({
      product: 'redis',
      version: redis.version,
      tcp_port: redis.port,
    });
    expect(value<{ connected_clients: number }>(p, 'redis.clients').connected_clients).toBeGreaterThanOrEqual(1);
    expect(value<{ role: string }>(p, 'redis.replication').role).toBe('master');
    expect(value<Array<{ command: string; calls: number }>>(p, 'redis.commandstats').some((r) => r.command === 'slowlog|get')).toBe(true);
    expect(value<{ user: string; is_default_user: boolean }>(p, 'redis.identity')).toEqual({ user: 'monitor', is_default_user: false });
    const clients = value<Array<{ set: string; name?: string | null; user?: string | null; cmd?: string | null; clients?: number }>>(p, 'redis.client_summary');
    // The agent's own connection, seen while it ran CLIENT LIST: in the name, user and command groups.
    expect(clients.some((c) => c.set === 'name' && c.name?.startsWith('logstag-agent/'))).toBe(true);
    expect(clients.some((c) => c.set === 'user' && c.user === 'monitor')).toBe(true);
    expect(clients.some((c) => c.set === 'cmd' && c.cmd === 'client|list')).toBe(true);
    expect(clients[0]).toMatchObject({ set: 'all', clients: expect.any(Number) });
    const config = value<Array<{ name: string; value: string }>>(p, 'redis.config');
    expect(config).toContainEqual({ name: 'slowlog-log-slower-than', value: '10000' });
    expect(config.map((c) => c.name)).not.toContain('requirepass');

    const slow = value<Array<{ command: string; args: { count: number; byte_lengths: Array<number | null> }; client_addr: string }>>(p, 'redis.slowlog');
    expect(slow).toContainEqual(expect.objectContaining({ command: 'set', args: { count: 2, byte_lengths: [16, SECRET_VALUE.length] } }));
    expect(slow).toContainEqual(expect.objectContaining({ command: 'hset', args: { count: 3, byte_lengths: [11, 5, SECRET_VALUE.length + 12] } }));
    expect(JSON.stringify(p)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(p)).not.toContain('customer:42');
    expect(value<{ length: number; cursor: string }>(p, 'redis.slowlog_len')).toMatchObject({ cursor: 'first_cycle' });

    expect(signal(p, 'redis.acl_users')).toEqual({
      id: 'redis.acl_users',
      family: 'security_posture',
      status: 'unavailable',
      reason: 'permission',
      detail: 'the ACL of monitor does not allow ACL LIST',
      fix: 'ACL SETUSER monitor +acl|list',
    });
    expect(signal(p, 'redis.commandlog')).toMatchObject({ status: 'unavailable', reason: 'unsupported' });
    expect(signal(p, 'redis.latency')).toMatchObject({
      status: 'unavailable',
      reason: 'not_enabled',
      fix: expect.stringMatching(/^CONFIG SET latency-monitor-threshold/),
    });
    expect(signal(p, 'redis.cluster')).toMatchObject({ status: 'unavailable', reason: 'not_enabled' });
    for (const s of p.signals) if (s.status === 'unavailable') expect(s).not.toHaveProperty('value');
  });

  it('a user lacking SLOWLOG GET: the checklist names the missing subcommand, the payload says permission with the exact fix', async () => {
    const c = await check('noslowlog');
    expect(c.items.find((i) => i.grant === '+slowlog|get')).toMatchObject({ status: 'missing', fix: 'ACL SETUSER noslowlog +slowlog|get' });
    expect(c.items.filter((i) => i.status === 'missing')).toHaveLength(1);

    const p = await collect('noslowlog');
    expect(signal(p, 'redis.slowlog')).toEqual({
      id: 'redis.slowlog',
      family: 'slowlog',
      status: 'unavailable',
      reason: 'permission',
      detail: 'the ACL of noslowlog does not allow SLOWLOG GET',
      fix: 'ACL SETUSER noslowlog +slowlog|get',
    });
    // SLOWLOG LEN is still allowed: a length, with no claim about entries it could not read.
    expect(value<{ length: number; new_entries: number | null }>(p, 'redis.slowlog_len')).toMatchObject({ new_entries: null });
    expect(value<unknown>(p, 'redis.memory_stats')).toBeTypeOf('object');

    const g = targetFor('noslowlog');
    const r = await runAgentCli(['grants', '--target', g.file], { env: g.env });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('ACL '))).toEqual(['ACL SETUSER noslowlog +slowlog|get']);
  });

  it('the default user: flagged as an administrator, with the dedicated least-privileged user to create instead', async () => {
    const c = await check('default');
    expect(c.identity.isAdministrator).toBe(true);
    expect(c.identity.reasons).toEqual([
      expect.stringMatching(/^is the default user/),
      expect.stringMatching(/^can run ACL GETUSER: holds @admin/),
      expect.stringMatching(/^has \+@all/),
      expect.stringMatching(/^can write every key/),
    ]);
    const acl = c.script.split('\n').filter((l) => l.startsWith('ACL '));
    expect(acl).toEqual([
      'ACL SETUSER logstag_monitor on >CHOOSE-A-STRONG-PASSWORD resetkeys resetchannels -@all +ping +hello +client|setname +info +client|list +slowlog|get +slowlog|len +latency|latest +config|get +memory|stats +acl|whoami +cluster|info',
    ]);
    // Subcommands only: no category is granted, no container command as a whole.
    expect(acl[0]!.match(/\+\S+/g)!.every((g) => /^\+[a-z]+(\|[a-z-]+)?$/.test(g) && !g.startsWith('+@'))).toBe(true);
    expect(acl[0]).not.toMatch(/\+client( |$)|\+@connection|\+slowlog( |$)|\+config( |$)/);

    const text = await runAgentCli(['check', '--target', targetFor('default').file], { env: targetFor('default').env });
    expect(text.stdout).toMatch(/^WARNING: default is an administrator \(is the default user/m);

    const p = await collect('default');
    const users = value<Array<{ user: string; enabled: boolean; nopass: boolean; all_commands: boolean; writes_all_keys: boolean }>>(p, 'redis.acl_users');
    expect(users.find((u) => u.user === 'default')).toMatchObject({ enabled: true, nopass: false, all_commands: true, writes_all_keys: true });
    expect(users.find((u) => u.user === 'monitor')).toMatchObject({ enabled: true, all_commands: false, writes_all_keys: false });
    expect(JSON.stringify(users)).not.toMatch(/#[0-9a-f]{64}/);
    expect(value<{ is_default_user: boolean }>(p, 'redis.identity').is_default_user).toBe(true);
  });

  it('unreachable, wrong password and missing password exit 3 with one line; TLS "prefer" exits 2', async () => {
    const closed = targetFor('monitor', { port: await freePort(), connectTimeoutMs: 3000 });
    const r1 = await runAgentCli(['collect', '--once', '--target', closed.file], { env: closed.env });
    expect(r1.code).toBe(3);
    expect(r1.stderr).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(isOneLineError(r1.stderr)).toBe(true);

    const bad = targetFor('monitor');
    const r2 = await runAgentCli(['check', '--target', bad.file], { env: { LSA_REDIS_PASSWORD: 'not-the-password' } });
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/authentication failed \(WRONGPASS/);
    expect(r2.stderr).not.toContain('not-the-password');
    expect(isOneLineError(r2.stderr)).toBe(true);

    const none = jsonFile({ id: 'redis-nopw', engine: 'redis', host: redis.host, port: redis.port, user: 'default' });
    const r3 = await runAgentCli(['collect', '--once', '--target', none]);
    expect(r3.code).toBe(3);
    expect(r3.stderr).toMatch(/authentication failed \(NOAUTH/);

    const prefer = targetFor('monitor', { tls: { mode: 'prefer' } });
    const r4 = await runAgentCli(['collect', '--once', '--target', prefer.file], { env: prefer.env });
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/tls\.mode "prefer" does not apply to Redis/);
    expect(isOneLineError(r4.stderr)).toBe(true);
  });

  it('records every command in the audit ledger: allowlisted, credentials redacted', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lsa-redis-audit-'));
    await collect('monitor', home);
    // No file of the ledger (live records, statement texts) holds the password.
    for (const f of readdirSync(join(home, 'audit'))) expect(readFileSync(join(home, 'audit', f), 'utf8')).not.toContain(redis.users.monitor.password);
    const entries = readStatements(join(home, 'audit'));
    expect(entries[0]).toMatchObject({ statement: 'AUTH <redacted>', outcome: 'ok', engine: 'redis', target: 'redis-monitor' });
    expect(entries.map((e) => e.statement)).toEqual(
      expect.arrayContaining(['CLIENT SETNAME logstag-agent/0.1.0', 'PING', 'SLOWLOG LEN', 'CLIENT LIST', 'ACL LIST']),
    );
    for (const e of entries) {
      if (e.statement === 'AUTH <redacted>') continue;
      const [name, ...args] = e.statement.replace(/…$/, '').split(' ');
      // CONFIG GET's statement is cut at 1000 characters: check the names it shows.
      expect(() => checkCommand(name!, e.statement.endsWith('…') ? args.slice(0, -1) : args)).not.toThrow();
    }
    expect(entries.find((e) => e.statement === 'ACL LIST')).toMatchObject({ outcome: 'error', code: 'NOPERM' });
  });
});

describe('clients are summarised, and the summary obeys the policy', () => {
  // 300 application connections whose name is an identifying secret: only counts and keyed hashes may leave.
  const APP = `payroll-${randomSecret(8)}`;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    const [user, password] = [redis.users.admin.user, redis.users.admin.password];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const s = connect({ host: redis.host, port: redis.port });
        sockets.push(s);
        const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
        return new Promise<void>((resolve, reject) => {
          s.on('error', reject);
          s.setEncoding('utf8');
          let got = '';
          s.on('data', (d: string) => {
            got += d;
            if (got === '+OK\r\n+OK\r\n') resolve();
            else if (got.startsWith('-')) reject(new Error(got));
          });
          s.on('connect', () => s.write(cmd('AUTH', user, password) + cmd('CLIENT', 'SETNAME', `${APP}-${i % 3}`)));
        });
      }),
    );
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
  });

  type Row = { set: string; name?: string | null; host?: string | null; addr?: string | null; clients?: number; rest?: number };
  async function summary(policy?: Record<string, string>): Promise<{ rows: Row[]; bytes: string }> {
    const t = targetFor('monitor', policy === undefined ? {} : { policy });
    const r = await runAgentCli(['collect', '--once', '--target', t.file, '--json'], { env: t.env });
    expect(r.code).toBe(0);
    const p = PayloadV1Schema.parse(JSON.parse(r.stdout));
    expect(p.signals.some((s) => s.id === 'redis.client_list')).toBe(false);
    return { rows: value<Row[]>(p, 'redis.client_summary'), bytes: r.stdout };
  }

  it('collect: groups by name and host with counts, never one row per client', async () => {
    const { rows } = await summary();
    expect(rows[0]!.clients).toBeGreaterThanOrEqual(301);
    expect(rows.filter((r) => r.set === 'name' && r.name?.startsWith(APP)).map((r) => r.clients)).toEqual([100, 100, 100]);
    expect(rows.find((r) => r.set === 'host' && r.host === redis.host)!.clients).toBeGreaterThanOrEqual(301);
    expect(rows.length).toBeLessThan(150);
  });

  it('redact: the names and the host leave only as hashes, group keys included; exclude: not at all', async () => {
    const red = await summary({ client_metadata: 'redact' });
    expect(red.bytes).not.toContain(APP);
    // (The host is in other signals' config values, collected by this policy: the summary is what is checked here.)
    expect(JSON.stringify(red.rows)).not.toContain(redis.host);
    const groups = red.rows.filter((r) => r.set === 'name' && r.clients === 100);
    expect(groups).toHaveLength(3);
    for (const g of groups) expect(g.name).toMatch(/^h:[0-9a-f]{16}$/);
    expect(red.rows.find((r) => r.set === 'host')!.host).toMatch(/^h:[0-9a-f]{16}$/);

    const ex = await summary({ client_metadata: 'exclude' });
    expect(ex.bytes).not.toContain(APP);
    expect(ex.rows.some((r) => ['name', 'host', 'flags', 'cmd'].includes(r.set))).toBe(false);
    expect(ex.rows.some((r) => 'name' in r || 'host' in r || 'addr' in r)).toBe(false);
    expect(ex.rows[0]!.clients).toBeGreaterThanOrEqual(301);
  });
});
