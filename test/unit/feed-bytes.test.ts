// The live feed carries a compact entry per cycle, never the payload; the payload's exact
// bytes are fetched on demand (feed.bytes), only by the connection that owns the
// subscription, only for the newest entries, with a clear error otherwise. Real handler
// table and agent operations; cycles are published as the run loop publishes them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedEventSchema, type FeedEvent, type Response } from '../../contract/api.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import { type Connection, createHandlers, dispatch, type HandlerDeps } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { type PayloadV1, serializePayload } from '../../collectors/core/payload.js';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

class Window implements Connection {
  readonly events: FeedEvent[] = [];
  /** The size of each event as a transport serialises it. */
  readonly sizes: number[] = [];
  emit(e: FeedEvent): void {
    const text = JSON.stringify(e);
    this.sizes.push(text.length);
    this.events.push(JSON.parse(text) as FeedEvent);
  }
}

function setup(feedBytes?: HandlerDeps['feedBytes']) {
  const home = mkdtempSync(join(tmpdir(), 'feed-bytes-'));
  homes.push(home);
  const ops = new TargetOperations(
    { id: 'agent-1', version: '0.1.0', host: 'test' },
    new AuditLedger(join(home, 'audit')),
    () => {
      throw new VaultError('unavailable', 'no vault in this test');
    },
    {},
  );
  const { handlers, disconnect } = createHandlers({ store: new StateStore(home), ops, ...(feedBytes === undefined ? {} : { feedBytes }) });
  let n = 0;
  /** A cycle whose one signal has `rows` rows of about 1 KB each (the query text as sent, and a user name). */
  const publish = (rows = 1): PayloadV1 => {
    const payload: PayloadV1 = {
      schema: 'logstag.payload/v1',
      agent: { id: 'agent-1', version: '0.1.0', host: 'test' },
      target: { id: 'pg-1', engine: 'postgres', name: 'Orders DB' },
      collectedAt: new Date(1_800_000_000_000 + n++).toISOString(),
      signals: [
        {
          id: 'postgres.activity',
          family: 'activity',
          status: 'ok',
          value: Array.from({ length: rows }, (_, r) => ({
            query: `SELECT ${'x, '.repeat(330)}${r} FROM orders — é`,
            usename: 'h:0123456789abcdef',
            state: 'active',
          })),
        },
        { id: 'postgres.locks', family: 'waits_locks', status: 'unavailable', reason: 'permission', detail: 'not granted' },
      ],
    };
    ops.cycles.emit('cycle', {
      payload,
      annotations: [
        { signalId: 'postgres.activity', field: 'query', category: 'query_text', action: 'collect' },
        { signalId: 'postgres.activity', field: 'usename', category: 'identity_metadata', action: 'redact' },
        { signalId: 'postgres.activity', field: 'state', category: null, action: 'collect' },
        { signalId: 'postgres.locks', field: 'relation', category: 'object_names', action: 'collect' },
      ],
      policy: resolvePolicy(),
      durationMs: 1,
      commitMemory: async () => {},
    });
    return payload;
  };
  const call = async (conn: Connection, method: string, params: unknown): Promise<Response> => dispatch(handlers, { method, params }, conn);
  const subscribe = async (conn: Connection): Promise<string> => {
    const res = await call(conn, 'feed.subscribe', {});
    if (!res.ok) throw new Error(res.error.message);
    return (res.result as { subscription: string }).subscription;
  };
  return { publish, call, subscribe, disconnect };
}

