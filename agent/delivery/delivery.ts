import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { type PayloadV1, serializePayload } from '../../collectors/core/payload.js';
import type { AgentIdentity } from '../../collectors/core/payload.js';
import { type Destination, describeDestination } from '../../contract/destination.js';
import { EgressGuard, type Resolver } from './egress-guard.js';
import { Shipper, type ShipperOptions } from './shipper.js';
import { pidAlive, Spool, type SpoolStats } from './spool.js';
import { type DeliveryStatus, DeliveryStatusSchema } from '../../contract/delivery-status.js';
import { createDispatcher, egressEndpoints } from './transport.js';

export interface DeliveryOptions {
  agent: AgentIdentity;
  spool: { dir: string; maxBytes: number; segmentBytes?: number };
  /** Null or absent: the spool is the sink (the operator reads it with `logstag-agent spool`). */
  destination?: Destination | null | undefined;
  /** Resolved secrets, in memory only. */
  apiKey?: string | undefined;
  proxyPassword?: string | undefined;
  /** Contents of destination.caFile. */
  ca?: string | Buffer | undefined;
  /** Tests play a lying resolver through this. */
  resolve?: Resolver;
  log?: (line: string) => void;
  /** Test knobs for the shipper (backoff, retry timings). */
  tuning?: Pick<ShipperOptions, 'backoff' | 'credentialsRetryMs' | 'requestTimeoutMs' | 'maxPayloadsPerBatch' | 'maxBatchBytes' | 'random'>;
}

export const STATUS_FILE = 'status.json';

/** What the running agent last knew, kept next to the spool for `logstag-agent status`. */
type ShipperSnapshot = Pick<DeliveryStatus, 'destination' | 'state' | 'lastSuccessAt' | 'lastError' | 'lastErrorAt' | 'nextAttemptAt' | 'egressRefusals'>;

export function composeStatus(snap: ShipperSnapshot, stats: SpoolStats, now = Date.now()): DeliveryStatus {
  return DeliveryStatusSchema.parse({
    ...snap,
    backlog: { payloads: stats.backlog, bytes: stats.backlogBytes },
    oldestUnsentAgeSeconds: stats.oldestUnsentAt === null ? null : Math.max(0, Math.round((now - stats.oldestUnsentAt) / 100) / 10),
    dropped: stats.dropped,
    quarantined: stats.quarantined,
    losses: stats.losses,
  });
}

/** The egress guard and dispatcher for a destination: built here for real deliveries and test sends alike. */
export function destinationTransport(
  destination: Destination,
  o: { ca?: string | Buffer | undefined; proxyPassword?: string | undefined; resolve?: DeliveryOptions['resolve']; log: (line: string) => void },
): { guard: EgressGuard; dispatcher: ReturnType<typeof createDispatcher> } {
  const guard = new EgressGuard(egressEndpoints(destination), {
    ...(o.resolve ? { resolve: o.resolve } : {}),
    onRefuse: (r) => o.log(`egress guard: refused ${r.host}: ${r.reason}`),
  });
  return { guard, dispatcher: createDispatcher({ destination, guard, ca: o.ca, proxyPassword: o.proxyPassword }) };
}

/**
 * The delivery pipeline: payloads go into the durable spool (and are durable
 * when put() resolves); the shipper, if a destination is configured, sends them
 * on. Used by the CLI's `run` and meant for the tray app alike.
 */
