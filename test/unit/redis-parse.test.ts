import { describe, expect, it } from 'vitest';
import {
  aclPosture,
  infoScalar,
  parseAclGetUser,
  parseAclListLine,
  parseClientList,
  parseInfo,
  parseKv,
  parseLogEntries,
  summarizeArgs,
} from '../../collectors/redis/parse.js';
import { productLabel, serverFacts } from '../../collectors/redis/session.js';
import {
  REDIS_70_ACL_GETUSER_DEFAULT,
  REDIS_70_ACL_LIST,
  REDIS_70_CLIENT_LIST,
  REDIS_70_INFO_KEYSPACE,
  REDIS_70_INFO_SERVER,
} from '../fixtures/redis/redis-7.0.js';
import { VALKEY_72_INFO_SERVER, VALKEY_81_COMMANDLOG_LARGE_REQUEST, VALKEY_81_INFO_REPLICATION, VALKEY_81_INFO_SERVER } from '../fixtures/redis/valkey.js';

const section = (text: string, name: string) => {
  const s = parseInfo(text).get(name);
  if (s === undefined) throw new Error(`no section ${name}`);
  return s;
};

describe('INFO parsing', () => {
  it('splits sections, keeps empty known sections and drops nothing else', () => {
    const info = parseInfo(`${REDIS_70_INFO_SERVER}\r\n# Errorstats\r\n\r\n${REDIS_70_INFO_KEYSPACE}`);
    expect([...info.keys()]).toEqual(['server', 'errorstats', 'keyspace']);
    expect(info.get('errorstats')?.size).toBe(0);
    expect(info.get('server')?.get('executable')).toBe('/tmp/rx/redis-server');
    // A value with colons stays whole.
    expect(parseInfo('# Server\r\nmonotonic_clock:X86 TSC @ 2500 ticks/us\r\nx:a:b\r\n').get('server')?.get('x')).toBe('a:b');
    expect(parseInfo('').size).toBe(0);
  });

  it('turns numbers and percentages into numbers, leaves the rest alone', () => {
    expect(infoScalar('12')).toBe(12);
    expect(infoScalar('-1')).toBe(-1);
    expect(infoScalar('0.25')).toBe(0.25);
    expect(infoScalar('99.87%')).toBe(99.87);
    expect(infoScalar('ok')).toBe('ok');
    expect(infoScalar('7.0.15')).toBe('7.0.15');
    expect(infoScalar('')).toBe('');
    expect(parseKv('ip=10.0.0.7,port=6379,state=online')).toEqual({ ip: '10.0.0.7', port: '6379', state: 'online' });
  });

  it('labels Redis as Redis by redis_version', () => {
    const f = serverFacts(section(REDIS_70_INFO_SERVER, 'server'));
    expect(f).toEqual({
      product: 'redis',
      version: '7.0.15',
      major: 7,
      minor: 0,
      redisVersion: '7.0.15',
      mode: 'standalone',
      runId: '25b3652a425b5550e25a3bc159748960654f2b50',
    });
    expect(productLabel(f)).toBe('Redis 7.0.15');
  });

  it('labels Valkey as Valkey by server_name/valkey_version, never by its frozen redis_version', () => {
    const v81 = serverFacts(section(VALKEY_81_INFO_SERVER, 'server'));
    expect(v81).toMatchObject({ product: 'valkey', version: '8.1.1', major: 8, minor: 1, redisVersion: '7.2.4', mode: 'standalone' });
    expect(productLabel(v81)).toBe('Valkey 8.1.1');
    const v72 = serverFacts(section(VALKEY_72_INFO_SERVER, 'server'));
    expect(v72).toMatchObject({ product: 'valkey', version: '7.2.5', redisVersion: '7.2.4', mode: 'cluster' });
    // Without server_name (a build that only adds valkey_version) it is still Valkey.
    const noName = new Map(section(VALKEY_81_INFO_SERVER, 'server'));
    noName.delete('server_name');
    expect(serverFacts(noName).product).toBe('valkey');
  });

  it('reads Valkey replication fields and replica lines', () => {
    const r = section(VALKEY_81_INFO_REPLICATION, 'replication');
    expect(r.get('role')).toBe('slave');
    expect(r.get('master_host')).toBe('10.0.0.5');
    expect(parseKv(r.get('slave0')!)).toEqual({ ip: '10.0.0.7', port: '6379', state: 'online', offset: '7340032', lag: '0' });
  });
});

describe('CLIENT LIST parsing', () => {
  it('reads every field of every client, empty values included', () => {
    const rows = parseClientList(REDIS_70_CLIENT_LIST);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ id: '14', addr: '127.0.0.1:47672', name: '', cmd: 'client|list', user: 'default', 'tot-mem': '37658' });
    expect(rows[1]).toMatchObject({ name: 'logstag-agent/0.1.0', age: '312', idle: '3', user: 'monitor' });
  });
});

