/**
 * A live-feed entry: what the window shows of one finished cycle, made once in the
 * agent. The window receives this per preview, never the payload itself (a payload
 * of a large target is megabytes; deserialising it on the window's main thread per
 * preview is what made the feed drop frames). The payload's exact bytes are fetched
 * on demand with feed.bytes. Pure (no Node APIs): the renderer imports the types.
 */
import { z } from 'zod';
import { CategorySchema, type Category } from '../collectors/core/category.js';
import { type Action, ActionSchema } from '../collectors/core/policy.js';
import type { PayloadV1 } from '../collectors/core/payload.js';
import { chartReadings, ChartReadingsSchema } from './chart-readings.js';

/** A sample is shortened to this many characters (an ellipsis included). */
export const SAMPLE_CHARS = 160;

export const FeedFieldSchema = z
  .object({
    signal: z.string(),
    field: z.string(),
    /** What the entry shows: the field, or signal.field when another signal of the payload has a field of that name. */
    label: z.string(),
    category: CategorySchema,
    action: ActionSchema,
    /** The value as sent (first row of the signal), shortened; empty for excluded fields. */
    sample: z.string().max(SAMPLE_CHARS),
  })
  .strict();
export type FeedField = z.infer<typeof FeedFieldSchema>;

export const FeedEntrySchema = z
  .object({
    /** The agent's number for this entry: feed.bytes asks for its payload's bytes by it. */
    entry: z.number().int().min(0),
    targetId: z.string(),
    target: z.string(),
    engine: z.string(),
    collectedAt: z.string(),
    /** The payload's per-target sequence (payload v2). */
    sequence: z.number().int().min(1).optional(),
    ok: z.number().int().min(0),
    unavailable: z.number().int().min(0),
    /** The read fields that have a category, policy-changed first. */
    fields: z.array(FeedFieldSchema),
    /** The length in bytes (UTF-8) of the payload's exact JSON, as the spool and the shipper have it. */
    bytes: z.number().int().min(0),
    /** What the dashboard's charts read of this cycle (absent for an engine without charts). */
    charts: ChartReadingsSchema.optional(),
  })
  .strict();
export type FeedEntry = z.infer<typeof FeedEntrySchema>;

/** Events pushed to subscribers (the live feed): one entry per finished cycle. */
export const FeedEventSchema = z.object({ subscription: z.string(), entry: FeedEntrySchema }).strict();
export type FeedEvent = z.infer<typeof FeedEventSchema>;

const withField = (field: string) => (r: unknown) => r !== null && typeof r === 'object' && field in r;

function sampleOf(value: unknown, field: string): string {
  let row: unknown = value;
  if (Array.isArray(value)) row = value.find(withField(field));
  else if (value !== null && typeof value === 'object' && 'changed' in value && 'added' in value) {
    // A delta (payload v2) carries its rows in added/changed: the sample is taken from what was sent (not copied).
    const d = value as { added: unknown[]; changed: unknown[] };
    row = d.added.find(withField(field)) ?? d.changed.find(withField(field));
  }
  if (row === null || typeof row !== 'object') return '';
  const v = (row as Record<string, unknown>)[field];
  if (v === undefined || v === null) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS - 3)}…` : text;
}

/**
 * A cycle as a feed entry. Walks the signals once and looks for each field's sample in place (a delta's
 * rows are not copied); `bytes` is the length of the payload's serialised text, which the caller has.
 */
export function feedEntryOf(
  entry: number,
  { payload, annotations }: { payload: PayloadV1; annotations: ReadonlyArray<{ signalId: string; field: string; category: Category | null; action: Action }> },
  bytes: number,
): FeedEntry {
  let ok = 0;
  // An unchanged signal (payload v2) sent no value, only its fingerprint: none of its fields left.
  const values = new Map<string, unknown>();
  for (const s of payload.signals) {
    if (s.status !== 'ok') continue;
    ok += 1;
    if (s.mode !== 'unchanged') values.set(s.id, s.value);
  }
  const fields: FeedField[] = [];
  for (const a of annotations) {
    // A field of a signal that was not read did not leave: it is not listed as collected or redacted.
    if (a.category === null || !values.has(a.signalId)) continue;
    const sample = a.action === 'exclude' ? '' : sampleOf(values.get(a.signalId), a.field);
    fields.push({ signal: a.signalId, field: a.field, label: a.field, category: a.category satisfies Category, action: a.action, sample });
  }
  // A name shared by several signals says which signal it comes from (postgres.activity.user_name → activity.user_name).
  const seen = new Map<string, number>();
  for (const f of fields) seen.set(f.field, (seen.get(f.field) ?? 0) + 1);
  for (const f of fields) if ((seen.get(f.field) ?? 0) > 1) f.label = `${f.signal.slice(f.signal.indexOf('.') + 1)}.${f.field}`;
  // Redacted and excluded first: what the policy changed is what the operator looks for.
  const rank = { redact: 0, exclude: 1, collect: 2 } as const;
  fields.sort((x, y) => rank[x.action] - rank[y.action]);
  const charts = chartReadings(payload);
  return {
    entry,
    targetId: payload.target.id,
    target: payload.target.name,
    engine: payload.target.engine,
    collectedAt: payload.collectedAt,
    ...(payload.sequence === undefined ? {} : { sequence: payload.sequence }),
    ok,
    unavailable: payload.signals.length - ok,
    fields,
    bytes,
    ...(charts === undefined ? {} : { charts }),
  };
}

/** How many recent entries' bytes the agent keeps for feed.bytes while a feed subscription exists, and their total size. */
export const FEED_BYTES_KEPT = { entries: 100, bytes: 32 * 1024 * 1024 } as const;
