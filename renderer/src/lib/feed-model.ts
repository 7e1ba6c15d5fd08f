/**
 * The live feed's model, kept free of Svelte so it can be tested alone: payload
 * previews reduced to rows, a bounded buffer (oldest dropped first), filters, and
 * the window of rows a virtualised list renders.
 */
import type { FeedEvent } from '../../../contract/api.js';

export const FEED_LIMIT = 2_000;

export interface FeedField {
  signal: string;
  field: string;
  /** What the entry shows: the field, or signal.field when another signal of the payload has a field of that name. */
  label: string;
  category: string | null;
  action: 'collect' | 'redact' | 'exclude';
  /** The value as sent (first row of the signal), shortened; empty for excluded fields. */
  sample: string;
}

export interface FeedRow {
  key: number;
  targetId: string;
  target: string;
  engine: string;
  collectedAt: string;
  ok: number;
  unavailable: number;
  categories: ReadonlySet<string>;
  fields: FeedField[];
  /** When the window received it (ms since epoch). */
  receivedAt?: number;
}

type DeliveryStatus = NonNullable<import('../../../contract/api.js').Result<'status.get'>['delivery']>;
type PayloadDelivery = NonNullable<DeliveryStatus['payloads']>[number];

/** A feed entry's payload is named, for delivery, by its target and collection time. */
export const payloadKey = (targetId: string, collectedAt: string): string => `${targetId}\n${collectedAt}`;

export function deliveryIndex(delivery: DeliveryStatus | null): Map<string, PayloadDelivery> {
  return new Map((delivery?.payloads ?? []).map((p) => [payloadKey(p.targetId, p.collectedAt), p]));
}

export type EntryDelivery = { state: PayloadDelivery['state'] | 'not_spooled'; text: string } | null;

/**
 * Where one feed entry's payload is, in words: still spooled (with why delivery is failing), sent (when),
 * kept local (no destination), refused or dropped; a payload delivery never received (a preview) says so
 * once the agent's status was read well after the entry arrived. Null: nothing known (no pipeline here).
 */
export function entryDelivery(
  row: Pick<FeedRow, 'targetId' | 'collectedAt' | 'receivedAt'>,
  index: ReadonlyMap<string, PayloadDelivery>,
  delivery: DeliveryStatus | null,
  statusAt: number,
  configured: boolean,
  time: (iso: string) => string,
): EntryDelivery {
  if (delivery === null) return null;
  const p = index.get(payloadKey(row.targetId, row.collectedAt));
  if (p === undefined) {
    // A scheduled collection is spooled within moments of arriving here; a preview never is.
    if (row.receivedAt !== undefined && statusAt - row.receivedAt > 5_000)
      return { state: 'not_spooled', text: 'Not spooled: a preview, not shipped (scheduled collections are)' };
    return null;
  }
  switch (p.state) {
    case 'sent':
      return { state: 'sent', text: `Sent ${p.at === null ? '' : time(p.at)}`.trim() };
    case 'local':
      return {
        state: 'local',
        text: configured ? 'Kept local: the destination is not in use (see Delivery)' : 'Kept local: no destination, nothing leaves this machine',
      };
    case 'refused':
      return { state: 'refused', text: 'Refused by the service: kept in the quarantine' };
    case 'dropped':
      return { state: 'dropped', text: 'Dropped from the spool, not sent' };
    case 'spooled': {
      const failing = delivery.state === 'retrying' || delivery.state === 'credentials_rejected' || delivery.state === 'stopped';
      return { state: 'spooled', text: failing && delivery.lastError !== null ? `Spooled, waiting: ${delivery.lastError}` : 'Spooled, sending…' };
    }
  }
}

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
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/**
 * A preview as a feed row. Runs once for every preview that arrives (thousands a second in a burst), so it
 * walks the signals once and looks for each field's sample in place (a delta's rows are not copied).
 */
export function toRow(key: number, { payload, annotations }: Pick<FeedEvent, 'payload' | 'annotations'>): FeedRow {
  let ok = 0;
  // An unchanged signal (payload v2) sent no value, only its fingerprint: none of its fields left.
  const values = new Map<string, unknown>();
  for (const s of payload.signals) {
    if (s.status !== 'ok') continue;
    ok += 1;
    if (s.mode !== 'unchanged') values.set(s.id, s.value);
  }
  const fields: FeedField[] = [];
  const categories = new Set<string>();
  for (const a of annotations) {
    // A field of a signal that was not read did not leave: it is not listed as collected or redacted.
    if (a.category === null || !values.has(a.signalId)) continue;
    categories.add(a.category);
    const sample = a.action === 'exclude' ? '' : sampleOf(values.get(a.signalId), a.field);
    fields.push({ signal: a.signalId, field: a.field, label: a.field, category: a.category, action: a.action, sample });
  }
  // A name shared by several signals says which signal it comes from (postgres.activity.user_name → activity.user_name).
  const seen = new Map<string, number>();
  for (const f of fields) seen.set(f.field, (seen.get(f.field) ?? 0) + 1);
  for (const f of fields) if ((seen.get(f.field) ?? 0) > 1) f.label = `${f.signal.slice(f.signal.indexOf('.') + 1)}.${f.field}`;
  // Redacted and excluded first: what the policy changed is what the operator looks for.
  const rank = { redact: 0, exclude: 1, collect: 2 } as const;
  fields.sort((x, y) => rank[x.action] - rank[y.action]);
  return {
    key,
    targetId: payload.target.id,
    target: payload.target.name,
    engine: payload.target.engine,
    collectedAt: payload.collectedAt,
    ok,
    unavailable: payload.signals.length - ok,
    categories,
    fields,
  };
}

/** Newest first, at most `limit` rows. */
export class FeedBuffer {
  private rows: FeedRow[] = [];
  received = 0;
  constructor(readonly limit = FEED_LIMIT) {}
  push(row: FeedRow): void {
    this.rows.push(row);
    this.received += 1;
    // Amortised trimming: drop in chunks so a steady stream does not shift the array on every push.
    if (this.rows.length > this.limit + 256) this.rows = this.rows.slice(this.rows.length - this.limit);
  }
  /** Newest first. */
  snapshot(): FeedRow[] {
    const from = Math.max(0, this.rows.length - this.limit);
    return this.rows.slice(from).reverse();
  }
  get size(): number {
    return Math.min(this.rows.length, this.limit);
  }
}

export interface FeedFilter {
  target: string;
  category: string;
}

export function filterRows(rows: readonly FeedRow[], f: FeedFilter): FeedRow[] {
  if (f.target === '' && f.category === '') return rows as FeedRow[];
  return rows.filter((r) => (f.target === '' || r.targetId === f.target) && (f.category === '' || r.categories.has(f.category)));
}

/** The rows to render for a scroll position: [start, end), with `overscan` rows either side. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 6): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}
