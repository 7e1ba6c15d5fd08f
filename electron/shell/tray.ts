/**
 * The tray icon: the app keeps running here when its window is closed. Shows
 * the state trayViewOf computes (icon, tooltip, menu); the Electron Tray class
 * and Menu are passed in, typed by the narrow views below that Electron's own
 * satisfy (checked at compile time at the end of this file).
 */
import { join } from 'node:path';
import type { Menu, MenuItemConstructorOptions, Tray } from 'electron';
import { type LoginItemState, type TrayAction, trayIconFile, trayMenu, type TrayMenuEntry, type TrayState, type TrayView } from './tray-state.js';

/** The part of a Tray the app uses. An image path: Electron finds @2x files and macOS "…Template" images by name. */
export interface TrayLike {
  setImage(image: string): void;
  setToolTip(toolTip: string): void;
  setContextMenu(menu: object | null): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}
export type TrayConstructor = new (image: string) => TrayLike;

/** The part of Menu the app uses. */
export interface MenuFactory {
  buildFromTemplate(template: MenuItemConstructorOptions[]): object;
}

export interface TrayControllerOptions {
  Tray: TrayConstructor;
  Menu: MenuFactory;
  /** build/icons/tray (inside app.asar when packaged). */
  iconsDir: string;
  platform: NodeJS.Platform;
  actions: Record<TrayAction, () => void>;
  /** Read each time the menu is built: the OS is the truth about login items. */
  loginItem(): LoginItemState;
}

export interface TrayController {
  readonly state: TrayState | undefined;
  update(view: TrayView): void;
  /** Rebuilds the menu (e.g. after the login item changed). */
  refreshMenu(): void;
  destroy(): void;
}

/** Our menu entries as Electron menu items, each action bound to its handler. */
export function menuTemplate(entries: readonly TrayMenuEntry[], actions: Record<TrayAction, () => void>): MenuItemConstructorOptions[] {
  return entries.map((e): MenuItemConstructorOptions => {
    if (e.type === 'separator') return { type: 'separator' };
    const action = e.action;
    const click = action === undefined ? undefined : actions[action];
    return {
      type: e.type,
      label: e.label,
      enabled: e.enabled,
      ...(e.type === 'checkbox' ? { checked: e.checked } : {}),
      ...(click === undefined ? {} : { click: () => click() }),
    };
  });
}

export function createTrayController(opts: TrayControllerOptions, initial: TrayView): TrayController {
  const icon = (state: TrayState): string => join(opts.iconsDir, trayIconFile(state, opts.platform));
  const tray = new opts.Tray(icon(initial.state));
  let state: TrayState | undefined = initial.state;
  let last: TrayView | undefined;
  const apply = (view: TrayView): void => {
    if (view.state !== state) tray.setImage(icon(view.state));
    state = view.state;
    if (last === undefined || last.tooltip !== view.tooltip) tray.setToolTip(view.tooltip);
    // Rebuilt each time: labels (pause/resume) and the login checkbox change.
    tray.setContextMenu(opts.Menu.buildFromTemplate(menuTemplate(trayMenu(view, opts.loginItem()), opts.actions)));
    last = view;
  };
  apply(initial);
  // Windows and Linux: a click on the icon opens the window (macOS shows the menu).
  if (opts.platform !== 'darwin') tray.on('click', opts.actions.open);
  return {
    get state() {
      return state;
    },
    update(view) {
      if (state === undefined) return;
      if (
        last !== undefined &&
        last.tooltip === view.tooltip &&
        last.state === view.state &&
        last.paused === view.paused &&
        last.canCollect === view.canCollect &&
        last.headline === view.headline
      ) {
        return;
      }
      apply(view);
    },
    refreshMenu() {
      if (state !== undefined && last !== undefined) apply(last);
    },
    destroy() {
      state = undefined;
      tray.destroy();
    },
  };
}

// Electron's real objects fit the narrow views above (a compile error here means the Electron API moved).
type Fits<A, B> = A extends B ? true : false;
export type ElectronFitsTray = [Fits<Tray, TrayLike>, Fits<typeof Tray, TrayConstructor>, Fits<typeof Menu, MenuFactory>] extends [true, true, true]
  ? true
  : never;
const electronFits: ElectronFitsTray = true;
void electronFits;
