// The whole main process (electron/shell/desktop-app.ts), started with fake Electron
// modules that implement the narrow views Electron's own types are checked against
// at compile time. The agent behind it is real (state store, handler table, runtime,
// audit ledger in a temp dir); the app root is this repository, so the protocol
// handler serves the real renderer build and the tray uses the real icon files.
//
// This is how the shell's startup order, window policy, tray, IPC and quit are
// verified on machines where the Electron binary cannot run.
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserWindowConstructorOptions, CustomScheme, MenuItemConstructorOptions } from 'electron';
import { afterEach, describe, expect, it } from 'vitest';
import type { Response as ApiResponse } from '../../contract/api.js';
import { type AppLike, type DesktopApp, type ElectronApi, LOGIN_ARGS, startDesktopApp } from '../../electron/shell/desktop-app.js';
import type { BlockableRequest, HardenableContents, HardenableSession } from '../../electron/shell/hardening.js';
import { CALL_CHANNEL, type InvokeEvent, type IpcMainLike, type IpcSender } from '../../electron/shell/ipc-transport.js';
import type { ProtocolRequest } from '../../electron/shell/renderer-protocol.js';
import { RENDERER_CSP_HEADER } from '../../electron/shell/renderer-protocol.js';
import { RENDERER_URL } from '../../electron/shell/renderer-url.js';
import type { SafeStorageApi } from '../../electron/shell/safe-storage-vault.js';
import type { TrayLike } from '../../electron/shell/tray.js';
import type { WindowLike } from '../../electron/shell/window.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

