/**
 * The desktop app's main process. The composition lives in
 * shell/desktop-app.ts, which takes Electron's modules as arguments so it can be
 * unit-tested without Electron; this file only hands it the real ones.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, safeStorage, session, shell, Tray } from 'electron';
import { boundHeapGrowth } from '../agent/run/heap-growth.js';
import { startDesktopApp } from './shell/desktop-app.js';

// The agent runs in this process: its heap is bounded as the CLI's is (agent/run/heap-growth.ts).
boundHeapGrowth();

startDesktopApp({ app, BrowserWindow, dialog, ipcMain, Menu, protocol, safeStorage, session, shell, Tray });
