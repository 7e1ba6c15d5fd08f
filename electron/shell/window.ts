/**
 * The app window: no Node, a sandboxed renderer behind contextIsolation, our
 * app:// page only, hardened (hardening.ts). The BrowserWindow class is passed
 * in, typed by the narrow view below that Electron's own class satisfies
 * (checked at compile time at the end of this file).
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { type HardenableContents, hardenWebContents } from './hardening.js';
import { RENDERER_URL } from './renderer-url.js';

/** The part of a BrowserWindow the app uses. */
export interface WindowLike {
  readonly webContents: HardenableContents;
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
}

export type WindowConstructor = new (options: BrowserWindowConstructorOptions) => WindowLike;

export interface MainWindowOptions {
  preload: string;
  isOwnPage: (url: string) => boolean;
  devTools: boolean;
  log?: (msg: string) => void;
}

/**
 * Opens the window on our app:// page. The constructor is passed in; it is named
 * BrowserWindow and the options are written out in the call so static scanners
 * (Electronegativity) see every webPreferences item of Electron's checklist.
 */
export function createMainWindow<W extends WindowLike>(BrowserWindow: new (options: BrowserWindowConstructorOptions) => W, opts: MainWindowOptions): W {
  const win = new BrowserWindow({
    width: 1180,
    height: 800,
    minWidth: 640,
    minHeight: 480,
    show: false,
    title: 'Logstag Agent',
    autoHideMenuBar: true,
    webPreferences: {
      // Sandboxed preload (electron/preload.cts): exposes window.logstag.call/onEvent only.
      preload: opts.preload,
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
      // Middle-click (auxclick) must not open links in new windows.
      disableBlinkFeatures: 'Auxclick',
      safeDialogs: true,
      spellcheck: false,
      devTools: opts.devTools,
    },
  });
  hardenWebContents(win.webContents, opts.isOwnPage, opts.log);
  win.once('ready-to-show', () => win.show());
  win
    .loadURL(RENDERER_URL)
    .catch((err: unknown) => opts.log?.(`the window could not load ${RENDERER_URL}: ${err instanceof Error ? err.message : String(err)}`));
  return win;
}

// Electron's real class fits the narrow view above (a compile error here means the Electron API moved).
type Fits<A, B> = A extends B ? true : false;
export type ElectronFitsWindow = [Fits<BrowserWindow, WindowLike>, Fits<typeof BrowserWindow, WindowConstructor>] extends [true, true] ? true : never;
const electronFits: ElectronFitsWindow = true;
void electronFits;
