import type { AgentIdentity } from '../../collectors/core/payload.js';
import type { StateStore } from '../config/state-store.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import type { Vault } from '../secrets/vault.js';
import type { Delivery } from './delivery.js';
import { openDeliveryFromSettings } from './from-settings.js';
import type { DeliveryStatus } from '../../contract/delivery-status.js';

/** How many recent payloads status() reports one by one (the feed keeps more, but only recent ones are still moving). */
export const TRACKED_PAYLOADS = 500;

type PayloadState = NonNullable<DeliveryStatus['payloads']>[number];
interface Tracked {
  targetId: string;
  collectedAt: string;
  seq: number;
  spooledAt: string;
}

export interface AppDeliveryOptions {
  home: string;
  agent: AgentIdentity;
  store: StateStore;
  vault: () => Vault;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/**
 * The desktop app's delivery: the same Delivery (spool + shipper) the CLI's `run`
 * uses, configured from the app's settings and reopened when the destination or
 * the spool settings change. A destination whose secrets cannot be resolved
 * leaves the spool as the sink (nothing is lost) and says why in the log.
 */
export class AppDelivery {
  private current: Promise<Delivery>;
  private config: string;
  private closed = false;
  /** The payloads put most recently, oldest first (insertion order), by seq. */
  private readonly tracked = new Map<number, Tracked>();
  /** How each recently settled seq ended, whichever pipeline (before or after a settings change) settled it. */
  private readonly settled = new Map<number, { state: 'sent' | 'refused'; at: string }>();

  constructor(private readonly o: AppDeliveryOptions) {
    this.config = this.configKey();
    this.current = this.watch(this.open());
    o.store.changes.on('change', (what) => {
      if (what !== 'settings' || this.closed || this.configKey() === this.config) return;
      this.config = this.configKey();
      const previous = this.current;
      // The spool allows one writer: the old pipeline closes (keeping its backlog on disk) before the new one opens.
      this.current = this.watch(
        previous
          .then((d) => d.shutdown(2000))
          .catch(() => undefined)
          .then(() => this.open()),
      );
    });
  }

  /** A spool that cannot open (disk, permissions) is logged now; put() and status() still reject for their callers. */
  private watch(p: Promise<Delivery>): Promise<Delivery> {
    p.catch((err: unknown) => this.o.log(`delivery: the spool cannot be opened (${err instanceof Error ? err.message : String(err)})`));
    return p;
  }

  private configKey(): string {
    const s = this.o.store.settings;
    return JSON.stringify({ destination: s.destination, spool: s.spool });
  }

  private open(): Promise<Delivery> {
    const { store, home, agent, vault, env, log } = this.o;
    const { destination, spool } = store.settings;
    return openDeliveryFromSettings({ agent, home, destination, spool, vault, env, log, onUnresolved: 'spool' }).then((d) => this.follow(d));
  }

  /** Hears every acknowledgement and refusal of this pipeline's spool (acks may come before put() returns). */
  private follow(d: Delivery): Delivery {
    const settle = (seq: number, state: 'sent' | 'refused', at: string): void => {
      // A refused payload (quarantine) is then acknowledged to consume it: it stays refused.
      if (this.settled.get(seq)?.state === 'refused') return;
      this.settled.set(seq, { state, at });
      for (const old of this.settled.keys()) {
        if (this.settled.size <= TRACKED_PAYLOADS * 2) break;
        this.settled.delete(old);
      }
    };
    d.spool.onAck = (seqs, refused) => {
      const at = new Date().toISOString();
      for (const seq of seqs) settle(seq, refused ? 'refused' : 'sent', at);
    };
    d.spool.onQuarantine = (seq) => settle(seq, 'refused', new Date().toISOString());
    return d;
  }

  async put(payload: PayloadV1): Promise<{ seq: number; key: string }> {
    const stored = await (await this.current).put(payload);
    this.tracked.set(stored.seq, {
      targetId: payload.target.id,
      collectedAt: payload.collectedAt,
      seq: stored.seq,
      spooledAt: new Date().toISOString(),
    });
    for (const old of this.tracked.keys()) {
      if (this.tracked.size <= TRACKED_PAYLOADS) break;
      this.tracked.delete(old);
    }
    return stored;
  }

  /** The pipeline's status, with where each recent payload is (sent, still spooled, kept local, refused, dropped). */
  async status(): Promise<DeliveryStatus> {
    const d = await this.current;
    const st = await d.status();
    const acked = d.spool.ackedSeq;
    const payloads = [...this.tracked.values()].map((t): PayloadState => {
      const s = this.settled.get(t.seq);
      if (s !== undefined) return { ...t, state: s.state, at: s.at };
      // Settled without an acknowledgement: removed by the spool's cap (counted in `dropped`).
      if (t.seq <= acked) return { ...t, state: 'dropped', at: null };
      return { ...t, state: st.destination === null ? 'local' : 'spooled', at: null };
    });
    return { ...st, payloads };
  }

  /** Unsent payloads right now (for the tray's backlog check). */
  async pending(): Promise<number> {
    return (await this.current).spool.backlog();
  }

  async shutdown(flushTimeoutMs: number): Promise<void> {
    this.closed = true;
    await (await this.current).shutdown(flushTimeoutMs);
  }
}
