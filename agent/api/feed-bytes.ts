/**
 * The exact JSON of the newest live-feed entries' payloads, for feed.bytes: bounded by
 * count and by total size (UTF-8 bytes), oldest dropped first. The newest entry is kept
 * even when it alone is over the size (its text exists anyway: the spool was given the
 * same string), so the entry the operator just saw can always be opened.
 */
export class RecentPayloadBytes {
  private readonly kept = new Map<number, { json: string; bytes: number }>();
  private total = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  keep(entry: number, json: string, bytes: number): void {
    this.kept.set(entry, { json, bytes });
    this.total += bytes;
    for (const [oldest, k] of this.kept) {
      if (this.kept.size <= 1 || (this.kept.size <= this.maxEntries && this.total <= this.maxBytes)) break;
      this.kept.delete(oldest);
      this.total -= k.bytes;
    }
  }

  get(entry: number): string | undefined {
    return this.kept.get(entry)?.json;
  }

  clear(): void {
    this.kept.clear();
    this.total = 0;
  }
}
