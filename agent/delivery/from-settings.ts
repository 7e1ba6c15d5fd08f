import type { AgentIdentity } from '../../collectors/core/payload.js';
import type { Destination } from '../../contract/destination.js';
import { defaultSpoolDir, readCaFile } from '../config/run-config.js';
import { resolveSecret } from '../secrets/resolve.js';
import type { Vault } from '../secrets/vault.js';
import { Delivery, destinationTransport } from './delivery.js';
import { sendTestBatch, type TestSendResult } from './shipper.js';

export interface DeliverySettings {
  agent: AgentIdentity;
  /** The agent home: the spool defaults to `<home>/spool`. */
  home: string;
  destination: Destination | null;
  spool: { dir?: string | null | undefined; maxBytes: number };
  vault: () => Vault;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /**
   * What a destination whose secrets or CA cannot be read does: `throw` (the
   * CLI: the operator hears it now, exit 2) or `spool` (the app: payloads stay
   * in the spool, nothing is lost, and the log says why).
   */
  onUnresolved: 'throw' | 'spool';
}

export const spoolDirOf = (s: Pick<DeliverySettings, 'home' | 'spool'>): string => s.spool.dir ?? defaultSpoolDir(s.home);

/**
 * The one place a Delivery (spool + shipper) is built from settings, for the
 * CLI's `run` and the desktop app alike: the destination's secrets are resolved
 * once, up front, and held in memory only.
 */
export async function openDeliveryFromSettings(s: DeliverySettings): Promise<Delivery> {
  const spool = { dir: spoolDirOf(s), maxBytes: s.spool.maxBytes };
  const d = s.destination;
  if (d !== null) {
    let resolved: { apiKey: string | undefined; proxyPassword: string | undefined; ca: Buffer | undefined };
    try {
      resolved = {
        apiKey: await resolveSecret(d.apiKey, s.vault, s.env, 'destination.apiKey'),
        proxyPassword: d.proxy?.password === undefined ? undefined : await resolveSecret(d.proxy.password, s.vault, s.env, 'destination.proxy.password'),
        ca: d.caFile === undefined ? undefined : await readCaFile(d.caFile),
      };
    } catch (err) {
      if (s.onUnresolved === 'throw') throw err;
      s.log(`delivery: not sending (${err instanceof Error ? err.message : String(err)}); payloads stay in the spool`);
      return Delivery.open({ agent: s.agent, spool, destination: null, log: s.log });
    }
    try {
      return await Delivery.open({ agent: s.agent, spool, destination: d, ...resolved, log: s.log });
    } catch (err) {
      if (s.onUnresolved === 'throw') throw err;
      s.log(`delivery: not sending (${err instanceof Error ? err.message : String(err)}); payloads stay in the spool`);
    }
  }
  return Delivery.open({ agent: s.agent, spool, destination: null, log: s.log });
}

/**
 * A test send to `destination` as delivery would make it: its secrets resolved the same
 * way, the same egress guard, TLS trust, pin and proxy, the same request; a test batch
 * (`test: true`, no entries) that touches no spool.
 */
export async function testSendFromSettings(s: {
  agent: AgentIdentity;
  destination: Destination;
  vault: () => Vault;
  env: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  timeoutMs?: number;
}): Promise<TestSendResult | { verdict: 'config'; detail: string }> {
  const d = s.destination;
  let resolved: { apiKey: string | undefined; proxyPassword: string | undefined; ca: Buffer | undefined };
  try {
    resolved = {
      apiKey: await resolveSecret(d.apiKey, s.vault, s.env, 'destination.apiKey'),
      proxyPassword: d.proxy?.password === undefined ? undefined : await resolveSecret(d.proxy.password, s.vault, s.env, 'destination.proxy.password'),
      ca: d.caFile === undefined ? undefined : await readCaFile(d.caFile),
    };
  } catch (err) {
    return { verdict: 'config', detail: err instanceof Error ? err.message : String(err) };
  }
  if (resolved.apiKey === undefined || resolved.apiKey === '') return { verdict: 'config', detail: 'destination.apiKey: not set' };
  const { guard, dispatcher } = destinationTransport(d, { ca: resolved.ca, proxyPassword: resolved.proxyPassword, log: s.log ?? (() => {}) });
  try {
    return await sendTestBatch({
      destination: d,
      apiKey: resolved.apiKey,
      agent: s.agent,
      dispatcher,
      guard,
      ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
    });
  } finally {
    await dispatcher.close().catch(() => {});
  }
}
