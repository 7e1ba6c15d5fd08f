import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import { BATCH_SCHEMA } from '../../collectors/core/batch.js';
import type { AgentIdentity } from '../../collectors/core/payload.js';
import { type Destination, describeDestination } from '../../contract/destination.js';
import { AGENT_VERSION } from '../version.js';
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF, parseRetryAfter } from './backoff.js';
import { EgressRefused, type EgressGuard, normalizeHost } from './egress-guard.js';
import type { DropReport, Spool, SpoolBatch } from './spool.js';
import { oneLine } from '../../collectors/core/text.js';

const gzip = promisify(gzipCb);

export type ShipperState = 'idle' | 'sending' | 'retrying' | 'credentials_rejected' | 'stopped';

export interface ShipperOptions {
  spool: Spool;
  destination: Destination;
  /** The resolved agent API key: held in memory, sent only in the Authorization header. */
  apiKey: string;
  agent: AgentIdentity;
  dispatcher: Dispatcher;
  guard: EgressGuard;
  log?: (line: string) => void;
  backoff?: BackoffOptions;
  maxPayloadsPerBatch?: number;
  /** Uncompressed bytes of payloads per batch (a single larger payload still goes alone). */
  maxBatchBytes?: number;
  requestTimeoutMs?: number;
  /** After a 401/403, one quiet retry this much later (the key may have been fixed on the service side). */
  credentialsRetryMs?: number;
  random?: () => number;
}

