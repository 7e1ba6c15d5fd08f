/**
 * The hardening every web page of the app gets: no navigation away from our own
 * page, no new windows, no webviews, no permissions (one exception, below), no
 * device access, and no request from a page to anything but our own app://
 * origin (remote content and file:// are cancelled before they leave).
 *
 * The Electron objects are passed in, typed by narrow views that Electron's own
 * WebContents and Session satisfy (checked at compile time at the end of this
 * file), so this unit-tests with plain fakes and never loads Electron.
 */
import type { Session, WebContents } from 'electron';

/** The part of a WebContents the hardening uses. */
export interface HardenableContents {
  setWindowOpenHandler(handler: () => { action: 'deny' }): void;
  on(event: 'will-navigate', listener: (details: { url: string; preventDefault(): void }) => void): unknown;
  on(event: 'will-redirect', listener: (details: { url: string; preventDefault(): void }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
}

/** The part of a Session the hardening uses. */
export interface HardenableSession {
  setPermissionRequestHandler(
    handler: (contents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl: string }) => void,
  ): void;
  setPermissionCheckHandler(handler: (contents: unknown, permission: string, origin: string, details: { requestingUrl?: string }) => boolean): void;
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void;
  readonly webRequest: {
    onBeforeRequest(filter: { urls: string[] }, listener: (details: BlockableRequest, callback: (response: { cancel: boolean }) => void) => void): void;
  };
}

/** What the request filter reads of a request. */
export interface BlockableRequest {
  url: string;
  /** Set when a web page made the request; absent for the main process's own (net) requests. */
  webContentsId?: number;
}

/**
 * Requests the filter sees: every remote scheme Chromium's patterns cover
 * (http, https, ws, wss) and file://. Our app:// origin is not matched, so the
 * renderer's own files never pass through the filter.
 */
export const BLOCKED_REQUEST_PATTERNS = ['*://*/*', 'file://*/*'];

const BLOCKED_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:']);

/**
 * A page never loads remote content or local files. The main process's own
 * requests (no webContents) are not the page's; whatever the patterns match,
 * our app:// files are never cancelled (only the schemes above are).
 */
export function shouldBlockRequest(details: BlockableRequest): boolean {
  if (details.webContentsId === undefined) return false;
  let protocol: string;
  try {
    protocol = new URL(details.url).protocol;
  } catch {
    return true;
  }
  return BLOCKED_SCHEMES.has(protocol);
}

/**
 * The one permission our own page may use: writing plain text to the clipboard
 * ("Copy script"). Everything else, and anything asked by another page, is denied.
 */
const ALLOWED_PERMISSION = 'clipboard-sanitized-write';

const hardened = new WeakSet<object>();

export function hardenWebContents(contents: HardenableContents, isOwnPage: (url: string) => boolean, log: (msg: string) => void = () => {}): void {
  if (hardened.has(contents)) return;
  hardened.add(contents);
  contents.setWindowOpenHandler(() => {
    log('blocked a new window');
    return { action: 'deny' };
  });
  const stayHome = (details: { url: string; preventDefault(): void }): void => {
    if (isOwnPage(details.url)) return;
    details.preventDefault();
    log(`blocked navigation to ${JSON.stringify(details.url.slice(0, 200))}`);
  };
  contents.on('will-navigate', stayHome);
  contents.on('will-redirect', stayHome);
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('blocked a webview');
  });
}

export function hardenSession(session: HardenableSession, isOwnPage: (url: string) => boolean, log: (msg: string) => void = () => {}): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const granted = permission === ALLOWED_PERMISSION && isOwnPage(details.requestingUrl);
    if (!granted) log(`denied permission ${JSON.stringify(permission)} to ${JSON.stringify(details.requestingUrl.slice(0, 200))}`);
    callback(granted);
  });
  session.setPermissionCheckHandler((_contents, permission, _origin, details) => permission === ALLOWED_PERMISSION && isOwnPage(details.requestingUrl ?? ''));
  // WebHID, WebUSB, Web Serial, Bluetooth: never.
  session.setDevicePermissionHandler(() => false);
  session.webRequest.onBeforeRequest({ urls: BLOCKED_REQUEST_PATTERNS }, (details, callback) => {
    const cancel = shouldBlockRequest(details);
    if (cancel) log(`blocked a request from a page to ${JSON.stringify(details.url.slice(0, 200))}`);
    callback({ cancel });
  });
}

// Electron's real objects fit the narrow views above (a compile error here means the Electron API moved).
type Fits<A, B> = A extends B ? true : false;
export type ElectronFitsHardening = [Fits<WebContents, HardenableContents>, Fits<Session, HardenableSession>] extends [true, true] ? true : never;
const electronFits: ElectronFitsHardening = true;
void electronFits;
