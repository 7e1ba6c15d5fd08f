/** The app window: no Node, a sandboxed renderer behind contextIsolation, hardened (hardening.ts). */
import { BrowserWindow } from 'electron';
import { hardenWebContents } from './hardening.js';

export interface MainWindowOptions {
  indexHtml: string;
  preload: string;
  isOwnPage: (url: string) => boolean;
  devTools: boolean;
  log?: (msg: string) => void;
}

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 800,
    minWidth: 640,
    minHeight: 480,
    show: false,
    title: 'Logstag Agent',
    autoHideMenuBar: true,
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: opts.devTools,
    },
  });
  hardenWebContents(win.webContents, opts.isOwnPage, opts.log);
  win.once('ready-to-show', () => win.show());
  win.loadFile(opts.indexHtml).catch((err: unknown) => opts.log?.(`the window could not load ${opts.indexHtml}: ${err instanceof Error ? err.message : String(err)}`));
  return win;
}
