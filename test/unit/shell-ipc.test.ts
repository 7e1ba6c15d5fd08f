// The Electron IPC transport and the window hardening, driven with fake Electron
// objects (typed by the narrow views that Electron's own types are checked against
// in electron/shell/*.ts) and the real agent handler table.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FeedEvent, Response } from '../../contract/api.js';
import { resolvePolicy } from '../../collectors/core/policy.js';
import { type Connection, createHandlers } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import { type BlockableRequest, hardenSession, hardenWebContents, type HardenableContents, type HardenableSession } from '../../electron/shell/hardening.js';
import { CALL_CHANNEL, EVENT_CHANNEL, type InvokeEvent, type IpcMainLike, type IpcSender, registerIpcTransport } from '../../electron/shell/ipc-transport.js';
import { isAppOrigin, isOwnRendererUrl, RENDERER_URL } from '../../electron/shell/renderer-url.js';

const OWN_URL = RENDERER_URL;
const isOwn = isOwnRendererUrl;

type Listener = (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>;

class FakeIpcMain implements IpcMainLike {
  readonly listeners = new Map<string, Listener>();
  handle(channel: string, listener: Listener): void {
    if (this.listeners.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.listeners.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.listeners.delete(channel);
  }
  /** What ipcRenderer.invoke(channel, arg) from `sender`'s frame at `url` resolves with. */
  async invoke(sender: FakeWebContents, url: string | null, arg: unknown, opts: { subframe?: boolean } = {}): Promise<Response> {
    const listener = this.listeners.get(CALL_CHANNEL);
    if (listener === undefined) throw new Error(`No handler registered for '${CALL_CHANNEL}'`);
    const senderFrame = url === null ? null : { url, parent: opts.subframe ? { url: OWN_URL } : null };
    return (await listener({ sender, senderFrame }, arg)) as Response;
  }
}

class FakeWebContents extends EventEmitter implements IpcSender {
  private static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  private destroyed = false;
  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
  events(): FeedEvent[] {
    return this.sent.filter((s) => s.channel === EVENT_CHANNEL).map((s) => s.args[0] as FeedEvent);
  }
}

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function setup() {
  const home = mkdtempSync(join(tmpdir(), 'shell-ipc-'));
  homes.push(home);
  const store = new StateStore(home);
  const ops = new TargetOperations(
    { id: 'agent-1', version: '0.1.0', host: 'test' },
    new AuditLedger(join(home, 'audit')),
    () => {
      throw new VaultError('unavailable', 'no vault in this test');
    },
    {},
  );
  const api = createHandlers({ store, ops });
  const disconnect = vi.fn((conn: Connection) => api.disconnect(conn));
  const ipcMain = new FakeIpcMain();
  const logged: unknown[] = [];
  const transport = registerIpcTransport({ ipcMain, handlers: api.handlers, disconnect, isTrustedUrl: isOwn, log: (e) => logged.push(e) });
  const payload = (targetId: string): PayloadV1 => ({
    schema: 'logstag.payload/v1',
    agent: { id: 'agent-1', version: '0.1.0', host: 'test' },
    target: { id: targetId, engine: 'postgres', name: targetId },
    collectedAt: new Date().toISOString(),
    signals: [],
  });
  const publish = (id: string) =>
    ops.cycles.emit('cycle', { payload: payload(id), annotations: [], policy: resolvePolicy(), durationMs: 1, commitMemory: async () => {} });
  return { store, ops, ipcMain, disconnect, logged, transport, publish };
}

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'monitor', database: 'app' };

describe('IPC transport', () => {
  it('refuses calls from any frame that is not our renderer page, before dispatch', async () => {
    const { ipcMain, store, logged } = setup();
    const wc = new FakeWebContents();
    const create = { method: 'targets.create', params: { target } };
    for (const url of [
      'https://evil.example/index.html',
      'file:///tmp/other/index.html',
      'about:blank',
      'data:text/html,hi',
      'devtools://devtools/bundled/inspector.html',
    ]) {
      const res = await ipcMain.invoke(wc, url, create);
      expect(res).toEqual({ ok: false, error: { code: 'bad_request', message: 'this page is not allowed to call the Logstag agent' } });
    }
    // Our page's URL in a subframe, or a frame already gone, is refused too.
    expect((await ipcMain.invoke(wc, OWN_URL, create, { subframe: true })).ok).toBe(false);
    expect((await ipcMain.invoke(wc, null, create)).ok).toBe(false);
    expect(store.targets).toEqual([]);
    expect(logged).toHaveLength(7);
  });

  it('passes a call from our page (any query or fragment) to the agent API', async () => {
    const { ipcMain, store } = setup();
    const wc = new FakeWebContents();
    const created = await ipcMain.invoke(wc, OWN_URL, { method: 'targets.create', params: { target } });
    expect(created).toMatchObject({ ok: true, result: { id: 'pg-1', name: 'pg-1', password: 'none' } });
    expect(store.target('pg-1')).toBeDefined();
    const status = await ipcMain.invoke(wc, `${OWN_URL}?x=1#/targets`, { method: 'status.get' });
    expect(status).toMatchObject({ ok: true, result: { agent: { id: 'agent-1' }, targets: [{ id: 'pg-1', state: 'never_collected' }] } });
    // The agent's validation answers, through the transport, with its own messages.
    expect(await ipcMain.invoke(wc, OWN_URL, { method: 'targets.get', params: { id: 'nope' } })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ipcMain.invoke(wc, OWN_URL, { method: 'nope.nope' })).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
    expect(await ipcMain.invoke(wc, OWN_URL, 'targets.list')).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await ipcMain.invoke(wc, OWN_URL, { method: 42 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('sends feed events only to the webContents that subscribed', async () => {
    const { ipcMain, publish } = setup();
    const subscribed = new FakeWebContents();
    const other = new FakeWebContents();
    const sub = await ipcMain.invoke(subscribed, OWN_URL, { method: 'feed.subscribe' });
    expect(sub.ok).toBe(true);
    const { subscription } = (sub as Extract<Response, { ok: true }>).result as { subscription: string };
    await ipcMain.invoke(other, OWN_URL, { method: 'status.get' });

    publish('pg-1');
    expect(subscribed.events()).toEqual([expect.objectContaining({ subscription, entry: expect.objectContaining({ targetId: 'pg-1' }) })]);
    expect(other.sent).toEqual([]);

    // Unsubscribing from another webContents does nothing; from the owner it stops the events.
    expect(await ipcMain.invoke(other, OWN_URL, { method: 'feed.unsubscribe', params: { subscription } })).toMatchObject({ result: { unsubscribed: false } });
    expect(await ipcMain.invoke(subscribed, OWN_URL, { method: 'feed.unsubscribe', params: { subscription } })).toMatchObject({
      result: { unsubscribed: true },
    });
    publish('pg-1');
    expect(subscribed.events()).toHaveLength(1);
  });

  it('disconnects a webContents when it is destroyed, and its subscriptions end', async () => {
    const { ipcMain, disconnect, publish } = setup();
    const wc = new FakeWebContents();
    const survivor = new FakeWebContents();
    await ipcMain.invoke(wc, OWN_URL, { method: 'feed.subscribe' });
    await ipcMain.invoke(survivor, OWN_URL, { method: 'feed.subscribe' });
    wc.destroy();
    expect(disconnect).toHaveBeenCalledTimes(1);
    publish('pg-1');
    expect(wc.events()).toEqual([]);
    expect(survivor.events()).toHaveLength(1);
    wc.destroy();
    expect(disconnect).toHaveBeenCalledTimes(1);
  });

  it('ends the subscriptions of a page when its webContents loads a new page or its renderer dies', async () => {
    const { ipcMain, disconnect, publish } = setup();
    const wc = new FakeWebContents();
    await ipcMain.invoke(wc, OWN_URL, { method: 'feed.subscribe' });
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true }); // a fragment change: same page
    wc.emit('did-start-navigation', { isMainFrame: false, isSameDocument: false }); // a subframe
    expect(disconnect).not.toHaveBeenCalled();
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false }); // reload
    expect(disconnect).toHaveBeenCalledTimes(1);
    publish('pg-1');
    expect(wc.events()).toEqual([]);

    // The new page subscribes again on the same webContents; a renderer crash ends that too.
    await ipcMain.invoke(wc, OWN_URL, { method: 'feed.subscribe' });
    publish('pg-1');
    expect(wc.events()).toHaveLength(1);
    wc.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 1 });
    expect(disconnect).toHaveBeenCalledTimes(2);
    publish('pg-1');
    expect(wc.events()).toHaveLength(1);
    // Listeners are attached once per webContents, not once per connection.
    expect(wc.listenerCount('did-start-navigation')).toBe(1);
    expect(wc.listenerCount('destroyed')).toBe(1);
  });

  it('dispose removes the handler and disconnects every connection', async () => {
    const { ipcMain, transport, disconnect } = setup();
    await ipcMain.invoke(new FakeWebContents(), OWN_URL, { method: 'feed.subscribe' });
    transport.dispose();
    expect(ipcMain.listeners.has(CALL_CHANNEL)).toBe(false);
    expect(disconnect).toHaveBeenCalledTimes(1);
  });

  it('uses the same channel names as the preload (which cannot import them)', () => {
    const preload = readFileSync(new URL('../../electron/preload.cts', import.meta.url), 'utf8');
    expect(preload).toContain(`const CALL_CHANNEL = '${CALL_CHANNEL}';`);
    expect(preload).toContain(`const EVENT_CHANNEL = '${EVENT_CHANNEL}';`);
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*[,)]/);
  });
});