class FakeContents extends EventEmitter implements HardenableContents, IpcSender {
  private static next = 1;
  readonly id = FakeContents.next++;
  openHandler: (() => { action: 'deny' }) | undefined;
  destroyed = false;
  sent: unknown[] = [];
  setWindowOpenHandler(handler: () => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  send(_channel: string, ...args: unknown[]): void {
    this.sent.push(args[0]);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

class World {
  readonly events: string[] = [];
  readonly home = mkdtempSync(join(tmpdir(), 'shell-app-'));
  readyResolve: () => void = () => {};
  readonly windows: FakeWindow[] = [];
  readonly trays: FakeTray[] = [];
  readonly opened: string[] = [];
  readonly revealed: string[] = [];
  readonly errors: Array<{ title: string; content: string }> = [];
  readonly logged: unknown[] = [];
  schemes: CustomScheme[] = [];
  protocolHandler: ((r: ProtocolRequest) => Promise<Response>) | undefined;
  loginItem = { openAtLogin: false, wasOpenedAtLogin: false, args: undefined as string[] | undefined };
  dockVisible = true;
  quitted = false;
  exitCode: number | undefined;
  lock = true;
  platform: NodeJS.Platform = 'linux';
  session = new FakeSession(this);
  ipcMain = new FakeIpcMain();

  api(): ElectronApi {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const world = this;
    const app = new (class extends EventEmitter implements AppLike {
      readonly isPackaged = false;
      // Like Electron: app.dock exists on macOS only.
      readonly dock =
        world.platform === 'darwin'
          ? {
              show: async () => {
                world.dockVisible = true;
                world.events.push('dock.show');
              },
              hide: () => {
                world.dockVisible = false;
                world.events.push('dock.hide');
              },
            }
          : undefined;
      requestSingleInstanceLock(): boolean {
        world.events.push('requestSingleInstanceLock');
        return world.lock;
      }
      enableSandbox(): void {
        world.events.push('enableSandbox');
      }
      whenReady(): Promise<void> {
        return new Promise<void>((r) => {
          world.readyResolve = () => {
            world.events.push('ready');
            r();
          };
        });
      }
      quit(): void {
        let prevented = false;
        this.emit('before-quit', { preventDefault: () => (prevented = true) });
        if (!prevented) world.quitted = true;
      }
      exit(code?: number): void {
        world.exitCode = code ?? 0;
      }
      getPath(): string {
        return world.home;
      }
      getName(): string {
        return 'Logstag Agent';
      }
      getAppPath(): string {
        return repo;
      }
      getLoginItemSettings(options?: { args?: string[] }) {
        const argsMatch = JSON.stringify(options?.args ?? []) === JSON.stringify(world.loginItem.args ?? []);
        return { openAtLogin: world.loginItem.openAtLogin && argsMatch, wasOpenedAtLogin: world.loginItem.wasOpenedAtLogin };
      }
      setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }): void {
        world.loginItem.openAtLogin = settings.openAtLogin ?? false;
        world.loginItem.args = settings.args;
      }
    })();
    this.app = app;
    return {
      app,
      BrowserWindow: class extends FakeWindow {
        constructor(options: BrowserWindowConstructorOptions) {
          super(options, world);
        }
      },
      Tray: class extends FakeTray {
        constructor(image: string) {
          super(image, world);
        }
      },
      Menu: { buildFromTemplate: (template: MenuItemConstructorOptions[]) => template },
      ipcMain: this.ipcMain,
      safeStorage: fakeSafeStorage,
      session: { defaultSession: this.session },
      protocol: {
        registerSchemesAsPrivileged: (schemes) => {
          this.events.push('registerSchemesAsPrivileged');
          this.schemes = schemes;
        },
        handle: (scheme, handler) => {
          this.events.push(`protocol.handle:${scheme}`);
          this.protocolHandler = handler;
        },
      },
      shell: {
        openPath: async (path) => {
          this.opened.push(path);
          return path.endsWith('.jsonl') ? 'No application knows how to open this file' : '';
        },
        showItemInFolder: (path) => void this.revealed.push(path),
      },
      dialog: { showErrorBox: (title, content) => void this.errors.push({ title, content }) },
    };
  }
  app!: AppLike & EventEmitter;

  get tray(): FakeTray {
    return this.trays[0]!;
  }
  get window(): FakeWindow | undefined {
    return this.windows.filter((w) => !w.closed).at(-1);
  }
  menuLabels(): string[] {
    return (this.tray.menu ?? []).map((m) => (m.type === 'separator' ? '---' : `${m.label}${m.enabled === false ? ' (off)' : ''}`));
  }
  click(label: string): void {
    const item = (this.tray.menu ?? []).find((m) => m.label === label);
    if (item?.click === undefined) throw new Error(`no menu item "${label}" in ${JSON.stringify(this.menuLabels())}`);
    (item.click as () => void)();
  }
  /** An agent API call from a frame at `url` of `sender`, as ipcRenderer.invoke delivers it. */
  call(method: string, params?: unknown, url = RENDERER_URL, sender = this.window?.webContents ?? new FakeContents()): Promise<ApiResponse> {
    return this.ipcMain.invoke({ sender, senderFrame: { url, parent: null } }, { method, params });
  }
}

const fakeSafeStorage: SafeStorageApi = {
  isAsyncEncryptionAvailable: async () => false,
  encryptStringAsync: async () => {
    throw new Error('not in this test');
  },
  decryptStringAsync: async () => {
    throw new Error('not in this test');
  },
  getSelectedStorageBackend: () => 'basic_text',
};

class FakeWindow extends EventEmitter implements WindowLike {
  readonly webContents = new FakeContents();
  url: string | undefined;
  closed = false;
  minimized = false;
  shown = 0;
  constructor(
    readonly options: BrowserWindowConstructorOptions,
    world: World,
  ) {
    super();
    world.windows.push(this);
    world.events.push('new BrowserWindow');
  }
  async loadURL(url: string): Promise<void> {
    this.url = url;
    this.emit('ready-to-show');
  }
  isDestroyed(): boolean {
    return this.closed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  show(): void {
    this.shown++;
  }
  focus(): void {}
  close(): void {
    this.closed = true;
    this.webContents.destroyed = true;
    this.webContents.emit('destroyed');
    this.emit('closed');
  }
}

class FakeTray implements TrayLike {
  readonly images: string[] = [];
  tooltip = '';
  menu: MenuItemConstructorOptions[] | null = null;
  readonly clickListeners: Array<() => void> = [];
  destroyed = false;
  constructor(image: string, world: World) {
    this.images.push(image);
    world.trays.push(this);
    world.events.push('new Tray');
  }
  setImage(image: string): void {
    this.images.push(image);
  }
  setToolTip(toolTip: string): void {
    this.tooltip = toolTip;
  }
  setContextMenu(menu: object | null): void {
    this.menu = menu as MenuItemConstructorOptions[] | null;
  }
  on(_event: 'click', listener: () => void): this {
    this.clickListeners.push(listener);
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

class FakeSession implements HardenableSession {
  request: Parameters<HardenableSession['setPermissionRequestHandler']>[0] | undefined;
  check: Parameters<HardenableSession['setPermissionCheckHandler']>[0] | undefined;
  device: ((details: unknown) => boolean) | undefined;
  beforeRequest: ((details: BlockableRequest, callback: (response: { cancel: boolean }) => void) => void) | undefined;
  constructor(private readonly world: World) {}
  setPermissionRequestHandler(h: NonNullable<FakeSession['request']>): void {
    this.world.events.push('setPermissionRequestHandler');
    this.request = h;
  }
  setPermissionCheckHandler(h: NonNullable<FakeSession['check']>): void {
    this.check = h;
  }
  setDevicePermissionHandler(h: (details: unknown) => boolean): void {
    this.device = h;
  }
  readonly webRequest = {
    onBeforeRequest: (_filter: { urls: string[] }, listener: NonNullable<FakeSession['beforeRequest']>): void => {
      this.beforeRequest = listener;
    },
  };
}

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
  async invoke(event: InvokeEvent, arg: unknown): Promise<ApiResponse> {
    const l = this.listeners.get(CALL_CHANNEL);
    if (l === undefined) throw new Error(`No handler registered for '${CALL_CHANNEL}'`);
    return (await l(event, arg)) as ApiResponse;
  }
}

const worlds: World[] = [];
const apps: DesktopApp[] = [];
afterEach(async () => {
  // Stop collecting, then close the spool (it holds files in the world's home) before the home goes.
  await Promise.all(
    apps.splice(0).map(async (a) => {
      await a.runtime.stop();
      await a.delivery.shutdown(0).catch(() => {});
    }),
  );
  for (const w of worlds.splice(0)) rmSync(w.home, { recursive: true, force: true });
});

async function launch(opts: { platform?: NodeJS.Platform; argv?: string[]; world?: World } = {}) {
  const world = opts.world ?? new World();
  worlds.push(world);
  world.platform = opts.platform ?? 'linux';
  const { ready } = startDesktopApp(world.api(), {
    platform: world.platform,
    argv: opts.argv ?? ['electron', '.'],
    log: (e) => world.logged.push(e),
    env: {},
    quitGraceMs: 2_000,
  });
  const beforeReady = [...world.events];
  world.readyResolve();
  const app = await ready;
  if (app !== undefined) apps.push(app);
  return { world, app: app!, beforeReady };
}

const target = { id: 'pg-1', engine: 'postgres', host: '127.0.0.1', port: 1, user: 'monitor', database: 'app', connectTimeoutMs: 1000 };

describe('desktop app startup', () => {
  it('locks to one instance, sandboxes every renderer and registers app:// before ready; hardens the session before anything loads', async () => {
    const { world, beforeReady } = await launch();
    expect(beforeReady).toEqual(['requestSingleInstanceLock', 'enableSandbox', 'registerSchemesAsPrivileged']);
    expect(world.schemes).toEqual([
      {
        scheme: 'app',
        privileges: expect.objectContaining({ standard: true, secure: true, bypassCSP: false, allowServiceWorkers: false, corsEnabled: false }),
      },
    ]);
    expect(world.events.slice(3)).toEqual(['ready', 'setPermissionRequestHandler', 'protocol.handle:app', 'new Tray', 'new BrowserWindow']);
    expect(world.app.listenerCount('web-contents-created')).toBe(1);
    expect(world.ipcMain.listeners.has(CALL_CHANNEL)).toBe(true);
    expect(world.session.device?.({})).toBe(false);
  });

  it('a second instance leaves at once; the first one opens its window', async () => {
    const second = new World();
    second.lock = false;
    const { world, app } = await launch({ world: second });
    expect(app).toBeUndefined();
    expect(world.events).toEqual(['requestSingleInstanceLock']);
    expect(world.quitted).toBe(true);

    const { world: first } = await launch();
    first.window!.close();
    first.app.emit('second-instance');
    expect(first.windows).toHaveLength(2);
    expect(first.window!.url).toBe(RENDERER_URL);
  });

  it('opens the window on our app:// page, sandboxed, isolated, without Node, auxclick off, devtools only unpackaged', async () => {
    const { world } = await launch();
    const win = world.window!;
    expect(win.url).toBe('app://logstag/index.html');
    expect(win.shown).toBe(1);
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      disableBlinkFeatures: 'Auxclick',
      devTools: true,
      preload: join(repo, 'dist', 'electron', 'preload.cjs'),
    });
    expect(existsSync(win.options.webPreferences!.preload!)).toBe(true);
    // Its webContents is hardened: no new windows, no navigation away.
    expect(win.webContents.openHandler?.()).toEqual({ action: 'deny' });
    const away = {
      url: 'https://example.com/',
      prevented: false,
      preventDefault() {
        this.prevented = true;
      },
    };
    win.webContents.emit('will-navigate', away);
    expect(away.prevented).toBe(true);
    // So is any other web contents the app ever creates.
    const other = new FakeContents();
    world.app.emit('web-contents-created', {}, other);
    expect(other.openHandler?.()).toEqual({ action: 'deny' });
  });

