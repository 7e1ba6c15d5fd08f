// Every target's files in target-state/ are its own. Target ids may contain "." (letters,
// digits, ".", "_", "-"), so a file name made of an id plus a "."-suffix can be another
// target's: "db" and "db.1", "db" and "db.history". Each target here commits its memory
// twice (both slots) and "db" records its charts' history; every target must load
// exactly its own state, and removing one target's history must not touch another's memory.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { RecentHistory } from '../../agent/state/recent-history.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';

const payload = (id: string, i: number): PayloadV1 =>
  ({
    schema: 'logstag.payload/v1',
    agent: { id: 'a', version: '0.1.0', host: 'h' },
    target: { id, engine: 'postgres', name: id },
    collectedAt: new Date(Date.UTC(2026, 11, 6, 8, 0, i)).toISOString(),
    signals: [{ id: 'connections', family: 'activity', status: 'ok', value: [{ n: i }] }],
  }) as unknown as PayloadV1;

const IDS = ['db', 'db.1', 'db.history', 'db.1.1'];

describe('target-state file names', () => {
  it('targets whose ids extend one another keep their own memory and history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-names-'));
    const store = new TargetMemoryStore(dir);
    const history = new RecentHistory(dir);
    for (const round of [1, 2, 3])
      for (const id of IDS) {
        const m = await store.load(id);
        m.set('owner', { id, round });
        await store.commit(id, m);
        if (id === 'db') await history.record(payload('db', round));
      }
    for (const id of IDS) expect((await new TargetMemoryStore(dir).load(id)).get('owner')).toEqual({ id, round: 3 });
    expect(await new RecentHistory(dir).get('db')).toHaveLength(3);
    // Removing db's history leaves every target's memory as it was.
    await history.forget('db');
    for (const id of IDS) expect((await new TargetMemoryStore(dir).load(id)).get('owner')).toEqual({ id, round: 3 });
    expect(readdirSync(dir).filter((f) => f.includes('damaged'))).toEqual([]);
  });

  it("a history file of the earlier name is read once and removed; another target's memory of that name is left alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsa-names-'));
    // The earlier name of a's history...
    writeFileSync(join(dir, 'a.history.json'), `${JSON.stringify({ version: 1, payloads: [payload('a', 1)] })}\n`);
    const h = new RecentHistory(dir);
    expect(await h.get('a')).toHaveLength(1);
    expect(readdirSync(dir)).not.toContain('a.history.json');
    // ... and the same name held by the memory of a target called "b.history": b's history is not there, and it stays.
    const store = new TargetMemoryStore(dir);
    const m = await store.load('b.history');
    m.set('owner', 'b.history');
    await store.commit('b.history', m);
    expect(await new RecentHistory(dir).get('b')).toEqual([]);
    await new RecentHistory(dir).forget('b');
    expect((await new TargetMemoryStore(dir).load('b.history')).get('owner')).toBe('b.history');
  });
});
