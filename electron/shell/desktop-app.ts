/**
 * The desktop app's main process, composed: the agent runtime (agent/)
 * behind the tray, the window and the IPC transport, with every hardening step
 * in the order Electron needs it. Electron's modules are passed in (main.ts
 * hands over the real ones), typed by the narrow views below that Electron's own
 * types satisfy (checked at compile time at the end of this file), so the whole
 * startup, tray and quit sequence unit-tests in plain Node with fakes.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CustomScheme } from 'electron';
import { createHandlers } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { RecentHistory } from '../../agent/state/recent-history.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { AppDelivery } from '../../agent/delivery/app-delivery.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { loadAgentIdentity } from '../../agent/identity.js';
import { AgentRuntime, type DeliveryHealth } from '../../agent/run/app-runtime.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { type HardenableContents, type HardenableSession, hardenSession, hardenWebContents } from './hardening.js';
import { type IpcMainLike, registerIpcTransport } from './ipc-transport.js';
import { createRendererProtocolHandler, type ProtocolRequest } from './renderer-protocol.js';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, isOwnRendererUrl } from './renderer-url.js';
import { type SafeStorageApi, SafeStorageVault } from './safe-storage-vault.js';
import { createTrayController, type MenuFactory, type TrayConstructor, type TrayController } from './tray.js';
import { type LoginItemState, trayViewOf } from './tray-state.js';
import { createMainWindow, type WindowConstructor, type WindowLike } from './window.js';

/** The part of `app` the main process uses. */
export interface AppLike {
  readonly isPackaged: boolean;
  /** macOS only. */
  readonly dock?: { show(): Promise<void>; hide(): void } | undefined;
  requestSingleInstanceLock(): boolean;
  enableSandbox(): void;
  whenReady(): Promise<void>;
  quit(): void;
  exit(exitCode?: number): void;
  getPath(name: 'userData'): string;
  getName(): string;
  getAppPath(): string;
  getLoginItemSettings(options?: { args?: string[] }): { openAtLogin: boolean; wasOpenedAtLogin?: boolean };
  setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }): void;
  on(event: 'second-instance', listener: () => void): unknown;
  on(event: 'activate', listener: () => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: HardenableContents) => void): unknown;
}

/** The Electron modules the main process uses. */
export interface ElectronApi {
  app: AppLike;
  BrowserWindow: WindowConstructor;
  Tray: TrayConstructor;
  Menu: MenuFactory;
  ipcMain: IpcMainLike;
  safeStorage: SafeStorageApi;
  session: { readonly defaultSession: HardenableSession };
  protocol: {
    registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: ProtocolRequest) => Promise<Response>): void;
  };
  shell: { openPath(path: string): Promise<string>; showItemInFolder(fullPath: string): void };
  dialog: { showErrorBox(title: string, content: string): void };
}

export interface DesktopAppOptions {
  platform?: NodeJS.Platform;
  argv?: readonly string[];
  log?: (err: unknown) => void;
  env?: NodeJS.ProcessEnv;
  /** How long quitting waits for cycles in flight (default 10 s). */
  quitGraceMs?: number;
}

/** What startup produced (for tests; the app itself needs none of it). */
export interface DesktopApp {
  runtime: AgentRuntime;
  delivery: AppDelivery;
  tray: TrayController;
  store: StateStore;
  showWindow(): void;
  readonly window: WindowLike | null;
}

/** Windows: the login item starts the app with this flag, so it opens in the tray only. */
export const LOGIN_ARGS = ['--hidden'];

const defaultLog = (err: unknown): void => {
  console.error('[logstag]', err instanceof Error ? (err.stack ?? err.message) : err);
};

/**
 * Starts the app. Before `ready`: the single-instance lock, the app-wide sandbox,
 * the app:// scheme and the hardening of every web contents ever created.
 * After: the session's permission and request policy, the protocol handler, the
 * agent, the IPC transport, the tray and (unless started at login) the window.
 */
