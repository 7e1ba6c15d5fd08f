import { describe, expect, it } from 'vitest';
import { CATEGORIES, type Category } from '../../collectors/core/category.js';
import { type EffectivePolicy, readContext, resolvePolicy } from '../../collectors/core/policy.js';
import { applyPolicy } from '../../collectors/core/redact/apply.js';
import { NameHasher } from '../../collectors/core/redact/names.js';
import { redisCatalog } from '../../collectors/redis/catalog.js';
import {
  type ClientSummaryRow,
  GROUP_SETS,
  MAX_CLIENT_SUMMARY_ROWS,
  MAX_GROUPS,
  MAX_TEXT,
  summarizeClientList,
  TOP_N,
} from '../../collectors/redis/clients.js';
import type { RedisSession } from '../../collectors/redis/session.js';
import { REDIS_70_CLIENT_LIST } from '../fixtures/redis/redis-7.0.js';

/** The documented bound of the summary's JSON, whatever the number of clients and whatever they call themselves (docs/engines/redis.md). */
const MAX_SUMMARY_BYTES = 128 * 1024;

const names = new NameHasher(Buffer.alloc(32, 7));
const all = (a: 'collect' | 'redact' | 'exclude'): EffectivePolicy => Object.fromEntries(CATEGORIES.map((c) => [c, a])) as EffectivePolicy;
const spec = redisCatalog.find((s) => s.id === 'redis.client_summary')!;

/** One CLIENT LIST line as Redis 7.2 prints it (networking.c catClientInfoString), field for field. */
function line(c: {
  id: number;
  addr: string;
  name?: string;
  age?: number;
  idle?: number;
  flags?: string;
  db?: number;
  qbuf?: number;
  omem?: number;
  totMem?: number;
  cmd?: string;
  user?: string;
  lib?: string;
}): string {
  return (
    `id=${c.id} addr=${c.addr} laddr=127.0.0.1:6379 fd=${c.id + 8} name=${c.name ?? ''} age=${c.age ?? 0} idle=${c.idle ?? 0} flags=${c.flags ?? 'N'} ` +
    `db=${c.db ?? 0} sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=${c.qbuf ?? 0} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 ` +
    `omem=${c.omem ?? 0} tot-mem=${c.totMem ?? 1800} events=r cmd=${c.cmd ?? 'get'} user=${c.user ?? 'default'} redir=-1 resp=2 ` +
    `lib-name=${c.lib ?? ''} lib-ver=`
  );
}

/** 10,000 clients from 2,000 hosts, each with its own name: the case that shipped 2.8 MB per cycle. */
function tenThousand(name: (i: number) => string = (i) => `app-${i % 40}-worker-${i}`): string {
  return Array.from({ length: 10_000 }, (_, i) =>
    line({
      id: i + 1,
      addr: `10.${(i >> 16) & 255}.${(i % 2000) >> 8}.${(i % 2000) & 255}:${40000 + (i % 20000)}`,
      name: name(i),
      age: i * 7,
      idle: i % 5000,
      flags: i % 97 === 0 ? 'b' : 'N',
      db: i % 3,
      qbuf: i % 11,
      omem: i % 13 === 0 ? i * 3 : 0,
      totMem: 20000 + ((i * 7919) % 100000),
      cmd: ['get', 'set', 'hgetall', 'blpop'][i % 4],
      user: `svc${i % 5}`,
      lib: i % 2 === 0 ? 'redis-py' : 'ioredis',
    }),
  ).join('\r\n');
}

const rowsOf = (rows: ClientSummaryRow[], set: string) => rows.filter((r) => r.set === set);
const shipped = (text: string, policy: EffectivePolicy) =>
  applyPolicy(spec, summarizeClientList(text, { excluded: readContext(policy).excluded }), { policy, engine: 'redis', names }).value as Array<
    Record<string, unknown>
  >;

