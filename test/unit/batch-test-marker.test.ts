import { describe, expect, it } from 'vitest';
import { BatchV1Schema } from '../../collectors/core/batch.js';

const head = {
  schema: 'logstag.batch/v1',
  agent: { id: 'a', version: '0.1.0', host: 'h' },
  sentAt: '2026-12-05T10:00:00.000Z',
  dropped: { count: 0, total: 0, since: null },
};

describe('batch v1: the test marker', () => {
  it('a test batch has test: true and no entries; a real batch has entries and no marker', () => {
    expect(BatchV1Schema.safeParse({ ...head, test: true, entries: [] }).success).toBe(true);
    // A real batch cannot be empty, and a test batch cannot smuggle payloads.
    expect(BatchV1Schema.safeParse({ ...head, entries: [] }).success).toBe(false);
    const entry = { key: 'k:1', spooledAt: '2026-12-05T10:00:00.000Z', payload: {} };
    expect(BatchV1Schema.safeParse({ ...head, test: true, entries: [entry] }).success).toBe(false);
    expect(BatchV1Schema.safeParse({ ...head, test: false, entries: [] }).success).toBe(false);
  });
});
