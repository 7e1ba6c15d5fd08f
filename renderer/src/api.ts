/**
 * The renderer's only door to the agent: a typed client over `window.logstag`,
 * which the preload script (Electron) or the end-to-end test supplies. Every call
 * and result is defined once, in the agent API contract.
 */
import { API, type ErrorCode, type FeedEntry, type FeedEvent, type Method, type Params, type Response, type Result } from '../../contract/api.js';

export type { FeedEntry, FeedEvent, Method, Params, Result };

/** What the preload exposes in the page. Nothing else of Electron or Node is reachable. */
export interface LogstagBridge {
  call(method: string, params?: unknown): Promise<Response>;
  /** Feed events for this page; returns the unsubscribe function. */
  onEvent(cb: (e: FeedEvent) => void): () => void;
}

declare global {
  interface Window {
    logstag: LogstagBridge;
  }
}

/** A call that did not succeed; `message` is one line, meant for the operator. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | 'no_bridge' | 'transport',
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function bridge(): LogstagBridge {
  const b = (window as Partial<Window>).logstag;
  if (b === undefined || typeof b.call !== 'function' || typeof b.onEvent !== 'function') {
    throw new ApiError('no_bridge', 'the agent is not connected to this window (window.logstag is missing); restart the Logstag Agent app');
  }
  return b;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Calls the agent; resolves with the typed result or throws ApiError with the agent's message. */
export async function call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
  let res: Response;
  try {
    // Plain JSON data only: the bridge copies arguments across contexts, and a Svelte
    // $state proxy (or anything not JSON) must never be what it is asked to copy.
    res = await bridge().call(method, JSON.parse(JSON.stringify(params)) as unknown);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError('transport', `the agent did not answer ${method}: ${messageOf(err)}`);
  }
  if (res === null || typeof res !== 'object' || typeof res.ok !== 'boolean') {
    throw new ApiError('transport', `the agent sent a malformed answer to ${method}`);
  }
  if (!res.ok) throw new ApiError(res.error.code, res.error.message);
  // The agent validated it already; checking again here keeps the types honest whatever the transport.
  const checked = API[method].result.safeParse(res.result);
  if (!checked.success) throw new ApiError('transport', `the agent sent an unexpected result for ${method}`);
  return checked.data as Result<M>;
}

/** Listens for feed events; returns the function that stops listening. */
export function onEvent(cb: (e: FeedEvent) => void): () => void {
  return bridge().onEvent(cb);
}

/** The message to show for any failure, without a stack trace. */
export function describeError(err: unknown): string {
  return messageOf(err).replace(/\s+/g, ' ').trim() || 'unknown error';
}

export interface FeedHandlers {
  /** One event of our own subscription. */
  event(e: FeedEvent): void;
  /** The agent confirmed the subscription (feed.bytes asks by its id). */
  live(subscription: string): void;
  /** Subscribing failed; the message is for the operator. */
  failed(message: string): void;
}

/** The window's one feed subscription, shared by every listener in it (the Live feed, the charts, the dashboard's feed). */
interface SharedFeed {
  handlers: Set<FeedHandlers>;
  subscription: string | null;
  failed: string | null;
  early: FeedEvent[];
  stop: () => void;
}
let shared: SharedFeed | null = null;

function openSharedFeed(): SharedFeed {
  const s: SharedFeed = { handlers: new Set(), subscription: null, failed: null, early: [], stop: () => {} };
  const deliver = (e: FeedEvent): void => {
    for (const h of [...s.handlers]) h.event(e);
  };
  try {
    s.stop = onEvent((e) => {
      if (s.subscription === null) s.early.push(e);
      else if (e.subscription === s.subscription) deliver(e);
    });
  } catch (err) {
    s.failed = describeError(err);
    return s;
  }
  call('feed.subscribe', {})
    .then(({ subscription: id }) => {
      if (shared !== s) {
        // Every listener left before the agent answered.
        void call('feed.unsubscribe', { subscription: id }).catch(() => {});
        return;
      }
      s.subscription = id;
      for (const h of [...s.handlers]) h.live(id);
      const early = s.early;
      s.early = [];
      for (const e of early) if (e.subscription === id) deliver(e);
    })
    .catch((err: unknown) => {
      s.failed = describeError(err);
      s.stop();
      for (const h of [...s.handlers]) h.failed(s.failed);
      // The next listener tries again.
      if (shared === s) shared = null;
    });
  return s;
}

/**
 * Listens to the live feed and returns the function that stops listening. A window
 * holds one subscription however many listeners it has, so the agent sends each
 * entry to it once: the first listener subscribes, the last one to leave
 * unsubscribes (also when it leaves before feed.subscribe answered). Events that
 * arrive before the answer are held until the subscription id is known, then only
 * ours are delivered. A listener that comes later is told the id (feed.bytes asks
 * by it) and gets the entries from then on.
 */
export function subscribeFeed(h: FeedHandlers): () => void {
  shared ??= openSharedFeed();
  const s = shared;
  if (s.failed !== null) {
    const message = s.failed;
    if (shared === s) shared = null;
    h.failed(message);
    return () => {};
  }
  s.handlers.add(h);
  if (s.subscription !== null) h.live(s.subscription);
  return () => {
    if (!s.handlers.delete(h) || s.handlers.size > 0) return;
    if (shared === s) shared = null;
    s.stop();
    if (s.subscription !== null) void call('feed.unsubscribe', { subscription: s.subscription }).catch(() => {});
  };
}
