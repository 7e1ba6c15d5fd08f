import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { mapRedisConnectError, mapRedisSignalError, toCommandError } from '../../collectors/redis/errors.js';
import { CommandRefused } from '../../collectors/redis/guard.js';

const reply = (message: string): Error => new (ReplyError as new (m: string) => Error)(message);
const mapped = (message: string, key = 'slowlog|get') => mapRedisSignalError(toCommandError(reply(message), key, 'monitor'));

describe('redis signal errors', () => {
  it('maps NOPERM to permission with the exact subcommand grant, whatever the wording of the version', () => {
    for (const text of [
      "NOPERM this user has no permissions to run the 'slowlog|get' command",
      "NOPERM User monitor has no permissions to run the 'slowlog|get' command",
    ]) {
      expect(mapped(text)).toEqual({
        status: 'unavailable',
        reason: 'permission',
        detail: 'the ACL of monitor does not allow SLOWLOG GET',
        fix: 'ACL SETUSER monitor +slowlog|get',
      });
    }
  });

  it('reports a renamed or disabled command as disabled, not as an error', () => {
    const r = mapped("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'maxmemory' ", 'config|get');
    expect(r).toMatchObject({ status: 'unavailable', reason: 'disabled' });
    expect(r.detail).toMatch(/CONFIG is renamed or disabled on this server \(rename-command\)/);
    // The server's echo of the arguments is not repeated.
    expect(r.detail).not.toContain('maxmemory');
  });

  it('maps an unknown subcommand, loading, timeouts and lost connections', () => {
    expect(mapped("ERR unknown subcommand 'latest'. Try LATENCY HELP.", 'latency|latest')).toMatchObject({ reason: 'unsupported' });
    expect(mapped('LOADING Redis is loading the dataset in memory')).toMatchObject({ reason: 'error', detail: expect.stringMatching(/loading/) });
    expect(mapped('BUSY Redis is busy running a script.')).toMatchObject({ reason: 'timeout' });
    expect(mapRedisSignalError(toCommandError(new Error('Command timed out'), 'info', 'monitor'))).toMatchObject({ reason: 'timeout' });
    expect(mapRedisSignalError(toCommandError(new Error('Connection is closed.'), 'info', 'monitor'))).toMatchObject({
      reason: 'error',
      detail: 'connection lost during INFO',
    });
  });

  it('reports a refusal by the allowlist as an error of the agent', () => {
    expect(mapRedisSignalError(new CommandRefused('SLOWLOG RESET', 'not on the allowlist'))).toMatchObject({
      reason: 'error',
      detail: expect.stringMatching(/allowlist/),
    });
  });
});

describe('redis connect errors', () => {
  const where = 'db:6379';
  it.each([
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'unreachable', /unreachable \(ECONNREFUSED\)/],
    [Object.assign(new Error('getaddrinfo ENOTFOUND nope'), { code: 'ENOTFOUND' }), 'unreachable', /ENOTFOUND/],
    [reply('WRONGPASS invalid username-password pair or user is disabled.'), 'authentication', /authentication failed/],
    [reply('NOAUTH Authentication required.'), 'authentication', /authentication failed/],
    [Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'timeout', /no answer in time/],
    [Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'tls', /TLS failed/],
    [new Error('All sentinels are unreachable and retry is disabled.'), 'unreachable', /sentinels/],
    [new Error('Failed to refresh slots cache.'), 'unreachable', /no cluster node answered/],
  ])('%s → %s', (err, kind, re) => {
    const e = mapRedisConnectError(err, where);
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(re);
    expect(e.message.startsWith(`${where}: `)).toBe(true);
  });
});
