// The preload of the app window. Sandboxed preloads run as CommonJS and may only
// require 'electron': this file stays self-contained. It exposes exactly two
// functions as window.logstag; ipcRenderer itself never reaches the page.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is CommonJS and may only require('electron')
import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

const CALL_CHANNEL = 'logstag:call';
const EVENT_CHANNEL = 'logstag:event';

contextBridge.exposeInMainWorld('logstag', {
  call(method: unknown, params?: unknown): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0 || method.length > 64) {
      return Promise.reject(new TypeError('logstag.call: method must be a non-empty string'));
    }
    return ipcRenderer.invoke(CALL_CHANNEL, { method, params });
  },
  onEvent(cb: unknown): () => void {
    if (typeof cb !== 'function') throw new TypeError('logstag.onEvent: expected a function');
    // Only the event itself is passed on, never the IpcRendererEvent (it carries the sender).
    const listener = (_event: Electron.IpcRendererEvent, payload: unknown): void => {
      (cb as (e: unknown) => void)(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, listener);
    };
  },
});
