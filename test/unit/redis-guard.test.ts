import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCommand, CommandRefused } from '../../collectors/redis/guard.js';
import { VETTED_CONFIG } from '../../collectors/redis/settings.js';

const refusal = (name: string, ...args: unknown[]): CommandRefused => {
  try {
    checkCommand(name, args);
  } catch (err) {
    expect(err).toBeInstanceOf(CommandRefused);
    return err as CommandRefused;
  }
  throw new Error(`${name} ${args.join(' ')} was allowed`);
};

describe('redis command allowlist', () => {
  it.each([
    [['PING'], 'ping', 'PING'],
    [['INFO', 'server'], 'info', 'INFO server'],
    [['info', 'commandstats'], 'info', 'INFO commandstats'],
    [['SLOWLOG', 'GET', 128], 'slowlog|get', 'SLOWLOG GET 128'],
    [['slowlog', 'len'], 'slowlog|len', 'SLOWLOG LEN'],
    [['CLIENT', 'LIST'], 'client|list', 'CLIENT LIST'],
    [['client', 'setname', 'logstag-agent/0.1.0'], 'client|setname', 'CLIENT SETNAME logstag-agent/0.1.0'],
    [['CONFIG', 'GET', 'maxmemory', 'slowlog-max-len'], 'config|get', 'CONFIG GET maxmemory slowlog-max-len'],
    [['LATENCY', 'LATEST'], 'latency|latest', 'LATENCY LATEST'],
    [['MEMORY', 'STATS'], 'memory|stats', 'MEMORY STATS'],
    [['ACL', 'WHOAMI'], 'acl|whoami', 'ACL WHOAMI'],
    [['ACL', 'GETUSER', 'monitor'], 'acl|getuser', 'ACL GETUSER monitor'],
    [['ACL', 'LIST'], 'acl|list', 'ACL LIST'],
    [['CLUSTER', 'INFO'], 'cluster|info', 'CLUSTER INFO'],
    [['cluster', 'SLOTS'], 'cluster|slots', 'CLUSTER SLOTS'],
    [['COMMANDLOG', 'GET', 128, 'large-request'], 'commandlog|get', 'COMMANDLOG GET 128 large-request'],
    [['COMMANDLOG', 'LEN', 'large-reply'], 'commandlog|len', 'COMMANDLOG LEN large-reply'],
    [['sentinel', 'get-master-addr-by-name', 'mymaster'], 'sentinel|get-master-addr-by-name', 'SENTINEL GET-MASTER-ADDR-BY-NAME mymaster'],
  ])('allows %j as %s', ([name, ...args], key, statement) => {
    expect(checkCommand(name as string, args)).toEqual({ key, statement });
  });

  it.each([
    ['SLOWLOG', 'RESET'],
    ['COMMANDLOG', 'RESET', 'slow'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'],
    ['CONFIG', 'RESETSTAT'],
    ['CONFIG', 'REWRITE'],
    ['CONFIG', 'GET', '*'],
    ['CONFIG', 'GET', 'max*'],
    ['CONFIG', 'GET', 'requirepass'],
    ['CONFIG', 'GET', 'masterauth'],
    ['CONFIG', 'GET', 'maxmemory', 'dir'],
    ['CONFIG', 'GET'],
    ['CLIENT', 'KILL', 'ID', '7'],
    ['CLIENT', 'PAUSE', '1000'],
    ['CLIENT', 'NO-EVICT', 'on'],
    ['CLIENT', 'LIST', 'USER', 'x'],
    ['CLIENT', 'SETNAME', 'two words'],
    ['CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis'],
    ['MONITOR'],
    ['SELECT', '1'],
    ['FLUSHALL'],
    ['SET', 'k', 'v'],
    ['GET', 'k'],
    ['KEYS', '*'],
    ['SCAN', '0'],
    ['EVAL', 'return 1', '0'],
    ['SHUTDOWN'],
    ['DEBUG', 'SLEEP', '1'],
    ['ACL', 'SETUSER', 'x', 'on'],
    ['ACL', 'LOG', 'RESET'],
    ['LATENCY', 'RESET'],
    ['MEMORY', 'PURGE'],
    ['CLUSTER', 'FAILOVER'],
    ['SLOWLOG', 'GET', '-1'],
    ['SLOWLOG', 'GET', '10', 'extra'],
    ['PING', 'hello'],
    ['INFO', 'server;FLUSHALL'],
    ['READONLY'],
    ['QUIT'],
    ['SENTINEL', 'SET', 'mymaster', 'quorum', '1'],
    ['HELLO', '3', 'SETNAME', 'two words'],
  ])('refuses %j', (name, ...args) => {
    refusal(name, ...args);
  });

  it('never writes the arguments of a refused command to its statement', () => {
    const r = refusal('CONFIG', 'SET', 'requirepass', 'hunter2');
    expect(r.statement).toBe('CONFIG SET <2 args>');
    expect(r.message).not.toContain('hunter2');
    expect(refusal('SET', 'secret-key', 'secret-value').statement).toBe('SET <2 args>');
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.array(fc.string({ minLength: 8, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        (name, args) => {
          try {
            checkCommand(name, args);
          } catch (err) {
            if (!(err instanceof CommandRefused)) throw err;
            for (const a of args) expect(err.statement.includes(a) && !name.toLowerCase().includes(a.toLowerCase())).toBe(false);
          }
        },
      ),
    );
  });

  it('redacts credentials in AUTH and HELLO', () => {
    expect(checkCommand('auth', ['monitor', 's3cret'])).toEqual({ key: 'auth', statement: 'AUTH <redacted>' });
    expect(checkCommand('auth', ['s3cret']).statement).toBe('AUTH <redacted>');
    expect(checkCommand('hello', ['3', 'AUTH', 'monitor', 's3cret', 'SETNAME', 'a']).statement).toBe('HELLO <redacted>');
  });

  it('allows every vetted CONFIG name and no name that holds a secret', () => {
    expect(checkCommand('CONFIG', ['GET', ...VETTED_CONFIG]).key).toBe('config|get');
    for (const n of VETTED_CONFIG) expect(n).not.toMatch(/pass|auth-?user|masteruser|key-file|aclfile|^dir$|dbfilename|logfile|unixsocket/);
  });

  it('accepts Buffer and number arguments, and refuses anything else', () => {
    expect(checkCommand('SLOWLOG', [Buffer.from('GET'), 10]).statement).toBe('SLOWLOG GET 10');
    refusal('SLOWLOG', 'GET', { toString: () => '10' });
  });

  it('refuses any command outside the allowlist, whatever its arguments', () => {
    const allowed = new Set(['ping', 'info', 'auth', 'hello', 'client', 'slowlog', 'commandlog', 'latency', 'config', 'memory', 'acl', 'cluster', 'sentinel']);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z|-]{1,16}$/), fc.array(fc.string(), { maxLength: 3 }), (name, args) => {
        fc.pre(!allowed.has(name.toLowerCase()));
        expect(() => checkCommand(name, args)).toThrow(CommandRefused);
      }),
    );
  });
});