export class Delivery {
  private statusWrite: Promise<void> = Promise.resolve();
  private statusTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly spool: Spool,
    private readonly shipper: Shipper | undefined,
    private readonly guard: EgressGuard | undefined,
    private readonly destination: Destination | null,
    private readonly closeDispatcher: () => Promise<void>,
  ) {}

  static async open(o: DeliveryOptions): Promise<Delivery> {
    // The spool logs what it found on disk (damage, losses and their causes, a recovered state) in plain words.
    const spool = await Spool.open(o.spool.dir, {
      maxBytes: o.spool.maxBytes,
      ...(o.spool.segmentBytes ? { segmentBytes: o.spool.segmentBytes } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    const opened = await spool.stats();
    if (opened.quarantined > 0)
      o.log?.(`spool: ${opened.quarantined} payload(s) refused by the service are in the quarantine (logstag-agent spool --quarantine)`);
    const destination = o.destination ?? null;
    if (opened.backlog > 0) o.log?.(`spool: ${opened.backlog} unsent payload(s) from earlier runs${destination === null ? ' kept' : ' will be sent first'}`);
    if (destination === null) {
      const d = new Delivery(spool, undefined, undefined, null, async () => {});
      await d.writeStatus();
      return d;
    }
    const log = o.log ?? (() => {});
    let guard: EgressGuard;
    let dispatcher: ReturnType<typeof createDispatcher>;
    let shipper: Shipper;
    try {
      if (o.apiKey === undefined || o.apiKey === '') throw new Error('delivery: the API key was not resolved');
      ({ guard, dispatcher } = destinationTransport(destination, { ca: o.ca, proxyPassword: o.proxyPassword, resolve: o.resolve, log }));
      shipper = new Shipper({ spool, destination, apiKey: o.apiKey, agent: o.agent, dispatcher, guard, log, ...o.tuning });
    } catch (err) {
      await spool.close(); // releases the spool lock for whoever tries next
      throw err;
    }
    const d = new Delivery(spool, shipper, guard, destination, () => dispatcher.close());
    spool.onAppend = () => shipper.notify();
    shipper.events.on('change', () => d.scheduleStatusWrite());
    shipper.start();
    await d.writeStatus();
    return d;
  }

  /** Spools the payload; resolves once it is on disk (fsynced). */
  async put(payload: PayloadV1): Promise<{ seq: number; key: string }> {
    // The same bytes the preview shows (serializePayload): what the operator sees is what is shipped.
    return this.spool.append(serializePayload(payload));
  }

  private snapshot(): ShipperSnapshot {
    const s = this.shipper;
    const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
    return {
      destination: this.destination === null ? null : describeDestination(this.destination),
      state: s === undefined ? 'spool_only' : s.state,
      lastSuccessAt: iso(s?.lastSuccessAt ?? null),
      lastError: s?.lastError ?? null,
      lastErrorAt: iso(s?.lastErrorAt ?? null),
      nextAttemptAt: s !== undefined && s.state !== 'idle' && s.nextAttemptAt > Date.now() ? new Date(s.nextAttemptAt).toISOString() : null,
      egressRefusals: this.guard?.refusedCount ?? 0,
    };
  }

  async status(): Promise<DeliveryStatus> {
    return composeStatus(this.snapshot(), await this.spool.stats());
  }

  /** At most one status.json write a second; the last change is always written. */
  private scheduleStatusWrite(): void {
    if (this.statusTimer !== undefined) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      void this.writeStatus();
    }, 1000);
  }

  private writeStatus(): Promise<void> {
    const snap = this.snapshot();
    this.statusWrite = this.statusWrite
      .then(() =>
        writeFileAtomic(join(this.spool.dir, STATUS_FILE), `${JSON.stringify({ ...snap, writtenAt: new Date().toISOString(), pid: process.pid })}\n`, {
          mode: 0o600,
        }),
      )
      .catch(() => {
        // Status is informational; delivery goes on if it cannot be written.
      });
    return this.statusWrite;
  }

  /**
   * Ships what it can within `flushTimeoutMs`, then stops; whatever is not
   * delivered stays in the spool for the next start.
   */
  async shutdown(flushTimeoutMs: number): Promise<{ remaining: number }> {
    let remaining = this.spool.backlog();
    if (this.shipper !== undefined) {
      remaining = (await this.shipper.flush(flushTimeoutMs)).remaining;
      await this.shipper.stop();
      await this.closeDispatcher().catch(() => {});
    }
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    await this.writeStatus();
    await this.spool.close();
    return { remaining };
  }
}

/** Status of a spool owned by another process (or none): for `logstag-agent status`. */
export async function readStatus(dir: string, maxBytes: number): Promise<DeliveryStatus> {
  const spool = await Spool.open(dir, { maxBytes, readOnly: true });
  try {
    let saved: Partial<ShipperSnapshot> & { pid?: number } = {};
    try {
      const parsed: unknown = JSON.parse(await readFile(join(dir, STATUS_FILE), 'utf8'));
      // A damaged file ("null", a list) reads as no saved state, like a missing one.
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) saved = parsed as typeof saved;
    } catch {
      // Never run, or the file is being replaced: the spool's own numbers still stand.
    }
    // A state saved by a process that has gone is history: it is stopped now.
    const alive = typeof saved.pid === 'number' && pidAlive(saved.pid);
    return composeStatus(
      {
        destination: saved.destination ?? null,
        state: saved.state === 'spool_only' || alive ? (saved.state ?? 'stopped') : 'stopped',
        lastSuccessAt: saved.lastSuccessAt ?? null,
        lastError: saved.lastError ?? null,
        lastErrorAt: saved.lastErrorAt ?? null,
        nextAttemptAt: alive ? (saved.nextAttemptAt ?? null) : null,
        egressRefusals: saved.egressRefusals ?? 0,
      },
      await spool.stats(),
    );
  } finally {
    await spool.close();
  }
}
