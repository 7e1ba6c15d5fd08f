/**
 * The live feed's model, kept free of Svelte so it can be tested alone: the agent's
 * feed entries as rows, a bounded buffer (oldest dropped first), filters, and the
 * window of rows a virtualised list renders.
 */
import type { FeedEntry, FeedField } from '../../../contract/api.js';

export const FEED_LIMIT = 2_000;

export type { FeedField };

/** A feed entry as the list holds it: what its row shows of the agent's entry (contract/feed.ts), and its list key. */
export interface FeedRow extends Omit<FeedEntry, 'charts' | 'sequence'> {
  key: number;
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

/**
 * An entry as a row: the agent made the entry (the row's fields and samples) once; the window only keys it.
 * The row keeps only what the list shows (not the charts' readings): the feed holds 2,000 rows, and what each
 * keeps survives the young generation, which is what a burst of previews pays for in garbage collection.
 */
export function toRow(key: number, e: FeedEntry, receivedAt?: number): FeedRow {
  return {
    key,
    entry: e.entry,
    targetId: e.targetId,
    target: e.target,
    engine: e.engine,
    collectedAt: e.collectedAt,
    ok: e.ok,
    unavailable: e.unavailable,
    fields: e.fields,
    bytes: e.bytes,
    ...(receivedAt === undefined ? {} : { receivedAt }),
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
  return rows.filter((r) => (f.target === '' || r.targetId === f.target) && (f.category === '' || r.fields.some((x) => x.category === f.category)));
}

/** The rows to render for a scroll position: [start, end), with `overscan` rows either side. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 6): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}
