import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, redactMongoDocument } from '../../collectors/core/redact/mongo.js';
import { NameHasher } from '../../collectors/core/redact/names.js';
import { reduceRedisArgs } from '../../collectors/core/redact/redis.js';

describe('redactMongoDocument', () => {
  it('replaces values and keeps keys and $operators, nested', () => {
    const filter = {
      status: 'A',
      qty: { $lt: 30, $gte: 5 },
      $or: [{ name: /^bob/ }, { 'address.city': 'Paris', tags: ['x', 'y'] }],
      user: { email: 'bob@example.com', profile: { ssn: '123-45-6789' } },
    };
    expect(redactMongoDocument(filter)).toEqual({
      status: '?',
      qty: { $lt: '?', $gte: '?' },
      $or: [{ name: '?' }, { 'address.city': '?', tags: '?' }],
      user: { email: '?', profile: { ssn: '?' } },
    });
  });

  it('collapses scalar arrays (their length is data too) and keeps pipelines stage by stage', () => {
    expect(redactMongoDocument({ _id: { $in: [1, 2, 3, 4] } })).toEqual({ _id: { $in: '?' } });
    const pipeline = [{ $match: { a: 1 } }, { $group: { _id: '$k', n: { $sum: 1 } } }, 'weird', [[1]]];
    expect(redactMongoDocument(pipeline)).toEqual([{ $match: { a: '?' } }, { $group: { _id: '?', n: { $sum: '?' } } }, '?', ['?']]);
  });

  it('treats BSON-ish class instances, Buffers, Dates and null as values', () => {
    class ObjectId {
      constructor(readonly id: string) {}
    }
    expect(redactMongoDocument({ _id: new ObjectId('abc'), at: new Date(0), bin: Buffer.from('secret'), n: null, big: 10n })).toEqual({
      _id: '?',
      at: '?',
      bin: '?',
      n: '?',
      big: '?',
    });
    expect(redactMongoDocument('secret')).toBe('?');
    expect(redactMongoDocument(null)).toBe('?');
  });

  it('keeps a "__proto__" key as data, never as a prototype', () => {
    const doc = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}') as unknown;
    const out = redactMongoDocument(doc) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"?"},"a":"?"}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('survives 200 000 levels of nesting without a stack overflow, and bounds the result', () => {
    let deep: unknown = { leaf: 'secret' };
    for (let i = 0; i < 200_000; i++) deep = i % 2 === 0 ? { $and: [deep] } : { x: deep };
    const out = redactMongoDocument(deep);
    const text = JSON.stringify(out); // serialisable: the depth is capped
    expect(text).not.toContain('secret');
    let depth = 0;
    let node: unknown = out;
    while (node !== null && typeof node === 'object') {
      node = Array.isArray(node) ? node[0] : Object.values(node as object)[0];
      depth++;
    }
    expect(depth).toBeLessThanOrEqual(MAX_DEPTH * 2);
  });

  it('bounds a very wide document', () => {
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, `v${i}`]));
    const out = redactMongoDocument(wide) as Record<string, string>;
    expect(Object.keys(out).length).toBeLessThanOrEqual(10_000);
    expect(Object.values(out).every((v) => v === '?')).toBe(true);
  });
});

describe('reduceRedisArgs', () => {
  it('keeps the command, counts the arguments and gives their byte lengths', () => {
    expect(reduceRedisArgs(['set', 'user:42', 'café'])).toEqual({ command: 'SET', arg_count: 2, arg_lengths: [7, 5] });
    expect(reduceRedisArgs(['PING'])).toEqual({ command: 'PING', arg_count: 0, arg_lengths: [] });
  });

  it('keeps the subcommand of container commands, never their arguments (passwords)', () => {
    const r = reduceRedisArgs(['ACL', 'SETUSER', 'alice', 'on', '>s3cr3t-pass']);
    expect(r).toEqual({ command: 'ACL SETUSER', arg_count: 3, arg_lengths: [5, 2, 12] });
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
    expect(reduceRedisArgs(['AUTH', 'default', 'hunter2'])).toEqual({ command: 'AUTH', arg_count: 2, arg_lengths: [7, 7] });
    expect(reduceRedisArgs(['CONFIG', 'SET', 'requirepass', 'x'])).toMatchObject({ command: 'CONFIG SET', arg_count: 2 });
  });

  it('handles binary arguments and a binary or odd command name without echoing them', () => {
    const bin = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x80]);
    expect(reduceRedisArgs([Buffer.from('HSET'), bin, Buffer.alloc(0)])).toEqual({ command: 'HSET', arg_count: 2, arg_lengths: [5, 0] });
    expect(reduceRedisArgs([bin, 'x'])).toEqual({ command: '?', arg_count: 1, arg_lengths: [1] });
    expect(reduceRedisArgs(['GET key', 'x']).command).toBe('?');
    expect(reduceRedisArgs(['renamed-cmd_1', 'x']).command).toBe('RENAMED-CMD_1');
    expect(reduceRedisArgs([])).toEqual({ command: '?', arg_count: 0, arg_lengths: [] });
  });

  it('undoes the slow log truncation markers where they prove the real size', () => {
    // Redis keeps 32 arguments (the last says how many more) and 128 bytes per argument.
    const long = `${'a'.repeat(128)}... (872 more bytes)`;
    const args = ['MSET', long, ...Array.from({ length: 29 }, () => 'v'), '... (68 more arguments)'];
    expect(args).toHaveLength(32);
    const r = reduceRedisArgs(args);
    expect(r.command).toBe('MSET');
    expect(r.arg_lengths[0]).toBe(1000);
    expect(r.arg_lengths).toHaveLength(30);
    expect(r.arg_count).toBe(30 + 68);
    // The same text as a real argument of a short command is just an argument.
    expect(reduceRedisArgs(['SET', 'k', '... (68 more arguments)'])).toEqual({ command: 'SET', arg_count: 2, arg_lengths: [1, 23] });
  });
});

describe('NameHasher', () => {
  const key = Buffer.alloc(32, 7);
  it('is stable for a key, differs across keys and categories, and hides the name', () => {
    const a = new NameHasher(key);
    const b = new NameHasher(Buffer.from(key));
    const other = new NameHasher(Buffer.alloc(32, 8));
    const t = a.hash('object_names', 'orders');
    expect(t).toMatch(/^h:[0-9a-f]{16}$/);
    expect(b.hash('object_names', 'orders')).toBe(t);
    expect(other.hash('object_names', 'orders')).not.toBe(t);
    expect(a.hash('identity_metadata', 'orders')).not.toBe(t);
    expect(a.hash('object_names', 'orders2')).not.toBe(t);
    expect(t).not.toContain('orders');
    expect(a.hash('client_metadata', '東京 🚀')).toMatch(/^h:[0-9a-f]{16}$/);
  });
  it('refuses a short key', () => {
    expect(() => new NameHasher(Buffer.alloc(16))).toThrow(/256 bits/);
  });
});
