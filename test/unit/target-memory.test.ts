import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StagedMemory } from '../../collectors/core/memory.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';

describe('staged target memory', () => {
  it('sees its own writes at once and reports whether anything changed', () => {
    const m = new StagedMemory({ a: 1 });
    expect(m.dirty).toBe(false);
    expect(m.get('a')).toBe(1);
    m.set('b', { lastId: 3, runId: 'x' });
    expect(m.dirty).toBe(true);
    expect(m.get('b')).toEqual({ lastId: 3, runId: 'x' });
    expect(m.snapshot()).toEqual({ a: 1, b: { lastId: 3, runId: 'x' } });
  });

  it('copies values in and out, so a caller cannot change what is kept behind its back', () => {
    const m = new StagedMemory();
    const v = { list: [1] };
    m.set('k', v);
    v.list.push(2);
    (m.get('k') as { list: number[] }).list.push(3);
    expect(m.get('k')).toEqual({ list: [1] });
  });
});

describe('target memory store', () => {
  it('keeps state across store instances (agent restarts), only when committed, in a 0600 file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const m = await store.load('redis-main');
    m.set('redis.slowlog', { runId: 'r', lastId: 41 });
    const uncommitted = await new TargetMemoryStore(dir).load('redis-main');
    expect(uncommitted.get('redis.slowlog')).toBeUndefined();
    await store.commit('redis-main', m);
    const again = await new TargetMemoryStore(dir).load('redis-main');
    expect(again.get('redis.slowlog')).toEqual({ runId: 'r', lastId: 41 });
    expect(statSync(store.file('redis-main')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(store.file('redis-main'), 'utf8'))).toEqual({ version: 1, values: { 'redis.slowlog': { runId: 'r', lastId: 41 } } });
  });

  it('does not write when nothing changed', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    await store.commit('t', await store.load('t'));
    expect(() => readdirSync(dir)).toThrow();
  });

  it('sets a damaged file aside and starts afresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    writeFileSync(store.file('t'), '{"version": 1, "values": ');
    expect((await store.load('t')).snapshot()).toEqual({});
    expect(readdirSync(dir).some((f) => f.startsWith('t.json.damaged-'))).toBe(true);
  });
});

describe('target memory store: the commit on the hot path', () => {
  it('replaces the file whole under a reader that keeps reading, and leaves no temporary file behind', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const big = (i: number) => ({ i, rows: Array.from({ length: 500 }, (_, k) => ({ k, text: `row ${k} of commit ${i}` })) });
    let reading = true;
    const seen: number[] = [];
    const reader = (async () => {
      while (reading) {
        try {
          seen.push((JSON.parse(readFileSync(store.file('t'), 'utf8')) as { values: { s: { i: number } } }).values.s.i);
        } catch (err) {
          // Only "not there yet" is acceptable; a half-written file would not parse.
          expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 60; i++) {
      const m = await store.load('t');
      m.set('s', big(i));
      await store.commit('t', m);
    }
    reading = false;
    await reader;
    expect(seen.length).toBeGreaterThan(0);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(readdirSync(dir)).toEqual(['t.json']);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual(big(59));
    expect(statSync(store.file('t')).mode & 0o777).toBe(0o600);
  });

  it('a loaded memory is its own copy: changing it (uncommitted) never changes what the next load sees', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const m = await store.load('t');
    m.set('s', { list: [1] });
    await store.commit('t', m);
    const a = await store.load('t');
    (a.get('s') as { list: number[] }).list.push(2);
    a.set('other', 1);
    expect((await store.load('t')).snapshot()).toEqual({ s: { list: [1] } });
  });

  it('a failed write keeps the previous version and leaves no temporary file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const m = await store.load('t');
    m.set('s', 1);
    await store.commit('t', m);
    // A directory where the file is renamed to cannot be replaced by a file.
    const blocked = new TargetMemoryStore(dir);
    const file = blocked.file('u');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(file);
    const n = await blocked.load('t');
    n.set('s', 2);
    const u = new StagedMemory();
    u.set('x', 1);
    await expect(blocked.commit('u', u)).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['t.json', 'u.json']);
    expect((await store.load('t')).get('s')).toBe(1);
  });
});