describe('slow-log entries', () => {
  it('parses entries with and without client fields', () => {
    const es = parseLogEntries([
      [5, 1700000000, 12000, ['GET', 'k'], '10.0.0.1:5000', 'web'],
      [4, 1699999999, 11000, ['PING']],
    ]);
    expect(es).toEqual([
      { id: 5, timestamp: 1700000000, value: 12000, argv: ['GET', 'k'], clientAddr: '10.0.0.1:5000', clientName: 'web' },
      { id: 4, timestamp: 1699999999, value: 11000, argv: ['PING'], clientAddr: null, clientName: null },
    ]);
    expect(() => parseLogEntries('nope')).toThrow(TypeError);
  });

  it('keeps the command name and reduces arguments to count and byte lengths', () => {
    expect(summarizeArgs(['SET', 'user:1', 'héllo'])).toEqual({ command: 'set', count: 2, byte_lengths: [6, 6] });
    expect(summarizeArgs(['CONFIG', 'GET', 'maxmemory'])).toEqual({ command: 'config|get', count: 1, byte_lengths: [9] });
    // A container command whose first argument is not a subcommand name keeps it as an argument.
    expect(summarizeArgs(['OBJECT', '12345'])).toEqual({ command: 'object', count: 1, byte_lengths: [5] });
  });

  it('undoes Redis truncation markers: 32 arguments and 128 bytes per argument', () => {
    const long = `${'a'.repeat(128)}... (872 more bytes)`;
    expect(summarizeArgs(['SET', 'k', long]).byte_lengths).toEqual([1, 1000]);
    // A short argument that merely looks like a marker is taken literally.
    expect(summarizeArgs(['SET', 'k', 'x... (5 more bytes)']).byte_lengths).toEqual([1, 19]);
    const argv = ['MSET', ...Array.from({ length: 30 }, (_, i) => `k${i}`), '... (970 more arguments)'];
    expect(argv).toHaveLength(32);
    const s = summarizeArgs(argv);
    expect(s.count).toBe(30 + 970);
    expect(s.byte_lengths).toHaveLength(30);
  });

  it('hides lengths that would hint at a credential', () => {
    expect(summarizeArgs(['AUTH', '(redacted)', '(redacted)'])).toEqual({ command: 'auth', count: 2, byte_lengths: [null, null] });
    expect(summarizeArgs(['ACL', 'SETUSER', 'bob', 'on', '>hunter22'])).toEqual({ command: 'acl|setuser', count: 3, byte_lengths: [null, null, null] });
    expect(summarizeArgs(['CONFIG', 'SET', 'requirepass', 'hunter22']).byte_lengths).toEqual([null, null]);
    expect(summarizeArgs(['GET', '(redacted)']).byte_lengths).toEqual([null]);
  });

  it('reads Valkey COMMANDLOG entries (bytes, truncated arguments)', () => {
    const [e] = parseLogEntries(VALKEY_81_COMMANDLOG_LARGE_REQUEST);
    expect(e).toMatchObject({ id: 7, value: 2097152, clientAddr: '10.0.3.17:50122', clientName: 'api-7f9c' });
    expect(summarizeArgs(e!.argv)).toEqual({ command: 'set', count: 2, byte_lengths: [12, 2097152] });
    expect(parseLogEntries(VALKEY_81_COMMANDLOG_LARGE_REQUEST)[1]!.clientName).toBeNull();
  });
});

describe('ACL posture', () => {
  const users = REDIS_70_ACL_LIST.map((l) => aclPosture(parseAclListLine(l)!));
  const byName = (n: string) => users.find((u) => u.user === n)!;

  it('flags the default user: enabled, nopass, +@all, every key writable', () => {
    expect(byName('default')).toEqual({
      user: 'default',
      enabled: true,
      nopass: true,
      password_count: 0,
      all_commands: true,
      admin_commands: true,
      all_keys: true,
      writes_all_keys: true,
      all_channels: true,
      selector_count: 0,
    });
  });

  it('sees a least-privileged monitor as harmless', () => {
    expect(byName('monitor')).toMatchObject({
      enabled: true,
      nopass: false,
      password_count: 1,
      all_commands: false,
      admin_commands: false,
      all_keys: false,
      writes_all_keys: false,
    });
  });

  it('tells read-only all-keys access from write access, and disabled users from enabled ones', () => {
    expect(byName('reader')).toMatchObject({ all_keys: true, writes_all_keys: false });
    expect(byName('old')).toMatchObject({ enabled: false, all_keys: false, writes_all_keys: false });
    expect(aclPosture(parseAclListLine('user w on nopass ~* +@all -@all +get')!)).toMatchObject({ all_commands: false, writes_all_keys: false });
    expect(aclPosture(parseAclListLine('user w on nopass %RW~* -@all +@write')!)).toMatchObject({ writes_all_keys: true });
  });

  it('never keeps password hashes', () => {
    expect(JSON.stringify(users)).not.toMatch(/30c952fab122|f4a1c6a7/);
  });

  it('reads ACL GETUSER of Redis 7 (strings) and Redis 6 (lists) alike', () => {
    const r7 = aclPosture(parseAclGetUser('default', REDIS_70_ACL_GETUSER_DEFAULT));
    expect(r7).toMatchObject({ nopass: true, all_commands: true, writes_all_keys: true });
    const r6 = aclPosture(
      parseAclGetUser('ops', ['flags', ['on', 'allkeys', 'allcommands'], 'passwords', ['abc'], 'commands', '+@all', 'keys', [], 'channels', []]),
    );
    expect(r6).toMatchObject({ nopass: false, password_count: 1, all_commands: true, all_keys: true, writes_all_keys: true });
  });
});
