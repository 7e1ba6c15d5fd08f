// Types for ingest-server.js (plain JS so bench/ can use it without a TypeScript step).
import type { IncomingHttpHeaders } from 'node:http';

export interface TestPki {
  dir: string;
  /** PEM of the throwaway CA: what the agent gets as destination.caFile. */
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** "sha256/<base64>" of the server certificate's public key. */
  pin: string;
}
export function testPki(): TestPki;

export interface IngestEntry {
  key: string;
  spooledAt: string;
  payload: { schema: string; target: { id: string }; collectedAt: string; [k: string]: unknown };
}

export interface IngestRequest {
  at: number;
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  /** Bytes on the wire (gzip). */
  bytes: number;
  status: number;
  /** The parsed batch, when it could be parsed. */
  batch: unknown;
  /** The body as received, after gzip (undefined when it could not be decoded). */
  text?: string;
}

export interface IngestServer {
  host: string;
  port: number;
  apiKey: string;
  pki: TestPki;
  respond: ((req: IngestRequest) => { status: number; headers?: Record<string, string>; body?: string } | undefined) | undefined;
  readonly requests: IngestRequest[];
  /** Entries in arrival order, each key once. */
  readonly accepted: IngestEntry[];
  /** Entries whose key had already been accepted. */
  readonly duplicates: number;
  readonly invalid: number;
  readonly droppedReports: Array<{ count: number; total: number; since: string | null }>;
  url(hostname?: string, path?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}
export function startIngestServer(opts?: { pki?: TestPki; host?: string; port?: number; apiKey?: string }): Promise<IngestServer>;

export interface ConnectProxy {
  port: number;
  url: string;
  connects: Array<{ target: string; authorized: boolean }>;
  close(): Promise<void>;
}
export function startConnectProxy(opts?: { username?: string; password?: string }): Promise<ConnectProxy>;
