/**
 * Where the renderer lives: a privileged custom protocol, `app://logstag/…`,
 * served from dist/renderer only (renderer-protocol.ts), never `file://`.
 * A standard, secure scheme gives the page a real origin of its own, so the
 * CSP's 'self' means our files and nothing else on the disk.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'logstag';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The one page of the app. */
export const RENDERER_URL = `${APP_ORIGIN}/index.html`;

/**
 * How the scheme is registered (before the app is ready): see
 * protocol.registerSchemesAsPrivileged. As in Electron's own protocol.handle
 * example (standard + secure + fetch: module scripts load as from https); the
 * page still cannot fetch anything, its CSP says connect-src 'none'. Nothing
 * bypasses the CSP, no service workers, no CORS for other origins.
 */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: false,
  bypassCSP: false,
  allowServiceWorkers: false,
  stream: false,
  codeCache: true,
} as const;

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** Whether `url` is on our origin (any path): the only place subresources may come from. */
export function isAppOrigin(url: string): boolean {
  const u = parse(url);
  return u !== undefined && u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
}

/**
 * Whether `url` is our own renderer page, whatever its query or fragment.
 * Anything else (another path, file:, http(s), data:, about:blank, devtools)
 * is not ours and gets neither the agent API nor navigation.
 */
export function isOwnRendererUrl(url: string): boolean {
  const u = parse(url);
  return u !== undefined && isAppOrigin(url) && u.pathname === '/index.html';
}
