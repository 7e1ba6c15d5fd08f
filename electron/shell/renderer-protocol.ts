/**
 * The `app://logstag/…` protocol handler: serves the production renderer build
 * (dist/renderer) and nothing else, with the Content-Security-Policy as a
 * response header (the page's <meta> CSP says the same; a header also covers
 * what a meta tag cannot, e.g. frame-ancestors).
 *
 * Pure: takes a web Request, returns a web Response (protocol.handle's contract),
 * so it unit-tests in Node, and the end-to-end test serves the same build to
 * Chromium through it.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { extname, join, relative, isAbsolute, sep } from 'node:path';
import { APP_HOST, APP_ORIGIN, APP_SCHEME } from './renderer-url.js';

/** The renderer's policy, exactly as renderer/index.html's <meta> states it (a test keeps them equal). */
export const RENDERER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'";

/** The policy sent as a header: the page's, plus what only a header can say. */
export const RENDERER_CSP_HEADER = `${RENDERER_CSP}; frame-ancestors 'none'`;

/** Every response carries these. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': RENDERER_CSP_HEADER,
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The file types the build produces; anything else is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** A path segment the build can produce (vite: name-hash.ext); never "." / "..", separators, ":" or NUL. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_SEGMENTS = 8;

/**
 * The file under `root` that `url` names, or undefined when it names none:
 * another scheme or host, credentials or a port, an encoded separator, a dot
 * segment, a segment the build never produces, a type not in CONTENT_TYPES, or
 * anything that would resolve outside `root`.
 */
export function resolveRendererFile(root: string, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST || u.username !== '' || u.password !== '' || u.port !== '') return undefined;
  const raw = u.pathname.split('/').slice(1);
  if (raw.length === 0 || raw.length > MAX_SEGMENTS) return undefined;
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (!SEGMENT.test(decoded) || decoded.includes('..')) return undefined;
    segments.push(decoded);
  }
  const last = segments[segments.length - 1] ?? '';
  if (!Object.hasOwn(CONTENT_TYPES, extname(last).toLowerCase())) return undefined;
  const file = join(root, ...segments);
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return undefined;
  return file;
}

/** What the handler reads of a request (protocol.handle passes a full Request). */
export interface ProtocolRequest {
  readonly url: string;
  readonly method: string;
  /** Electron: the origin of the page that made the request; absent when the app itself navigates. */
  readonly initiatorOrigin?: string;
}

export interface RendererProtocolOptions {
  /** Absolute path of dist/renderer (inside app.asar when packaged). */
  root: string;
  readFile?: (path: string) => Promise<Uint8Array>;
  log?: (msg: string) => void;
}

function refuse(status: 403 | 404 | 405, log: (msg: string) => void, why: string): Response {
  log(why);
  return new Response(status === 405 ? 'method not allowed' : 'not found', {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...(status === 405 ? { allow: 'GET, HEAD' } : {}) },
  });
}

export function createRendererProtocolHandler(opts: RendererProtocolOptions): (request: ProtocolRequest) => Promise<Response> {
  const read = opts.readFile ?? ((p: string) => fsReadFile(p));
  const log = opts.log ?? (() => {});
  const short = (url: string): string => JSON.stringify(url.slice(0, 200));
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, log, `refused ${request.method} ${short(request.url)}`);
    // Only our own page (or the app itself, which sets no initiator) may load our files.
    if (request.initiatorOrigin !== undefined && request.initiatorOrigin !== APP_ORIGIN) {
      return refuse(403, log, `refused ${short(request.url)} requested by ${JSON.stringify(request.initiatorOrigin.slice(0, 200))}`);
    }
    const file = resolveRendererFile(opts.root, request.url);
    if (file === undefined) return refuse(404, log, `refused ${short(request.url)}: not a file of the renderer build`);
    let body: Uint8Array;
    try {
      body = await read(file);
    } catch {
      return refuse(404, log, `${short(request.url)}: not found in the renderer build`);
    }
    const headers = { ...SECURITY_HEADERS, 'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}