  it('serves the renderer build through app:// with the CSP header', async () => {
    const { world } = await launch();
    const res = await world.protocolHandler!({ url: RENDERER_URL, method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(RENDERER_CSP_HEADER);
    expect((await world.protocolHandler!({ url: 'app://logstag/../../package.json', method: 'GET' })).status).toBe(404);
  });

  it('started at login: the tray only, no window and (macOS) no dock icon', async () => {
    const { world } = await launch({ platform: 'win32', argv: ['Logstag Agent.exe', ...LOGIN_ARGS] });
    expect(world.windows).toEqual([]);
    expect(world.trays).toHaveLength(1);
    const mac = new World();
    mac.loginItem.wasOpenedAtLogin = true;
    const { world: m } = await launch({ platform: 'darwin', world: mac });
    expect(m.windows).toEqual([]);
    expect(m.dockVisible).toBe(false);
    // macOS activates the app for the launch itself: that opens nothing; opening it again does.
    m.app.emit('activate');
    expect(m.windows).toEqual([]);
    m.app.emit('activate');
    expect(m.windows).toHaveLength(1);
    expect(m.dockVisible).toBe(true);
  });

  it('says why it could not start, instead of running half-configured', async () => {
    const world = new World();
    writeFileSync(join(world.home, 'state.json'), '{ not json');
    const { app } = await launch({ world });
    expect(app).toBeUndefined();
    expect(world.errors).toEqual([{ title: 'Logstag Agent could not start', content: expect.stringContaining('not valid JSON') }]);
    expect(world.exitCode).toBe(1);
  });
});

describe('window policy', () => {
  it('closing the window keeps the agent running in the tray; macOS shows a dock icon only while a window is open', async () => {
    const { world, app } = await launch({ platform: 'darwin' });
    expect(world.dockVisible).toBe(true);
    world.window!.close();
    world.app.emit('window-all-closed');
    expect(world.quitted).toBe(false);
    expect(world.dockVisible).toBe(false);
    expect(world.tray.destroyed).toBe(false);
    // The agent API still answers (the runtime was not stopped).
    expect(await world.call('status.get', {}, RENDERER_URL, new FakeContents())).toMatchObject({ ok: true });
    world.click('Open Logstag Agent');
    expect(world.windows).toHaveLength(2);
    expect(world.dockVisible).toBe(true);
    // Open again while open: the same window comes forward (restored if minimized).
    world.window!.minimized = true;
    app.showWindow();
    expect(world.windows).toHaveLength(2);
    expect(world.window!.minimized).toBe(false);
    world.app.emit('activate');
    expect(world.windows).toHaveLength(2);
  });

  it('Windows/Linux: a click on the tray icon opens the window', async () => {
    const { world } = await launch({ platform: 'win32' });
    world.window!.close();
    world.tray.clickListeners.forEach((l) => l());
    expect(world.windows).toHaveLength(2);
  });
});

describe('tray', () => {
  it('starts in "attention" with no targets, follows the agent, and pausing through the API shows in the tray', async () => {
    const { world } = await launch();
    expect(world.tray.images).toEqual([join(repo, 'build', 'icons', 'tray', 'linux', 'attention.png')]);
    expect(world.tray.tooltip).toBe('Logstag Agent: attention needed\nno targets configured yet');
    for (const img of world.tray.images) expect(existsSync(img)).toBe(true);

    expect(await world.call('settings.update', { paused: true })).toMatchObject({ ok: true, result: { paused: true } });
    expect(world.tray.images.at(-1)).toBe(join(repo, 'build', 'icons', 'tray', 'linux', 'paused.png'));
    expect(world.tray.tooltip).toBe('Logstag Agent: collection paused (0 targets)\nResume from this menu');
    expect(world.menuLabels()).toContain('Resume collection');
    expect(world.menuLabels()).toContain('Collect now (off)');
  });

  it('pause, resume and collect now from the menu drive the same runtime; an unreachable target turns the icon to error', async () => {
    const { world, app } = await launch({ platform: 'darwin' });
    expect(await world.call('targets.create', { target })).toMatchObject({ ok: true });
    await expectEventually(() => expect(app.runtime.status().targets[0]?.problem?.kind).toBe('unreachable'));
    expect(world.tray.images.at(-1)).toBe(join(repo, 'build', 'icons', 'tray', 'macos', 'errorTemplate.png'));
    expect(world.tray.tooltip).toMatch(/^Logstag Agent: 1 of 1 target not collected\npg-1: not reachable$/);

    world.click('Pause collection');
    await expectEventually(() => expect(app.store.settings.paused).toBe(true));
    expect(world.tray.images.at(-1)).toBe(join(repo, 'build', 'icons', 'tray', 'macos', 'pausedTemplate.png'));
    world.click('Resume collection');
    await expectEventually(() => expect(app.store.settings.paused).toBe(false));
    world.click('Collect now');
    await expectEventually(() => expect(world.tray.images.at(-1)).toContain('errorTemplate.png'));
  });

  it('opens the audit ledger (its folder until the first statement; the file shown in its folder when no app opens .jsonl)', async () => {
    const { world } = await launch();
    world.click('Open audit ledger');
    await expectEventually(() => expect(world.opened).toEqual([join(world.home, 'audit')]));
    writeFileSync(join(world.home, 'audit', 'audit.jsonl'), '{}\n');
    world.click('Open audit ledger');
    await expectEventually(() => expect(world.revealed).toEqual([join(world.home, 'audit', 'audit.jsonl')]));
  });

  it('start at login: a checkbox on Windows (with --hidden) and macOS, none on Linux', async () => {
    const { world } = await launch({ platform: 'win32' });
    expect(world.menuLabels()).toContain('Start at login');
    expect(world.tray.menu?.find((m) => m.label === 'Start at login')?.checked).toBe(false);
    world.click('Start at login');
    expect(world.loginItem).toMatchObject({ openAtLogin: true, args: LOGIN_ARGS });
    expect(world.tray.menu?.find((m) => m.label === 'Start at login')?.checked).toBe(true);
    world.click('Start at login');
    expect(world.loginItem.openAtLogin).toBe(false);

    const { world: linux } = await launch({ platform: 'linux' });
    expect(linux.menuLabels().some((l) => l.startsWith('Start at login'))).toBe(false);
  });

  it('quit waits for the agent to stop, then really quits, releasing the tray and the IPC handler', async () => {
    const { world, app } = await launch();
    world.click('Quit Logstag Agent');
    expect(world.quitted).toBe(false); // first before-quit is held while the runtime stops
    await expectEventually(() => expect(world.quitted).toBe(true));
    expect(world.tray.destroyed).toBe(true);
    expect(world.ipcMain.listeners.has(CALL_CHANNEL)).toBe(false);
    await app.store.putTarget({ ...(await import('../../collectors/target.js')).TargetSchema.parse(target), id: 'after-quit' });
    expect(app.runtime.status().targets.find((t) => t.id === 'after-quit')?.state).toBe('never_collected');
  });
});

describe('IPC from the window', () => {
  it('accepts agent API calls from our page only, validated against the contract', async () => {
    const { world } = await launch();
    expect(await world.call('status.get', {})).toMatchObject({ ok: true });
    expect(await world.call('status.get', {}, 'https://evil.example/')).toEqual({
      ok: false,
      error: { code: 'bad_request', message: 'this page is not allowed to call the Logstag agent' },
    });
    expect(await world.call('status.get', {}, 'file:///index.html')).toMatchObject({ ok: false });
    expect(await world.call('settings.update', { paused: 'yes' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await world.call('shell.exec', {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
  });
});

async function expectEventually(check: () => void, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
