import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StagedMemory } from '../../collectors/core/memory.js';
import { parseSlot, TargetMemoryStore } from '../../agent/state/target-memory-store.js';

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
    // A header naming the keys, each value on a line of its own, then the CRC-32 of exactly the bytes before it.
    const text = readFileSync(store.file('redis-main'), 'utf8');
    const [header, value, check, end] = text.split('\n');
    expect(JSON.parse(header!)).toEqual({ version: 3, generation: 1, epoch: expect.any(Number), keys: ['redis.slowlog'] });
    expect(JSON.parse(value!)).toEqual({ runId: 'r', lastId: 41 });
    expect(check).toBe(
      `crc32:${crc32(Buffer.from(`${header}\n${value}`, 'utf8'))
        .toString(16)
        .padStart(8, '0')}`,
    );
    expect(end).toBe('');
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
  it('a reader that keeps loading (another store, as another process would) only ever sees whole versions, in order; two files, no temporary one', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const big = (i: number) => ({ i, rows: Array.from({ length: 500 }, (_, k) => ({ k, text: `row ${k} of commit ${i}` })) });
    let reading = true;
    const seen: number[] = [];
    const reader = (async () => {
      const other = new TargetMemoryStore(dir);
      while (reading) {
        const s = (await other.load('t')).get('s') as ReturnType<typeof big> | undefined;
        if (s !== undefined) {
          // Every row of the version read belongs to that version: nothing half old, half new.
          expect(s.rows.every((r) => r.text.endsWith(` of commit ${s.i}`))).toBe(true);
          seen.push(s.i);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 60; i++) {
      const m = await store.load('t');
      m.set('s', big(i));
      await store.commit('t', m);
      // A commit no longer waits for the disk (no fsync), so the reader gets its turns here.
      await new Promise((r) => setImmediate(r));
    }
    reading = false;
    await reader;
    expect(seen.length).toBeGreaterThan(0);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(readdirSync(dir).sort()).toEqual(['@writer.json', 't.json', 't@1.json']);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual(big(59));
    for (const slot of [0, 1] as const) expect(statSync(store.slotFile('t', slot)).mode & 0o777).toBe(0o600);
  });

  it('close() marks the epoch closed: the next store trusts the state; a commit after close() opens a new epoch', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const store = new TargetMemoryStore(dir);
    const writer = () => JSON.parse(readFileSync(join(dir, '@writer.json'), 'utf8')) as { epoch: number; open: boolean; doubtBelow: number };
    const m = await store.load('t');
    expect(m.mayBeStale).toBe(false);
    m.set('s', 1);
    await store.commit('t', m);
    const first = writer();
    expect(first.open).toBe(true);
    // A store of another process while this one writes: its state may yet be lost, so it is doubted.
    expect((await new TargetMemoryStore(dir).load('t')).mayBeStale).toBe(true);
    expect((await store.load('t')).mayBeStale).toBe(false);
    await store.close();
    expect(writer()).toEqual({ ...first, version: 1, open: false });
    const next = await new TargetMemoryStore(dir).load('t');
    expect(next.mayBeStale).toBe(false);
    expect(next.get('s')).toBe(1);
    next.set('s', 2);
    await store.commit('t', next);
    expect(writer().epoch).toBeGreaterThan(first.epoch);
    expect(writer().open).toBe(true);
    await store.close();
    expect((await new TargetMemoryStore(dir).load('t')).mayBeStale).toBe(false);
  });

  it('after a clean stop, a writer trusts every target it loads, before and after its own first commit', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lsa-mem-')), 'target-state');
    const a = new TargetMemoryStore(dir);
    for (const id of ['t1', 't2', 't3']) {
      const m = await a.load(id);
      m.set('s', id);
      await a.commit(id, m);
    }
    await a.close();
    const b = new TargetMemoryStore(dir);
    const t1 = await b.load('t1');
    expect(t1.mayBeStale).toBe(false);
    t1.set('s', 'again');
    await b.commit('t1', t1);
    // Loaded after b opened its own epoch: still trusted (a's epoch closed cleanly).
    expect((await b.load('t2')).mayBeStale).toBe(false);
    expect((await new TargetMemoryStore(dir).load('t3')).mayBeStale).toBe(true);
  });

  it('a writer record that cannot be written fails the commit, and the next commit tries again', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const dir = join(parent, 'target-state');
    writeFileSync(dir, 'a file where the directory goes');
    const store = new TargetMemoryStore(dir);
    const m = new StagedMemory();
    m.set('s', 1);
    await expect(store.commit('t', m)).rejects.toThrow();
    rmSync(dir);
    await store.commit('t', m);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toBe(1);
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
    expect(readdirSync(dir).sort()).toEqual(['@writer.json', 't.json', 'u.json']);
    expect((await store.load('t')).get('s')).toBe(1);
  });
});