/** Error codes that mean "the certificate is not trusted", from OpenSSL via Node. */
const UNTRUSTED_CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** The failure in plain words for the status and the log. Never contains the API key (nothing here sees it). */
export function describeSendError(err: unknown, host: string, timeoutMs: number): string {
  const chain: Array<Error & { code?: unknown }> = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e as Error & { code?: unknown });
  if (err instanceof AggregateError) chain.push(...(err.errors.filter((e) => e instanceof Error) as Array<Error & { code?: unknown }>));
  const hit = <T extends Error>(pred: (e: Error & { code?: unknown }) => boolean): T | undefined => chain.find(pred) as T | undefined;
  const code = (c: string) => hit((e) => e.code === c);
  const egress = hit((e) => e instanceof EgressRefused);
  if (egress) return `egress guard: ${egress.message}`;
  const pin = hit((e) => e.code === 'LOGSTAG_PIN_MISMATCH');
  if (pin) return pin.message;
  if (hit((e) => e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')) {
    return `the Logstag endpoint ${host} did not answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  if (code('ECONNREFUSED')) return `the Logstag endpoint ${host} refused the connection (is it reachable from this host?)`;
  if (code('ENOTFOUND') || code('EAI_AGAIN')) return `the name ${host} does not resolve (DNS)`;
  if (code('ETIMEDOUT') || code('UND_ERR_CONNECT_TIMEOUT')) return `timed out connecting to ${host}`;
  if (code('ERR_TLS_CERT_ALTNAME_INVALID')) return `the certificate of ${host} is not valid for that name`;
  const untrusted = hit((e) => typeof e.code === 'string' && UNTRUSTED_CERT.has(e.code));
  if (untrusted)
    return `the certificate of ${host} is not trusted (${String((untrusted as { code?: unknown }).code)}); if the endpoint uses a private CA, set destination.caFile`;
  const proxy = hit((e) => /Proxy Authentication Required|\(407\)/.test(e.message));
  if (proxy) return 'the proxy rejected the agent (HTTP 407): check destination.proxy.username and password';
  const tunnel = hit((e) => /Proxy response|HTTP Tunneling|proxy/i.test(e.message));
  if (tunnel) return `the proxy refused the connection: ${oneLine(tunnel.message)}`;
  if (code('ECONNRESET') || code('UND_ERR_SOCKET') || code('EPIPE')) return `the connection to ${host} was cut`;
  const first = chain[0];
  return `sending failed: ${oneLine(first ? `${first.message}${typeof first.code === 'string' ? ` (${first.code})` : ''}` : String(err))}`;
}

interface PostOptions {
  url: URL;
  dispatcher: Dispatcher;
  guard: EgressGuard;
  apiKey: string;
  idempotencyKey: string;
  /** The gzipped batch. */
  body: Buffer;
  signal: AbortSignal;
  timeoutMs: number;
  /** A test batch (docs/batch-v1.md): also said in the `Logstag-Test: true` header, so the service can tell before reading the body. */
  test?: boolean;
}

/** One POST of a batch to the destination: the only way a batch leaves (real deliveries and test sends alike). */
async function postBatch(o: PostOptions): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  // Before undici is asked for anything: the URL must be the destination.
  o.guard.checkUrl(o.url);
  const res = await request(o.url, {
    dispatcher: o.dispatcher,
    method: 'POST',
    headers: {
      authorization: `Bearer ${o.apiKey}`,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'idempotency-key': o.idempotencyKey,
      'user-agent': `logstag-agent/${AGENT_VERSION}`,
      ...(o.test === true ? { 'logstag-test': 'true' } : {}),
    },
    body: o.body,
    signal: o.signal,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  });
  let text = '';
  for await (const chunk of res.body) {
    if (text.length < 300) text += (chunk as Buffer).toString('utf8');
  }
  return { status: res.statusCode, headers: res.headers, text };
}

export type TestSendVerdict = 'acknowledged' | 'dns' | 'refused' | 'tls' | 'authentication' | 'http' | 'timeout' | 'egress' | 'proxy' | 'other';
export interface TestSendResult {
  verdict: TestSendVerdict;
  /** The HTTP status when the service answered. */
  status?: number;
  /** One line, never the API key. */
  detail: string;
}

/** The kind of a send failure, from the same error chain describeSendError words. */
function failureVerdict(err: unknown): TestSendVerdict {
  const chain: Array<Error & { code?: unknown }> = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e as Error & { code?: unknown });
  if (err instanceof AggregateError) chain.push(...(err.errors.filter((e) => e instanceof Error) as Array<Error & { code?: unknown }>));
  const has = (pred: (e: Error & { code?: unknown }) => boolean): boolean => chain.some(pred);
  const code = (...c: string[]) => has((e) => typeof e.code === 'string' && c.includes(e.code));
  if (has((e) => e instanceof EgressRefused)) return 'egress';
  if (
    has((e) => e.code === 'LOGSTAG_PIN_MISMATCH') ||
    code('ERR_TLS_CERT_ALTNAME_INVALID') ||
    has((e) => typeof e.code === 'string' && UNTRUSTED_CERT.has(e.code))
  )
    return 'tls';
  if (has((e) => typeof e.code === 'string' && /^ERR_SSL|^ERR_TLS/.test(e.code))) return 'tls';
  if (has((e) => e.name === 'TimeoutError') || code('UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'))
    return 'timeout';
  if (code('ENOTFOUND', 'EAI_AGAIN')) return 'dns';
  if (code('ECONNREFUSED')) return 'refused';
  if (has((e) => /proxy|\(407\)/i.test(e.message))) return 'proxy';
  return 'other';
}

/**
 * Sends one test batch (`test: true`, no entries) to the destination through the same
 * request, dispatcher (TLS trust, pin, proxy) and egress guard as real deliveries, and
 * says what happened. Touches no spool: nothing is acknowledged, nothing is lost.
 */
export async function sendTestBatch(o: {
  destination: Destination;
  apiKey: string;
  agent: AgentIdentity;
  dispatcher: Dispatcher;
  guard: EgressGuard;
  timeoutMs?: number;
}): Promise<TestSendResult> {
  const url = new URL(o.destination.url);
  const host = normalizeHost(url.hostname);
  const timeoutMs = o.timeoutMs ?? 15_000;
  const sentAt = new Date().toISOString();
  const batch = { schema: BATCH_SCHEMA, agent: o.agent, sentAt, test: true, dropped: { count: 0, total: 0, since: null }, entries: [] };
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException('request timed out', 'TimeoutError')), timeoutMs);
  try {
    const { status, text } = await postBatch({
      url,
      dispatcher: o.dispatcher,
      guard: o.guard,
      apiKey: o.apiKey,
      idempotencyKey: `test:${sentAt}`,
      body: await gzip(JSON.stringify(batch)),
      signal: ac.signal,
      timeoutMs,
      test: true,
    });
    const said = text.trim() === '' ? '' : `: ${oneLine(text, 200)}`;
    if (status >= 200 && status < 300)
      return { verdict: 'acknowledged', status, detail: `the Logstag service at ${host} acknowledged the test batch (HTTP ${status})` };
    if (status === 401 || status === 403)
      return { verdict: 'authentication', status, detail: `the Logstag service rejected the API key (HTTP ${status})${said}` };
    return { verdict: 'http', status, detail: `the Logstag service answered HTTP ${status}${said}` };
  } catch (err) {
    return { verdict: failureVerdict(err), detail: describeSendError(err, host, timeoutMs) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends the spool to the Logstag destination: oldest first, batched, gzipped,
 * each payload with its idempotency key; acknowledges a batch in the spool
 * only after a 2xx. Paced (maxBatchesPerSecond, maxBytesPerSecond on the wire)
 * so a backlog after an outage drains steadily instead of flooding the link.
 */
export class Shipper {
  readonly events = new EventEmitter<{ change: [] }>();
  private stateValue: ShipperState = 'idle';
  lastSuccessAt: Date | null = null;
  lastError: string | null = null;
  lastErrorAt: Date | null = null;
  /** Epoch ms before which no request is made (backoff, Retry-After, pacing). */
  nextAttemptAt = 0;
  delivered = 0;
  private attempt = 0;
  private batchLimit: number;
  /** Largest request body (gzip bytes) the service accepted in this run. */
  private largestAccepted = 0;
  /** A single payload was quarantined for 413 and nothing was accepted since. */
  private tooLargeSinceSuccess = false;
  private stopping = false;
  private sending = false;
  private dataPending = false;
  private wakeData: (() => void) | undefined;
  private wakeSleep: (() => void) | undefined;
  private inflight: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly url: URL;
  private readonly host: string;
  private readonly maxPayloads: number;
  private readonly maxBatchBytes: number;
  private readonly timeoutMs: number;

  constructor(private readonly o: ShipperOptions) {
    this.url = new URL(o.destination.url);
    this.host = normalizeHost(this.url.hostname);
    this.maxPayloads = o.maxPayloadsPerBatch ?? 100;
    this.maxBatchBytes = o.maxBatchBytes ?? 1024 * 1024;
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
    this.batchLimit = this.maxPayloads;
  }

  get state(): ShipperState {
    return this.stateValue;
  }

  private set(state: ShipperState): void {
    this.stateValue = state;
    this.events.emit('change');
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** New data in the spool. */
  notify(): void {
    this.dataPending = true;
    this.wakeData?.();
  }

  private waitForData(): Promise<void> {
    if (this.dataPending || this.stopping) return Promise.resolve();
    return new Promise((r) => {
      this.wakeData = () => {
        this.wakeData = undefined;
        r();
      };
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(done, ms);
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the named function removes itself as a listener
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.wakeSleep = undefined;
        r();
      }
      this.wakeSleep = done;
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const wait = this.nextAttemptAt - Date.now();
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      this.dataPending = false;
      let batch: SpoolBatch;
      try {
        batch = await this.o.spool.peek(this.batchLimit, this.maxBatchBytes);
      } catch (err) {
        this.failed(`cannot read the spool: ${oneLine((err as Error).message)}`, undefined);
        continue;
      }
      if (batch.records.length === 0) {
        if (this.stateValue === 'sending') this.set('idle');
        await this.waitForData();
        continue;
      }
      await this.ship(batch);
    }
    this.set('stopped');
  }

  private envelope(batch: SpoolBatch, drops: DropReport): string {
    const head = JSON.stringify({ schema: BATCH_SCHEMA, agent: this.o.agent, sentAt: new Date().toISOString(), dropped: drops });
    // Bodies are the spooled v1 JSON, inserted verbatim: what was previewed is what is sent.
    const entries = batch.records.map(
      (r) => `{"key":${JSON.stringify(r.key)},"spooledAt":"${new Date(r.spooledAt).toISOString()}","payload":${r.body.toString('utf8')}}`,
    );
    return `${head.slice(0, -1)},"entries":[${entries.join(',')}]}`;
  }

  private async ship(batch: SpoolBatch): Promise<void> {
    const drops = this.o.spool.dropReport();
    const body = await gzip(this.envelope(batch, drops));
    const first = batch.records[0]!;
    const last = batch.records.at(-1)!;
    const range = first.seq === last.seq ? `${first.seq}` : `${first.seq}-${last.seq}`;
    const started = Date.now();
    this.sending = true;
    if (this.stateValue !== 'credentials_rejected') this.set('sending');
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    const ac = new AbortController();
    this.inflight = ac;
    const timer = setTimeout(() => ac.abort(new DOMException('request timed out', 'TimeoutError')), this.timeoutMs);
    try {
      if (this.stopping) return;
      ({ status, headers, text } = await postBatch({
        url: this.url,
        dispatcher: this.o.dispatcher,
        guard: this.o.guard,
        apiKey: this.o.apiKey,
        idempotencyKey: `${this.o.spool.id}:${range}`,
        body,
        signal: ac.signal,
        timeoutMs: this.timeoutMs,
      }));
    } catch (err) {
      if (!this.stopping) this.failed(describeSendError(err, this.host, this.timeoutMs), undefined);
      return;
    } finally {
      clearTimeout(timer);
      this.inflight = undefined;
      this.sending = false;
    }

    if (status >= 200 && status < 300) {
      await this.o.spool.ack(batch, { dropsReported: drops.total });
      this.largestAccepted = Math.max(this.largestAccepted, body.length);
      this.tooLargeSinceSuccess = false;
      this.delivered += batch.records.length;
      this.attempt = 0;
      this.batchLimit = this.maxPayloads;
      this.lastSuccessAt = new Date();
      const recovered = this.lastError !== null;
      this.lastError = null;
      this.lastErrorAt = null;
      // Pacing: the slower of the batch rate and the byte rate decides when the next batch may go.
      const pace = Math.max(1000 / this.o.destination.maxBatchesPerSecond, (body.length / this.o.destination.maxBytesPerSecond) * 1000);
      this.nextAttemptAt = started + pace;
      this.log(
        `delivered ${batch.records.length} payload(s) (seq ${range}, ${body.length} bytes gzip)${drops.count > 0 ? `; reported ${drops.count} dropped payload(s)` : ''}${recovered ? '; delivery recovered' : ''}`,
      );
      this.set(this.o.spool.backlog() === 0 ? 'idle' : 'sending');
      return;
    }
    const plain = oneLine(text, 300, '');
    const said = plain === '' ? '' : `: ${plain.slice(0, 200)}`;
    if (status === 401 || status === 403) {
      const was = this.stateValue;
      this.lastError = `the Logstag service rejected the agent's API key (HTTP ${status})${said}. Payloads stay in the spool; fix destination.apiKey and restart the agent`;
      this.lastErrorAt = new Date();
      this.nextAttemptAt = Date.now() + (this.o.credentialsRetryMs ?? 15 * 60_000);
      if (was !== 'credentials_rejected') this.log(`delivery stopped: ${this.lastError}`);
      this.set('credentials_rejected');
      return;
    }
    if (status >= 300 && status < 400) {
      const location = typeof headers['location'] === 'string' ? headers['location'] : '';
      let where = 'another location';
      try {
        const to = new URL(location, this.url);
        where = `${to.protocol}//${to.host}`;
      } catch {
        // Unparseable Location: keep the generic words.
      }
      this.o.guard.record(where, `the destination answered HTTP ${status} redirecting to it; redirects are never followed`);
      this.failed(`the destination redirected to ${where} (HTTP ${status}); the agent sends only to the configured URL, so fix destination.url`, undefined);
      return;
    }
    if (status === 429 || status === 503) {
      const after = parseRetryAfter(headers['retry-after']);
      this.failed(`the Logstag service asked the agent to wait (HTTP ${status})${said}`, after);
      return;
    }
    if (status === 400 || status === 413 || status === 422) {
      if (batch.records.length > 1) {
        // Find the payload the service refuses without holding up the others.
        this.batchLimit = Math.max(1, Math.floor(batch.records.length / 2));
        this.log(`the service refused a batch of ${batch.records.length} (HTTP ${status}${said}); retrying in smaller batches`);
        return;
      }
      if (status === 413 && (this.tooLargeSinceSuccess || body.length <= this.largestAccepted)) {
        // Not this payload: a body-size limit (the service's or a reverse proxy's) refuses what used to pass,
        // or one payload after another. A configuration problem: keep everything in the spool and say so.
        this.failed(
          `the service or a proxy in front of it refuses a request of ${body.length} bytes (one payload, HTTP 413)${said}; its body-size limit is too small for the agent's payloads. Payloads stay in the spool: raise the limit (or collect fewer signals per target)`,
          undefined,
        );
        return;
      }
      // A refusal is not a loss: the payload goes to the quarantine for the operator, the backlog moves on.
      try {
        await this.o.spool.quarantine(batch, { status, reason: plain.slice(0, 200) });
      } catch (err) {
        this.failed(
          `the service refused payload ${first.key} (HTTP ${status})${said} and it could not be quarantined: ${oneLine((err as Error).message)}`,
          undefined,
        );
        return;
      }
      if (status === 413) this.tooLargeSinceSuccess = true;
      this.lastError = `the service refused payload ${first.key} (HTTP ${status}${status === 413 ? ', too large' : ', malformed'})${said}; it was moved to the quarantine (logstag-agent spool --quarantine)`;
      this.lastErrorAt = new Date();
      this.log(this.lastError);
      this.events.emit('change');
      return;
    }
    this.failed(`the Logstag service answered HTTP ${status}${said}`, undefined);
  }

  /** Records a failed attempt and schedules the next: Retry-After if the service gave one, else backoff. */
  private failed(reason: string, retryAfterMs: number | undefined): void {
    this.attempt++;
    const delay = retryAfterMs ?? backoffDelay(this.attempt, this.o.backoff ?? DEFAULT_BACKOFF, this.o.random);
    this.nextAttemptAt = Date.now() + delay;
    this.lastError = reason;
    this.lastErrorAt = new Date();
    this.log(`delivery to ${describeDestination(this.o.destination)} failed: ${reason}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt})`);
    this.set('retrying');
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(done, timeoutMs);
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the named function removes itself as a listener
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.events.off('change', done);
        r();
      }
      this.events.on('change', done);
    });
  }

  /**
   * Ships what is spooled until the spool is empty or `timeoutMs` has passed;
   * gives up early when the next attempt could not happen in time (backoff,
   * rejected credentials). Whatever is left stays on disk for the next start.
   */
  async flush(timeoutMs: number): Promise<{ remaining: number }> {
    const deadline = Date.now() + timeoutMs;
    this.start();
    for (;;) {
      const remaining = this.o.spool.backlog();
      if (remaining === 0 && !this.sending) return { remaining };
      const now = Date.now();
      if (now >= deadline || this.stateValue === 'credentials_rejected' || this.stateValue === 'stopped') return { remaining };
      if (this.nextAttemptAt > deadline && !this.sending) return { remaining };
      this.notify();
      await this.changed(Math.min(250, deadline - now));
    }
  }

  /** Stops the loop; a request in flight is abandoned (its batch stays in the spool and is re-sent with the same keys). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.inflight?.abort(new DOMException('agent stopping', 'AbortError'));
    this.wakeData?.();
    this.wakeSleep?.();
    await this.loopDone;
    if (this.loopDone === undefined) this.set('stopped');
  }
}
