import type { AgentIdentity } from '../../collectors/core/payload.js';
import type { StateStore } from '../config/state-store.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import type { Vault } from '../secrets/vault.js';
import type { Delivery } from './delivery.js';
import { openDeliveryFromSettings } from './from-settings.js';
import type { DeliveryStatus } from '../../contract/delivery-status.js';

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
    return openDeliveryFromSettings({ agent, home, destination, spool, vault, env, log, onUnresolved: 'spool' });
  }

  async put(payload: PayloadV1): Promise<{ seq: number; key: string }> {
    return (await this.current).put(payload);
  }

  async status(): Promise<DeliveryStatus> {
    return (await this.current).status();
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
