/**
 * The desktop app's main process: composition only. The agent (electron/agent)
 * does the work; electron/shell adapts it to Electron.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, type BrowserWindow, dialog, ipcMain, safeStorage, session, type Tray } from 'electron';
import { createHandlers } from './agent/api/handlers.js';
import { AuditLedger } from './agent/audit/ledger.js';
import { TargetMemoryStore } from './agent/collect/memory-store.js';
import { targetStateDir } from './agent/config/paths.js';
import { StateStore } from './agent/config/state-store.js';
import { loadAgentIdentity } from './agent/identity.js';
import { TargetOperations } from './agent/service.js';
import { hardenSession, hardenWebContents } from './shell/hardening.js';
import { registerIpcTransport } from './shell/ipc-transport.js';
import { isOwnRendererUrl } from './shell/renderer-url.js';
import { NameKeyStore } from './agent/secrets/name-key.js';
import { SafeStorageVault } from './shell/safe-storage-vault.js';
import { createTray } from './shell/tray.js';
import { createMainWindow } from './shell/window.js';

const here = fileURLToPath(new URL('.', import.meta.url)); // dist/electron/
const INDEX_HTML = join(here, '..', 'renderer', 'index.html');
const PRELOAD = join(here, 'preload.cjs');

const log = (err: unknown): void => {
  console.error('[logstag]', err instanceof Error ? (err.stack ?? err.message) : err);
};
const isOwnPage = (url: string): boolean => isOwnRendererUrl(url, INDEX_HTML);

/** Held for the life of the app: a Tray that is garbage-collected disappears. */
let tray: Tray | undefined;

async function start(): Promise<void> {
  await app.whenReady();
  hardenSession(session.defaultSession, isOwnPage);

  const home = app.getPath('userData');
  const store = new StateStore(home);
  const audit = new AuditLedger(join(home, 'audit'));
  const agent = loadAgentIdentity(home);
  let vault: SafeStorageVault | undefined;
  const vaultOf = (): SafeStorageVault =>
    (vault ??= new SafeStorageVault(safeStorage, {
      appName: app.getName(),
      log,
      // safeStorage asked for re-encryption (rotated key): keep the fresh blob.
      onReseal: async (blob, resealed) => {
        for (const t of store.targets) {
          if (t.password !== undefined && 'secret' in t.password && t.password.secret === blob) await store.putTarget({ ...t, password: { secret: resealed } });
        }
      },
    }));
  const nameKeys = new NameKeyStore(home, vaultOf);
  // Cursors are committed by whoever stores a payload for delivery; previews never advance them.
  const ops = new TargetOperations(agent, audit, vaultOf, process.env, () => nameKeys.load(), new TargetMemoryStore(targetStateDir(home)));
  const { handlers, disconnect } = createHandlers({ store, ops });
  registerIpcTransport({ ipcMain, handlers, disconnect, isTrustedUrl: isOwnPage, log });

  let win: BrowserWindow | null = null;
  const showWindow = (): void => {
    if (win === null || win.isDestroyed()) {
      win = createMainWindow({ indexHtml: INDEX_HTML, preload: PRELOAD, isOwnPage, devTools: !app.isPackaged, log });
      win.on('closed', () => {
        win = null;
      });
      return;
    }
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };

  tray = createTray({ icon: join(app.getAppPath(), 'build', 'icons', 'tray.png'), onOpen: showWindow, onQuit: () => app.quit() });
  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  showWindow();
}

if (!app.requestSingleInstanceLock()) {
  // Another instance is running; it opens its window (second-instance) and this one leaves.
  app.quit();
} else {
  app.enableSandbox();
  // Every web page the app ever creates gets the same hardening as the main window.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, isOwnPage, log));
  // Closing the window keeps the agent running in the tray; Quit in the tray menu ends it.
  app.on('window-all-closed', () => {});
  start().catch((err: unknown) => {
    log(err);
    dialog.showErrorBox('Logstag Agent could not start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });
}
