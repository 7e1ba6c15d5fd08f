import { readBoundedFileSync } from '../core/bounded-read.js';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { defaultPort, EgressGuard, type EgressEndpoint, EgressRefused, type Resolver, type Refusal } from '../core/egress-guard.js';
import type { CloudBinding } from './binding.js';

/**
 * The cloud clients' egress: an allowlist of the provider endpoints for the
 * binding's region (plus an explicit `endpoint`/`authorityHost`/`tokenEndpoint`
 * override), enforced on every socket the SDK opens. Every SDK is given this
 * agent; any request elsewhere (another region, a redirect, a stray metadata
 * call) fails before a socket exists.
 */
export interface CloudEgress {
  guard: EgressGuard;
  /** The https.Agent every SDK request must use. */
  agent: HttpsAgent;
  /** The CA bundle from `caFile`, for SDKs that take it separately. */
  ca?: string;
}

export interface CloudEgressOptions {
  resolve?: Resolver;
  onRefuse?: (r: Refusal) => void;
}

/** host:port of an https URL, for the allowlist. Override hosts may be private (VPC endpoints). */
export function endpointOf(url: string, allowPrivate = true): EgressEndpoint {
  const u = new URL(url);
  return { host: u.hostname, port: defaultPort(u), role: 'cloud', allowPrivate };
}

/** A provider's public endpoint: must resolve to a public address. */
export const publicEndpoint = (host: string): EgressEndpoint => ({ host, port: 443, role: 'cloud', allowPrivate: false });

export function cloudEgress(binding: CloudBinding, endpoints: readonly EgressEndpoint[], opts: CloudEgressOptions = {}): CloudEgress {
  const guard = new EgressGuard(endpoints, {
    scope: `one of the ${binding.provider.toUpperCase()} endpoints for region ${binding.region} of this target's cloud binding`,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
    ...(opts.onRefuse ? { onRefuse: opts.onRefuse } : {}),
  });
  let ca: string | undefined;
  if (binding.caFile !== undefined) {
    ca = readBoundedFileSync(binding.caFile, { what: 'cloud.caFile' }).toString('utf8');
  }
  const agent = new GuardedAgent(guard, { keepAlive: true, maxSockets: 4, lookup: guard.lookup, ...(ca === undefined ? {} : { ca }) });
  return { guard, agent, ...(ca === undefined ? {} : { ca }) };
}

/** An https.Agent that checks host:port against the guard before it creates a connection (IP literals never reach `lookup`). */
class GuardedAgent extends HttpsAgent {
  constructor(
    private readonly guard: EgressGuard,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    options: { host?: string | null; hostname?: string | null; port?: number | string | null },
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = options.port === undefined || options.port === null || options.port === '' ? 443 : Number(options.port);
    if (!this.guard.allows(host, port)) {
      let refusal: Error;
      try {
        this.guard.checkUrl(`https://${host.includes(':') ? `[${host}]` : host}:${port}/`);
        refusal = new Error('unreachable');
      } catch (err) {
        refusal = err as Error;
      }
      // The agent hands the error to the request ('error' event); no socket is created.
      process.nextTick(() => callback?.(refusal, undefined as unknown as Duplex));
      return undefined;
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (HttpsAgent.prototype as any).createConnection.call(this, options, callback);
  }
}

/** An egress refusal anywhere in an error's cause chain. */
export function egressRefusalIn(err: unknown): EgressRefused | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EgressRefused || (e as { code?: unknown }).code === 'LOGSTAG_EGRESS_REFUSED') return e as EgressRefused;
  }
  return undefined;
}

/**
 * Runs one provider call so that a refusal by the egress guard during it stays
 * the reason. SDKs wrap or drop the refusal on the way (MSAL reports a refused
 * authority request as "endpoints_resolution_error", the AWS SSO provider keeps
 * only the text, google-gax's retries re-wrap): the guard knows it refused, so it
 * is asked instead of the error.
 */
export async function keepRefusal<T>(guard: EgressGuard, call: () => Promise<T>): Promise<T> {
  const before = guard.refusedCount;
  try {
    return await call();
  } catch (err) {
    const r = guard.refusals.at(-1);
    if (guard.refusedCount === before || r === undefined || egressRefusalIn(err) !== undefined) throw err;
    throw new EgressRefused(`refused to contact ${r.host}: ${r.reason}`, { cause: err });
  }
}