describe('CLIENT LIST summary', () => {
  it('reads Redis 7.0 output: totals, groups with counts and sums, top lists', () => {
    const rows = summarizeClientList(REDIS_70_CLIENT_LIST);
    expect(rows[0]).toEqual({ set: 'all', clients: 2, tot_mem: 37658 + 1800, qbuf: 26, omem: 0 });
    expect(rowsOf(rows, 'name')).toEqual([
      { set: 'name', name: 'logstag-agent/0.1.0', clients: 1, tot_mem: 1800, qbuf: 0, omem: 0 },
      { set: 'name', name: null, clients: 1, tot_mem: 37658, qbuf: 26, omem: 0 },
    ]);
    expect(rowsOf(rows, 'host').map((r) => [r.host, r.clients])).toEqual([
      ['10.1.2.3', 1],
      ['127.0.0.1', 1],
    ]);
    expect(rowsOf(rows, 'idle').map((r) => [r.idle_from_s, r.clients])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(rowsOf(rows, 'age').map((r) => [r.age_from_s, r.clients])).toEqual([
      [0, 1],
      [60, 1],
    ]);
    expect(rowsOf(rows, 'top_tot_mem').map((r) => [r.rank, r.id, r.addr, r.user, r.cmd])).toEqual([
      [1, 14, '127.0.0.1:47672', 'default', 'client|list'],
      [2, 9, '10.1.2.3:51000', 'monitor', 'slowlog|get'],
    ]);
    expect(rowsOf(rows, 'top_idle').map((r) => r.id)).toEqual([9]); // idle 0 is not "idle"
    expect(rowsOf(rows, 'top_omem')).toEqual([]);
  });

  it('10,000 clients, each with its own name and port: bounded rows and bytes, every client counted in every set', () => {
    const text = tenThousand();
    expect(text.length).toBeGreaterThan(2_000_000);
    const rows = summarizeClientList(text);
    expect(rows.length).toBeLessThanOrEqual(MAX_CLIENT_SUMMARY_ROWS);
    expect(rows[0]).toMatchObject({ set: 'all', clients: 10_000 });
    for (const set of GROUP_SETS) {
      const r = rowsOf(rows, set);
      expect(r.length, set).toBeLessThanOrEqual(MAX_GROUPS + 1);
      expect(
        r.reduce((n, x) => n + x.clients!, 0),
        set,
      ).toBe(10_000);
      expect(
        r.reduce((n, x) => n + x.tot_mem!, 0),
        set,
      ).toBe(rows[0]!.tot_mem);
    }
    // 10,000 names and 2,000 hosts: the largest 25 groups, then one row that says how many more.
    expect(rowsOf(rows, 'name').at(-1)).toMatchObject({ set: 'name', rest: 10_000 - MAX_GROUPS });
    expect(rowsOf(rows, 'name').at(-1)).not.toHaveProperty('name');
    expect(rowsOf(rows, 'host').at(-1)).toMatchObject({ rest: 2_000 - MAX_GROUPS });
    expect(rowsOf(rows, 'host')[0]!.clients).toBe(5);
    expect(rowsOf(rows, 'db').map((r) => [r.db, r.clients])).toEqual([
      [0, 3334],
      [1, 3333],
      [2, 3333],
    ]);
    for (const top of ['top_tot_mem', 'top_idle', 'top_omem']) expect(rowsOf(rows, top), top).toHaveLength(TOP_N);
    const mem = rowsOf(rows, 'top_tot_mem').map((r) => r.tot_mem!);
    expect(mem).toEqual([...mem].sort((a, b) => b - a));
    // The true top 20 of the generated values, found the naive way.
    const naive = Array.from({ length: 10_000 }, (_, i) => 20000 + ((i * 7919) % 100000))
      .sort((a, b) => b - a)
      .slice(0, TOP_N);
    expect(mem).toEqual(naive);
    expect(rowsOf(rows, 'top_idle')[0]).toMatchObject({ idle_s: 4999 });

    for (const policy of [all('collect'), all('redact'), resolvePolicy()]) {
      const bytes = Buffer.byteLength(JSON.stringify(shipped(text, policy)));
      expect(bytes).toBeLessThan(40 * 1024);
    }
  });

  it('stays within the documented bound when every client picks the longest, most escaped name it can', () => {
    // CLIENT SETNAME accepts any printable ASCII but space: quotes and backslashes double in JSON.
    const evil = (i: number) => `${i}${'"\\'.repeat(100)}`;
    const text = Array.from({ length: 10_000 }, (_, i) =>
      line({
        id: i,
        db: i,
        addr: `/tmp/${i}${'"'.repeat(300)}.sock:0`,
        name: evil(i),
        user: evil(i),
        lib: evil(i),
        flags: evil(i),
        cmd: evil(i),
        totMem: i + 1,
        idle: i + 1,
        omem: i + 1,
      }),
    ).join('\n');
    for (const policy of [all('collect'), all('redact')]) {
      const rows = shipped(text, policy);
      expect(rows.length).toBeLessThanOrEqual(MAX_CLIENT_SUMMARY_ROWS);
      expect(Buffer.byteLength(JSON.stringify(rows))).toBeLessThan(MAX_SUMMARY_BYTES);
      for (const r of rows) for (const v of Object.values(r)) if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(MAX_TEXT);
    }
    // Every client distinct: every set at its cap.
    const rows = summarizeClientList(text);
    for (const set of ['name', 'host', 'user', 'lib_name', 'flags', 'db', 'cmd']) expect(rowsOf(rows, set), set).toHaveLength(MAX_GROUPS + 1);
    // A long value is grouped by its first characters, and says it was cut.
    const long = summarizeClientList(
      [line({ id: 1, addr: 'a:1', name: `${'x'.repeat(80)}1` }), line({ id: 2, addr: 'a:2', name: `${'x'.repeat(80)}2` })].join('\n'),
    );
    expect(rowsOf(long, 'name')).toEqual([{ set: 'name', name: `${'x'.repeat(MAX_TEXT - 1)}…`, clients: 2, tot_mem: 3600, qbuf: 0, omem: 0 }]);
  });

  it('redact: names, hosts, addresses, users, flags and commands leave only as keyed hashes, group keys included', () => {
    const text = [
      line({ id: 1, addr: '203.0.113.9:5000', name: 'billing-api', user: 'billing', flags: 'N', cmd: 'get', lib: 'jedis', totMem: 900 }),
      line({ id: 2, addr: '203.0.113.9:5001', name: 'billing-api', user: 'billing', flags: 'N', cmd: 'get', lib: 'jedis', totMem: 800 }),
      line({ id: 3, addr: '[2001:db8::7]:6000', name: 'reports', user: 'ops', flags: 'b', cmd: 'blpop', lib: 'jedis', idle: 700, totMem: 100 }),
    ].join('\n');
    const rows = shipped(text, all('redact'));
    const json = JSON.stringify(rows);
    for (const raw of ['203.0.113.9', '2001:db8', 'billing', 'reports', 'ops', 'blpop', 'jedis', '"b"', '"N"', '"get"', '5000', '6000'])
      expect(json).not.toContain(raw);
    const h = (c: Category, v: string) => names.hash(c, v);
    // Grouping happens on the raw host: both billing clients are one group, under the hash of the host without its port.
    expect(rows.filter((r) => r['set'] === 'host')).toEqual([
      { set: 'host', host: h('client_metadata', '203.0.113.9'), clients: 2, tot_mem: 1700, qbuf: 0, omem: 0 },
      { set: 'host', host: h('client_metadata', '[2001:db8::7]'), clients: 1, tot_mem: 100, qbuf: 0, omem: 0 },
    ]);
    expect(rows.filter((r) => r['set'] === 'user').map((r) => r['user'])).toEqual([h('identity_metadata', 'billing'), h('identity_metadata', 'ops')]);
    expect(rows.find((r) => r['set'] === 'top_idle')).toMatchObject({
      id: 3,
      addr: h('client_metadata', '[2001:db8::7]:6000'),
      name: h('client_metadata', 'reports'),
    });
    // Bucket bounds are client_metadata like idle_s and age_s: hashed too.
    expect(rows.filter((r) => r['set'] === 'idle').map((r) => r['idle_from_s'])).toEqual([h('client_metadata', '0'), h('client_metadata', '600')]);
  });

  it('exclude: the excluded categories do not appear at all, not even as the shape of their groups', () => {
    const text = tenThousand();
    const policy = resolvePolicy({ client_metadata: 'exclude', identity_metadata: 'exclude' });
    const rows = shipped(text, policy);
    const json = JSON.stringify(rows);
    expect(json).not.toMatch(/app-\d|10\.0\.|svc\d|redis-py|ioredis|hgetall/);
    expect(new Set(rows.map((r) => r['set']))).toEqual(new Set(['all', 'db', 'top_tot_mem', 'top_idle', 'top_omem']));
    for (const r of rows) {
      for (const k of ['name', 'host', 'addr', 'user', 'lib_name', 'flags', 'cmd', 'idle_s', 'age_s', 'idle_from_s', 'age_from_s'])
        expect(r, k).not.toHaveProperty(k);
    }
    // The read itself skips the sets: the summariser never builds a name or host group.
    const read = summarizeClientList(text, { excluded: readContext(policy).excluded });
    expect(read.some((r) => r.set === 'name' || r.set === 'host' || r.set === 'user')).toBe(false);
  });

  it('reads what a client can put in its own fields literally, and ignores what is not a client line', () => {
    const text = [
      '',
      line({ id: 5, addr: '10.0.0.1:1', name: 'a=b', totMem: 10 }),
      'garbage without pairs',
      // A name cannot hold a space: CLIENT SETNAME refuses it. The field order is not relied upon either.
      'cmd=get name=tot-mem=999999 tot-mem=7 id=6 addr=10.0.0.2:2 db=x idle=-4 ',
      '',
    ].join('\r\n');
    const rows = summarizeClientList(text);
    expect(rows[0]).toMatchObject({ set: 'all', clients: 2, tot_mem: 17 });
    expect(rowsOf(rows, 'name').map((r) => r.name)).toEqual(['a=b', 'tot-mem=999999']);
    expect(rowsOf(rows, 'db').map((r) => [r.db, r.clients])).toEqual([
      [0, 1],
      [null, 1],
    ]);
    expect(rowsOf(rows, 'idle').map((r) => [r.idle_from_s, r.clients])).toEqual([
      [0, 1],
      [null, 1],
    ]);
    // No client reported any memory: the sums are unknown, not 0 (the catalog read refuses an empty list outright).
    expect(summarizeClientList('')).toEqual([{ set: 'all', clients: 0, tot_mem: null, qbuf: null, omem: null }]);
    // Hosts: IPv4, bracketed IPv6, a unix socket (port 0); a name of a megabyte costs no more than a long one.
    const hosts = summarizeClientList(
      [
        line({ id: 1, addr: '10.0.0.1:5000', name: 'x'.repeat(1_000_000) }),
        line({ id: 2, addr: '[2001:db8::1]:6000', name: `ün${'😀'.repeat(40)}` }),
        line({ id: 3, addr: '/var/run/redis/redis.sock:0' }),
      ].join('\n'),
    );
    expect(rowsOf(hosts, 'host').map((r) => r.host)).toEqual(['/var/run/redis/redis.sock', '10.0.0.1', '[2001:db8::1]']);
    const cut = rowsOf(hosts, 'name').map((r) => r.name);
    expect(cut).toContain(`${'x'.repeat(MAX_TEXT - 1)}…`);
    // Cut by characters, never inside a UTF-16 surrogate pair.
    const emoji = cut.find((n) => n?.startsWith('ün'))!;
    expect(emoji.length).toBeLessThanOrEqual(MAX_TEXT);
    expect(emoji.endsWith('…')).toBe(true);
    expect(emoji.slice(0, -1)).toBe(emoji.slice(0, -1).normalize());
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(emoji)).toBe(false);
  });

  it('gives identical bytes whatever order the server lists its clients in', () => {
    const lines = tenThousand().split('\r\n');
    const shuffled = [...lines];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = (i * 7919 + 13) % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    expect(JSON.stringify(summarizeClientList(shuffled.join('\n')))).toBe(JSON.stringify(summarizeClientList(lines.join('\n'))));
  });

  it('is the catalog signal: one CLIENT LIST, the read told the policy', async () => {
    const sent: unknown[][] = [];
    const session = {
      // Bytes, as ioredis' callBuffer hands over a bulk reply: never copied into a string.
      commandBuffer: async (...args: unknown[]) => {
        sent.push(args);
        return Buffer.from(tenThousand());
      },
    } as unknown as RedisSession;
    const rows = (await spec.read(session, readContext(resolvePolicy({ client_metadata: 'exclude' })))) as ClientSummaryRow[];
    expect(sent).toEqual([['CLIENT', 'LIST']]);
    expect(rows.some((r) => r.set === 'name')).toBe(false);
    expect(rows.some((r) => r.set === 'user')).toBe(true);
    expect(redisCatalog.some((s) => s.id === 'redis.client_list')).toBe(false);
  });
});

describe('CLIENT LIST summary: what the server did not say is never a 0', () => {
  it('a server whose clients report no tot-mem, qbuf or omem: the sums are null, not 0', () => {
    // The Redis 7.0 lines with the three memory fields removed (as a server without them lists its clients).
    const without = REDIS_70_CLIENT_LIST.replace(/ (tot-mem|qbuf|omem)=\d+/g, '');
    expect(without).not.toMatch(/tot-mem=|qbuf=|omem=/);
    const rows = summarizeClientList(without);
    const all = rows.find((r) => r.set === 'all')!;
    expect(all.clients).toBeGreaterThan(0);
    expect(all).toMatchObject({ tot_mem: null, qbuf: null, omem: null });
    for (const r of rows.filter((x) => x.set === 'name')) expect(r).toMatchObject({ tot_mem: null, qbuf: null, omem: null });
  });

  it('an answer without a single client (CLIENT LIST always lists the caller) is unavailable, never "0 clients"', async () => {
    const session = { commandBuffer: async () => Buffer.from('') } as unknown as RedisSession;
    await expect(spec.read(session, readContext(resolvePolicy({})))).rejects.toMatchObject({ name: 'SignalUnavailable', reason: 'error' });
  });
});