export function startDesktopApp(e: ElectronApi, opts: DesktopAppOptions = {}): { ready: Promise<DesktopApp | undefined> } {
  const platform = opts.platform ?? process.platform;
  const argv = opts.argv ?? process.argv;
  const log = opts.log ?? defaultLog;
  const logMsg = (msg: string): void => log(msg);

  if (!e.app.requestSingleInstanceLock()) {
    // Another instance is running; it opens its window (second-instance) and this one leaves.
    e.app.quit();
    return { ready: Promise.resolve(undefined) };
  }
  // Every renderer sandboxed, whatever window options say.
  e.app.enableSandbox();
  e.protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }]);
  // Every web page the app ever creates gets the same hardening as the main window.
  e.app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, isOwnRendererUrl, logMsg));
  // Closing the window keeps the agent running in the tray; Quit in the tray menu ends it.
  e.app.on('window-all-closed', () => {});
  // Started at login (Windows passes LOGIN_ARGS; macOS says so): the tray only.
  let atLoginCached: boolean | undefined;
  const startedAtLogin = (): boolean =>
    (atLoginCached ??= argv.includes(LOGIN_ARGS[0]!) || (platform === 'darwin' && e.app.getLoginItemSettings().wasOpenedAtLogin === true));
  // Registered before ready so a second launch during startup is not lost.
  let showWindow: (() => void) | undefined;
  let showWhenReady = false;
  const onSecondLaunch = (): void => {
    if (showWindow === undefined) showWhenReady = true;
    else showWindow();
  };
  e.app.on('second-instance', onSecondLaunch);
  // macOS: opening the app again (Finder, Spotlight) activates the running one. The
  // launch itself is an activation too: started at login, that one opens nothing.
  let activations = 0;
  e.app.on('activate', () => {
    activations++;
    if (activations === 1 && startedAtLogin()) return;
    onSecondLaunch();
  });

  const start = async (): Promise<DesktopApp> => {
    await e.app.whenReady();
    const appRoot = e.app.getAppPath();
    hardenSession(e.session.defaultSession, isOwnRendererUrl, logMsg);
    e.protocol.handle(APP_SCHEME, createRendererProtocolHandler({ root: join(appRoot, 'dist', 'renderer'), log: logMsg }));

    const home = e.app.getPath('userData');
    const store = new StateStore(home);
    const audit = new AuditLedger(join(home, 'audit'));
    const agent = loadAgentIdentity(home);
    let vault: SafeStorageVault | undefined;
    const vaultOf = (): SafeStorageVault =>
      (vault ??= new SafeStorageVault(e.safeStorage, {
        appName: e.app.getName(),
        log,
        // safeStorage asked for re-encryption (rotated key): keep the fresh blob.
        onReseal: async (blob, resealed) => {
          for (const t of store.targets) {
            if (t.password !== undefined && 'secret' in t.password && t.password.secret === blob)
              await store.putTarget({ ...t, password: { secret: resealed } });
          }
        },
      }));
    const env = opts.env ?? process.env;
    const nameKeys = new NameKeyStore(home, vaultOf);
    // Slow-log cursors advance only once a payload is in the spool (see runtime); previews never move them.
    const ops = new TargetOperations(agent, audit, vaultOf, env, () => nameKeys.load(), new TargetMemoryStore(targetStateDir(home)));
    const delivery = new AppDelivery({ home, agent, store, vault: vaultOf, env, log: logMsg });
    let deliveryHealth: DeliveryHealth | undefined;
    const deliver = async (payload: Parameters<AppDelivery['put']>[0]) => {
      const stored = await delivery.put(payload);
      const st = await delivery.status();
      deliveryHealth = { pending: st.backlog.payloads, ...(st.lastError === null ? {} : { failing: st.lastError }) };
      return stored;
    };
    const runtime = new AgentRuntime({ store, ops, deliver, delivery: () => deliveryHealth, log, platform });
    // The charts' recent history, kept beside the slow-log cursors so an app restart keeps it (bounded per target).
    const history = new RecentHistory(targetStateDir(home));
    const { handlers, disconnect } = createHandlers({ store, ops, delivery, history, log });
    const transport = registerIpcTransport({ ipcMain: e.ipcMain, handlers, disconnect, isTrustedUrl: isOwnRendererUrl, log });

    let win: WindowLike | null = null;
    const show = (): void => {
      if (win === null || win.isDestroyed()) {
        const created = createMainWindow(e.BrowserWindow, {
          preload: join(appRoot, 'dist', 'electron', 'preload.cjs'),
          isOwnPage: isOwnRendererUrl,
          devTools: !e.app.isPackaged,
          log: logMsg,
        });
        win = created;
        // macOS: a dock icon only while a window is open.
        e.app.dock?.show().catch(log);
        created.on('closed', () => {
          if (win === created) win = null;
          e.app.dock?.hide();
        });
        return;
      }
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
    };

    const loginSupported = platform === 'darwin' || platform === 'win32';
    const loginOptions = platform === 'win32' ? { args: LOGIN_ARGS } : {};
    const loginItem = (): LoginItemState =>
      loginSupported ? { supported: true, enabled: e.app.getLoginItemSettings(loginOptions).openAtLogin } : { supported: false, enabled: false };

    const openLedger = async (): Promise<void> => {
      if (!existsSync(audit.file)) {
        const err = await e.shell.openPath(dirname(audit.file));
        if (err !== '') log(new Error(`could not open ${dirname(audit.file)}: ${err}`));
        return;
      }
      // No app registered for .jsonl: show the file in its folder instead.
      const err = await e.shell.openPath(audit.file);
      if (err !== '') e.shell.showItemInFolder(audit.file);
    };

    const tray: TrayController = createTrayController(
      {
        Tray: e.Tray,
        Menu: e.Menu,
        iconsDir: join(appRoot, 'build', 'icons', 'tray'),
        platform,
        loginItem,
        actions: {
          open: show,
          pause: () => void runtime.pause().catch(log),
          resume: () => void runtime.resume().catch(log),
          collect: () => void runtime.collectNow().catch(log),
          ledger: () => void openLedger().catch(log),
          login: () => {
            e.app.setLoginItemSettings({ openAtLogin: !loginItem().enabled, ...loginOptions });
            tray.refreshMenu();
          },
          quit: () => e.app.quit(),
        },
      },
      trayViewOf(runtime.status()),
    );
    runtime.on('change', () => tray.update(trayViewOf(runtime.status())));

    // Quitting waits (briefly) for cycles in flight, so no payload is cut in half.
    let stopping: Promise<void> | undefined;
    let stopped = false;
    e.app.on('before-quit', (event) => {
      if (stopped) return;
      event.preventDefault();
      // Cycles in flight finish and land in the spool; then a short flush ships what it can (the rest waits on disk).
      const stopAll = async (): Promise<void> => {
        await runtime.stop();
        // The targets' state made durable, so the next start goes on with deltas (without it: full values once).
        await ops.memory?.close().catch(log);
        await delivery.shutdown(3000);
      };
      stopping ??= Promise.race([stopAll(), new Promise<void>((r) => setTimeout(r, opts.quitGraceMs ?? 10_000).unref())])
        .catch(log)
        .finally(() => {
          stopped = true;
          transport.dispose();
          tray.destroy();
          e.app.quit();
        });
    });

    runtime.start();
    showWindow = show;
    if (!startedAtLogin() || showWhenReady) show();
    else e.app.dock?.hide();
    return {
      runtime,
      delivery,
      tray,
      store,
      showWindow: show,
      get window() {
        return win;
      },
    };
  };

  const ready = start().catch((err: unknown) => {
    log(err);
    e.dialog.showErrorBox('Logstag Agent could not start', err instanceof Error ? err.message : String(err));
    e.app.exit(1);
    return undefined;
  });
  return { ready };
}

// Electron's real modules fit the narrow views above (a compile error here means the Electron API moved).
type Fits<A, B> = A extends B ? true : false;
type ElectronModules = typeof import('electron');
export type ElectronFitsDesktopApp = Fits<Pick<ElectronModules, keyof ElectronApi>, ElectronApi> extends true ? true : never;
const electronFits: ElectronFitsDesktopApp = true;
void electronFits;