describe('isOwnRendererUrl', () => {
  it('accepts only our page on the app:// origin, whatever its query or fragment', () => {
    expect(OWN_URL).toBe('app://logstag/index.html');
    expect(isOwn(OWN_URL)).toBe(true);
    expect(isOwn(`${OWN_URL}#feed`)).toBe(true);
    expect(isOwn(`${OWN_URL}?x=1`)).toBe(true);
    for (const url of [
      'app://logstag/other.html',
      'app://logstag/',
      'app://logstag',
      'app://evil/index.html',
      'app://LOGSTAG.evil/index.html',
      'app://user:pw@logstag/index.html',
      'app://logstag:8080/index.html',
      'http://logstag/index.html',
      'https://logstag/index.html',
      'file:///index.html',
      'file:///opt/Logstag Agent/resources/app.asar/dist/renderer/index.html',
      'logstag://app/index.html',
      'app://logstag/%69ndex.html',
      'about:blank',
      'data:text/html,hi',
      'devtools://devtools/bundled/inspector.html',
      'not a url',
      '',
    ]) {
      expect(isOwn(url), url).toBe(false);
    }
  });

  it('tells our origin (subresources) from everything else', () => {
    expect(isAppOrigin('app://logstag/assets/index-abc.js')).toBe(true);
    expect(isAppOrigin('app://other/assets/index-abc.js')).toBe(false);
    expect(isAppOrigin('https://logstag/assets/index-abc.js')).toBe(false);
  });
});