describe('live feed entries and their bytes on demand', () => {
  it('an event carries the entry a row shows, not the payload: its size is bounded whatever the payload’s size', async () => {
    const { publish, subscribe } = setup();
    const w = new Window();
    await subscribe(w);
    const small = publish(1);
    const big = publish(6_000); // about 6 MB of JSON
    expect(serializePayload(big).length).toBeGreaterThan(5_000_000);
    expect(w.events).toHaveLength(2);
    for (const e of w.events) FeedEventSchema.parse(e);
    expect(Math.max(...w.sizes)).toBeLessThan(4_096);
    expect(w.sizes[1]! - w.sizes[0]!).toBeLessThan(64); // the same entry but for the byte count and the time
    const [first, second] = w.events.map((e) => e.entry);
    expect(first).toMatchObject({ targetId: 'pg-1', target: 'Orders DB', engine: 'postgres', collectedAt: small.collectedAt, ok: 1, unavailable: 1 });
    // Only read fields with a category, policy-changed first; samples shortened.
    expect(first!.fields.map((f) => [f.field, f.action])).toEqual([
      ['usename', 'redact'],
      ['query', 'collect'],
    ]);
    expect(first!.fields[1]!.sample).toMatch(/^SELECT x, x, .{100,}…$/);
    expect(first!.fields[1]!.sample.length).toBeLessThanOrEqual(160);
    expect(first!.bytes).toBe(Buffer.byteLength(serializePayload(small)));
    expect(second!.bytes).toBe(Buffer.byteLength(serializePayload(big)));
  });

  it('the subscriber reads an entry’s exact bytes, the same serialised text the spool is given', async () => {
    const { publish, subscribe, call } = setup();
    const w = new Window();
    const subscription = await subscribe(w);
    const payloads = [publish(3), publish(2_000)];
    for (const [i, p] of payloads.entries()) {
      const res = await call(w, 'feed.bytes', { subscription, entry: w.events[i]!.entry.entry });
      expect(res.ok).toBe(true);
      const json = (res as Extract<Response, { ok: true }>).result as { json: string };
      expect(json.json).toBe(serializePayload(p));
      expect(Buffer.byteLength(json.json)).toBe(w.events[i]!.entry.bytes);
    }
  });

  it('another connection cannot read a subscription’s bytes, nor its own subscription entries from before it subscribed', async () => {
    const { publish, subscribe, call } = setup();
    const owner = new Window();
    const other = new Window();
    const subscription = await subscribe(owner);
    publish();
    const entry = owner.events[0]!.entry.entry;
    const stolen = await call(other, 'feed.bytes', { subscription, entry });
    expect(stolen).toEqual({ ok: false, error: { code: 'not_found', message: expect.stringMatching(/^no live feed subscription .* on this connection/) } });
    const own = await subscribe(other);
    const earlier = await call(other, 'feed.bytes', { subscription: own, entry });
    expect(earlier).toMatchObject({
      ok: false,
      error: { code: 'not_found', message: expect.stringMatching(/no longer keeps|not an entry of this subscription/) },
    });
    expect(JSON.stringify(earlier)).not.toContain('SELECT');
    // After the owner unsubscribes, not even the owner reads them.
    await call(owner, 'feed.unsubscribe', { subscription });
    expect(await call(owner, 'feed.bytes', { subscription, entry })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('keeps only the newest entries’ bytes, by count and by total size; an evicted or unknown entry is a clear error', async () => {
    const { publish, subscribe, call } = setup({ entries: 3, bytes: 2_500_000 });
    const w = new Window();
    const subscription = await subscribe(w);
    for (let i = 0; i < 4; i++) publish(1);
    const bytes = async (i: number) => call(w, 'feed.bytes', { subscription, entry: w.events[i]!.entry.entry });
    const gone = {
      ok: false,
      error: {
        code: 'not_found',
        // One plain sentence (the window shows it as is): no chain of colons.
        message: 'the agent no longer keeps this entry’s payload bytes (it keeps those of the newest 3 entries, at most 2.4 MB); open a newer entry',
      },
    };
    expect(await bytes(0)).toEqual(gone);
    for (const i of [1, 2, 3]) expect((await bytes(i)).ok).toBe(true);
    // Two entries of about 1 MB each: a third does not fit in 2.4 MB with them, so the oldest goes.
    publish(1_000);
    publish(1_000);
    publish(1_000);
    expect(await bytes(4)).toEqual(gone);
    expect((await bytes(5)).ok).toBe(true);
    expect((await bytes(6)).ok).toBe(true);
    // An entry number never issued.
    expect(await call(w, 'feed.bytes', { subscription, entry: 10_000 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await call(w, 'feed.bytes', { subscription, entry: -1 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('a window that goes away takes its subscription with it: its bytes are no longer readable', async () => {
    const { publish, subscribe, call, disconnect } = setup();
    const w = new Window();
    const subscription = await subscribe(w);
    publish();
    disconnect(w);
    expect(await call(w, 'feed.bytes', { subscription, entry: w.events[0]!.entry.entry })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});
