import { Menu, nativeImage, Tray } from 'electron';

export interface TrayOptions {
  /** build/icons/tray.png; Electron picks tray@2x.png next to it on high-DPI screens. */
  icon: string;
  onOpen(): void;
  onQuit(): void;
}

/** The tray icon: the app keeps running here when its window is closed. */
export function createTray(opts: TrayOptions): Tray {
  const image = nativeImage.createFromPath(opts.icon);
  if (process.platform === 'darwin') image.setTemplateImage(true);
  const tray = new Tray(image);
  tray.setToolTip('Logstag Agent');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Open Logstag Agent', click: opts.onOpen },
      { type: 'separator' },
      { label: 'Quit', click: opts.onQuit },
    ]),
  );
  // Windows and Linux: a click on the icon opens the window (macOS shows the menu).
  tray.on('click', opts.onOpen);
  return tray;
}