describe('window hardening', () => {
  class FakeContents extends EventEmitter implements HardenableContents {
    openHandler: (() => { action: 'deny' }) | undefined;
    setWindowOpenHandler(handler: () => { action: 'deny' }): void {
      this.openHandler = handler;
    }
  }
  const navigation = (url: string) => ({
    url,
    prevented: false,
    preventDefault() {
      this.prevented = true;
    },
  });

  it('denies new windows and webviews, and navigation anywhere but our page', () => {
    const contents = new FakeContents();
    hardenWebContents(contents, isOwn);
    expect(contents.openHandler?.()).toEqual({ action: 'deny' });
    for (const event of ['will-navigate', 'will-redirect'] as const) {
      const away = navigation('https://example.com/');
      contents.emit(event, away);
      expect(away.prevented).toBe(true);
      const home = navigation(OWN_URL);
      contents.emit(event, home);
      expect(home.prevented).toBe(false);
    }
    const webview = navigation('');
    contents.emit('will-attach-webview', webview);
    expect(webview.prevented).toBe(true);
    hardenWebContents(contents, isOwn);
    expect(contents.listenerCount('will-navigate')).toBe(1);
  });

  class FakeSession implements HardenableSession {
    request: Parameters<HardenableSession['setPermissionRequestHandler']>[0] | undefined;
    check: Parameters<HardenableSession['setPermissionCheckHandler']>[0] | undefined;
    device: ((details: unknown) => boolean) | undefined;
    filter: { urls: string[] } | undefined;
    beforeRequest: ((details: BlockableRequest, callback: (response: { cancel: boolean }) => void) => void) | undefined;
    setPermissionRequestHandler(h: NonNullable<FakeSession['request']>): void {
      this.request = h;
    }
    setPermissionCheckHandler(h: NonNullable<FakeSession['check']>): void {
      this.check = h;
    }
    setDevicePermissionHandler(h: (details: unknown) => boolean): void {
      this.device = h;
    }
    readonly webRequest = {
      onBeforeRequest: (filter: { urls: string[] }, listener: NonNullable<FakeSession['beforeRequest']>): void => {
        this.filter = filter;
        this.beforeRequest = listener;
      },
    };
  }

  it('denies every permission except clipboard writes from our own page', () => {
    const session = new FakeSession();
    const logged: string[] = [];
    hardenSession(session, isOwn, (m) => logged.push(m));
    const { request, check } = session;
    const ask = (permission: string, url: string): boolean => {
      let granted: boolean | undefined;
      request?.({}, permission, (g) => (granted = g), { requestingUrl: url });
      return (
        granted ??
        (() => {
          throw new Error('callback not called');
        })()
      );
    };
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fileSystem', 'hid', 'usb', 'serial', 'unknown']) {
      expect(ask(p, OWN_URL)).toBe(false);
      expect(check?.({}, p, 'app://logstag', { requestingUrl: OWN_URL })).toBe(false);
    }
    expect(ask('clipboard-sanitized-write', OWN_URL)).toBe(true);
    expect(ask('clipboard-sanitized-write', 'https://example.com/')).toBe(false);
    expect(ask('clipboard-sanitized-write', 'file:///index.html')).toBe(false);
    expect(check?.({}, 'clipboard-sanitized-write', 'app://logstag', { requestingUrl: OWN_URL })).toBe(true);
    expect(check?.({}, 'clipboard-sanitized-write', 'app://logstag', {})).toBe(false);
    expect(logged.filter((l) => l.startsWith('denied permission')).length).toBe(12);
    // WebHID / WebUSB / Web Serial / Bluetooth device access: never.
    expect(session.device?.({ deviceType: 'usb', origin: 'app://logstag' })).toBe(false);
  });

  it('cancels every request a page makes to a remote origin or a local file; the main process’s own requests pass', () => {
    const session = new FakeSession();
    hardenSession(session, isOwn);
    // http, https, ws, wss (Chromium's "*" scheme) and file: go through the filter; app:// does not.
    expect(session.filter).toEqual({ urls: ['*://*/*', 'file://*/*'] });
    const decide = (details: BlockableRequest): boolean => {
      let cancel: boolean | undefined;
      session.beforeRequest?.(details, (r) => (cancel = r.cancel));
      return (
        cancel ??
        (() => {
          throw new Error('callback not called');
        })()
      );
    };
    for (const url of ['https://cdn.example.com/x.js', 'http://169.254.169.254/latest/meta-data', 'wss://example.com/', 'file:///etc/passwd']) {
      expect(decide({ url, webContentsId: 1 }), url).toBe(true);
    }
    expect(decide({ url: 'https://ingest.logstag.example/v1' })).toBe(false);
    // Our own files are never cancelled, even if a pattern matched them.
    expect(decide({ url: 'app://logstag/assets/index-abc.js', webContentsId: 1 })).toBe(false);
    expect(decide({ url: 'not a url', webContentsId: 1 })).toBe(true);
  });
});
