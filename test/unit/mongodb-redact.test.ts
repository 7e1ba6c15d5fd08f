import { BSON, Binary, BSONRegExp, Decimal128, Long, MaxKey, ObjectId, Timestamp, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { redactMongoDocument } from '../../collectors/core/redact/mongo.js';
import { currentOpRow } from '../../collectors/mongodb/catalog-activity.js';
import { CURRENT_OP_CANARIES, currentOps } from '../fixtures/mongodb/current-ops.js';

/** What the driver hands the collector: BSON decoded exactly as from the wire. */
const wire = (doc: Record<string, unknown>) => BSON.deserialize(BSON.serialize(doc)) as Record<string, unknown>;

describe('MongoDB command documents through the redactor, as decoded from the wire', () => {
  it('replaces every BSON value type and keeps keys and operators', () => {
    const doc = wire({
      _id: new ObjectId('64f1c0ffee0000000000beef'),
      n: Long.fromString('9007199254740993'),
      price: Decimal128.fromString('98765.4321'),
      blob: new Binary(Buffer.from('canary-binary')),
      at: new Date(0),
      ts: new Timestamp({ t: 1700000000, i: 1 }),
      re: new BSONRegExp('canary-regex', 'i'),
      id: new UUID('2c9ce111-133e-45b7-a00f-a7871005cae1'),
      top: new MaxKey(),
      filter: { age: { $gte: 21, $lt: 65 }, tags: { $all: ['x', 'y'] }, $or: [{ a: 'b' }, { c: { $exists: true } }] },
    });
    const out = redactMongoDocument(doc);
    expect(out).toEqual({
      _id: '?',
      n: '?',
      price: '?',
      blob: '?',
      at: '?',
      ts: '?',
      re: '?',
      id: '?',
      top: '?',
      filter: { age: { $gte: '?', $lt: '?' }, tags: { $all: '?' }, $or: [{ a: '?' }, { c: { $exists: '?' } }] },
    });
    const text = JSON.stringify(out);
    for (const raw of ['64f1c0ffee', '9007199254740993', '98765', 'canary', '1700000000', '2c9ce111']) expect(text).not.toContain(raw);
  });

  it('a command currentOp truncated to a string keeps only its marker key', () => {
    expect(redactMongoDocument(wire({ $truncated: '{ insert: "orders", documents: [ { note: "secret" } ] }' }))).toEqual({ $truncated: '?' });
  });

  it('an operation row keeps only its listed fields, redacts both command documents, and never holds a canary', () => {
    const rows = currentOps('logstag-agent/test').map((op) => currentOpRow(wire(op)));
    const text = JSON.stringify(rows);
    for (const canary of CURRENT_OP_CANARIES) expect(text, canary).not.toContain(canary);
    // Session ids, client metadata and lock details are not in a row at all.
    for (const dropped of ['lsid', 'clientMetadata', 'lockStats', 'currentOpTime', 'host']) expect(Object.keys(rows[0]!)).not.toContain(dropped);
    const getMore = rows.find((r) => r.op === 'getmore')!;
    expect(getMore.originating_command).toEqual({ find: '?', filter: { token: '?' }, $db: '?' });
    expect(rows.find((r) => r.op === 'update')!.command).toMatchObject({ u: { $set: { ssn: '?', card: '?', balance: '?' } } });
  });
});