describe('target memory store: a write cut short never becomes the state', () => {
  const committed = async (dir: string, ...values: number[]) => {
    const store = new TargetMemoryStore(dir);
    for (const v of values) {
      const m = await store.load('t');
      m.set('s', { v, text: `version ${v} `.repeat(50) });
      await store.commit('t', m);
    }
    return store;
  };
  /** The text a commit of `v` at `generation` writes (the same serialisation as the store's). */
  const slotText = (v: number, generation: number) => {
    const body = `${JSON.stringify({ version: 3, generation, epoch: 1, keys: ['s'] })}\n${JSON.stringify({ v, text: `version ${v} `.repeat(50) })}`;
    return `${body}\ncrc32:${crc32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0')}\n`;
  };

  it('a crash in the middle of writing the next version: the load takes the previous one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = await committed(dir, 1, 2); // generation 1 in slot 0, generation 2 in slot 1
    // The third commit goes to slot 0; cut short at every kind of point.
    const next = slotText(3, 3);
    for (const cut of [1, 40, next.length / 2, next.length - 70, next.length - 2]) {
      writeFileSync(store.slotFile('t', 0), next.slice(0, cut));
      expect((await new TargetMemoryStore(dir).load('t')).get('s')).toMatchObject({ v: 2 });
    }
    // Written whole but the old, longer bytes not cut off yet.
    writeFileSync(store.slotFile('t', 0), `${next}${'x'.repeat(500)}`);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toMatchObject({ v: 2 });
    // The store that wrote it does not trust its own memory of the slots over the files.
    expect((await store.load('t')).get('s')).toMatchObject({ v: 2 });
  });

  it('a slot whose JSON parses but whose digest does not match (a flipped byte) is passed over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = await committed(dir, 1, 2);
    const text = readFileSync(store.slotFile('t', 1), 'utf8').replace('"v":2', '"v":7');
    writeFileSync(store.slotFile('t', 1), text);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toMatchObject({ v: 1 });
  });

  it('both slots damaged: both set aside, the target starts afresh; the next commit is whole again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = await committed(dir, 1, 2);
    writeFileSync(store.slotFile('t', 0), '{"version":2,"generation":1,');
    writeFileSync(store.slotFile('t', 1), 'garbage\n');
    const fresh = new TargetMemoryStore(dir);
    const m = await fresh.load('t');
    expect(m.snapshot()).toEqual({});
    expect(readdirSync(dir).filter((f) => f.includes('.damaged-'))).toHaveLength(2);
    m.set('s', { v: 3 });
    await fresh.commit('t', m);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual({ v: 3 });
  });

  it('a file of the earlier format is read, then replaced by the slots without losing a version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    writeFileSync(store.file('t'), `${JSON.stringify({ version: 1, values: { s: { v: 0 } } })}\n`, { mode: 0o600 });
    const m = await store.load('t');
    expect(m.get('s')).toEqual({ v: 0 });
    m.set('s', { v: 1 });
    await store.commit('t', m);
    // The earlier file is the older version now; the new one went to the other slot.
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual({ v: 1 });
    const n = await store.load('t');
    n.set('s', { v: 2 });
    await store.commit('t', n);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual({ v: 2 });
    expect(readFileSync(store.file('t'), 'utf8')).toContain('"version":3');
  });

  it('slots of version 2 (checked with SHA-256, fsynced on every commit) are read, and replaced by the next commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    const v2 = (v: number, generation: number) => {
      const body = JSON.stringify({ version: 2, generation, values: { s: { v } } });
      return `${body}\nsha256:${createHash('sha256').update(body).digest('hex')}\n`;
    };
    writeFileSync(store.slotFile('t', 0), v2(1, 1), { mode: 0o600 });
    writeFileSync(store.slotFile('t', 1), v2(2, 2), { mode: 0o600 });
    const m = await store.load('t');
    expect(m.get('s')).toEqual({ v: 2 });
    // No writer record yet (the version before it kept none): not trusted for deltas.
    expect(m.mayBeStale).toBe(true);
    // A SHA-256 line that does not match is a damaged slot, as before.
    writeFileSync(store.slotFile('t', 1), v2(2, 2).replace('"v":2', '"v":9'));
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual({ v: 1 });
    m.set('s', { v: 3 });
    await store.commit('t', m);
    expect(readFileSync(store.slotFile('t', 0), 'utf8')).toMatch(/^\{"version":3,"generation":3,.*\ncrc32:[0-9a-f]{8}\n$/s);
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toEqual({ v: 3 });
  });

  it('a value a cycle does not change is neither parsed nor serialised again: its line is written back as read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    // `1.0` and the spaces are how no JSON.stringify writes them: kept only if the line is carried over as text.
    const header = JSON.stringify({ version: 3, generation: 1, epoch: 1, keys: ['rows', 'head'] });
    const body = `${header}\n{ "q1": { "calls": 1.0 } }\n{"sequence":1}`;
    writeFileSync(store.slotFile('t', 0), `${body}\ncrc32:${crc32(Buffer.from(body)).toString(16).padStart(8, '0')}\n`, { mode: 0o600 });
    const m = await store.load('t');
    expect(m.get('head')).toEqual({ sequence: 1 });
    m.set('head', { sequence: 2 });
    await store.commit('t', m);
    const lines = readFileSync(store.slotFile('t', 1), 'utf8').split('\n');
    expect(lines.slice(1, 3).sort()).toEqual(['{ "q1": { "calls": 1.0 } }', '{"sequence":2}']);
    // Used and changed, it is written as JSON.stringify writes it.
    const n = await store.load('t');
    expect(n.get('rows')).toEqual({ q1: { calls: 1 } });
    n.set('rows', { q1: { calls: 2 } });
    await store.commit('t', n);
    expect(readFileSync(store.slotFile('t', 0), 'utf8')).toContain('\n{"q1":{"calls":2}}');
  });

  it('a value parsed from its line is handed out frozen by view(): a reader cannot change it behind the text written back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    const m = await store.load('t');
    m.set('rows', { q1: { calls: 1 } });
    m.set('head', 1);
    await store.commit('t', m);
    const n = await store.load('t');
    const rows = n.view('rows') as { q1: { calls: number } };
    expect(Object.isFrozen(rows) && Object.isFrozen(rows.q1)).toBe(true);
    expect(() => {
      rows.q1.calls = 99;
    }).toThrow(TypeError);
    n.set('head', 2);
    await store.commit('t', n);
    expect((await new TargetMemoryStore(dir).load('t')).get('rows')).toEqual({ q1: { calls: 1 } });
  });

  it('a version 3 slot whose lines do not match its header is damaged; a value line that is not JSON reads as absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = new TargetMemoryStore(dir);
    const slot = (lines: string[]) => {
      const body = lines.join('\n');
      return `${body}\ncrc32:${crc32(Buffer.from(body)).toString(16).padStart(8, '0')}\n`;
    };
    const header = (keys: unknown) => JSON.stringify({ version: 3, generation: 1, epoch: 1, keys });
    for (const bad of [
      [header(['a', 'b']), '1'],
      [header(['a']), '1', '2'],
      [header(['a', 'a']), '1', '2'],
      [header([1]), '1'],
      [header('a'), '1'],
      [JSON.stringify({ version: 3, generation: 0, epoch: 1, keys: [] })],
      ['not json', '1'],
    ]) {
      writeFileSync(store.slotFile('t', 0), slot(bad));
      expect(parseSlot(readFileSync(store.slotFile('t', 0)), 0), bad.join(' | ')).toBe('damaged');
    }
    writeFileSync(store.slotFile('t', 0), slot([header(['a', 'b']), '{"x":', '2']));
    const m = await new TargetMemoryStore(dir).load('t');
    expect(m.get('a')).toBeUndefined();
    expect(m.get('b')).toBe(2);
    expect(m.snapshot()).toEqual({ b: 2 });
  });

  it('a symbolic link put in place of a slot is not followed: the commit fails, the file it points to is untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-mem-'));
    const store = await committed(dir, 1); // slot 0 holds generation 1; the next commit writes slot 1
    const outside = join(mkdtempSync(join(tmpdir(), 'lsa-mem-outside-')), 'victim');
    writeFileSync(outside, 'do not touch');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, store.slotFile('t', 1));
    const m = await store.load('t');
    m.set('s', { v: 2 });
    await expect(store.commit('t', m)).rejects.toThrow();
    expect(readFileSync(outside, 'utf8')).toBe('do not touch');
    expect((await new TargetMemoryStore(dir).load('t')).get('s')).toMatchObject({ v: 1 });
  });
});
