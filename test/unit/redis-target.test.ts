import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../collectors/core/engine.js';
import { parseTarget } from '../../agent/config/target-file.js';

const base = { id: 'cache', engine: 'redis', host: 'cache.internal', port: 6379, user: 'logstag_monitor', password: { env: 'REDIS_PW' } };

function message(raw: unknown): string {
  try {
    parseTarget(raw, 'r.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('redis target files', () => {
  it('needs no database, and takes standalone, sentinel and cluster modes', () => {
    expect(parseTarget(base, 'r.json').redis).toBeUndefined();
    expect(parseTarget({ ...base, redis: { mode: 'standalone' } }, 'r.json').redis).toEqual({ mode: 'standalone' });
    expect(
      parseTarget({ ...base, port: 26379, redis: { mode: 'sentinel', masterName: 'mymaster', sentinels: [{ host: 's2', port: 26379 }] } }, 'r.json').redis,
    ).toEqual({
      mode: 'sentinel',
      masterName: 'mymaster',
      sentinels: [{ host: 's2', port: 26379 }],
      sentinelAuth: 'none',
      sentinelTls: false,
    });
    expect(parseTarget({ ...base, redis: { mode: 'cluster', nodes: [{ host: 'n2', port: 7001 }] } }, 'r.json').redis).toEqual({
      mode: 'cluster',
      nodes: [{ host: 'n2', port: 7001 }],
    });
  });

  it.each([
    [{ redis: {} }, /r\.json: redis\.mode: must be "standalone", "sentinel" or "cluster"/],
    [{ redis: { mode: 'replica' } }, /redis\.mode: must be/],
    [{ redis: { mode: 'sentinel' } }, /redis\.masterName/],
    [{ redis: { mode: 'cluster', seeds: [] } }, /redis: unknown field\(s\) "seeds"/],
    [{ redis: { mode: 'cluster', nodes: [{ host: 'n', port: 0 }] } }, /redis\.nodes\.0\.port/],
    [{ engine: 'postgres', database: 'app', redis: { mode: 'standalone' } }, /redis: applies to redis targets only, not postgres/],
    [{ tls: { mode: 'require', certFile: 'c.pem' } }, /tls\.keyFile: certFile and keyFile go together/],
  ])('explains bad redis options in one line (%#)', (extra, re) => {
    const m = message({ ...base, ...extra });
    expect(m).toMatch(re);
    expect(m).not.toContain('\n');
  });
});
