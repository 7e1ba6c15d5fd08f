/**
 * Electron IPC as a transport of the agent API: the renderer's `window.logstag`
 * calls arrive on one invoke channel and go through the same `dispatch` as every
 * other transport; feed events go back to the webContents that subscribed.
 *
 * The Electron objects are passed in, typed by the narrow views below, which
 * Electron's own IpcMain and WebContents satisfy (checked at compile time at the
 * end of this file), so the logic unit-tests with plain fakes.
 */
import type { IpcMain, WebContents } from 'electron';
import type { FeedEvent, Response } from '../../contract/api.js';
import { type Connection, dispatch, type Handlers } from '../../agent/api/handlers.js';

export const CALL_CHANNEL = 'logstag:call';
export const EVENT_CHANNEL = 'logstag:event';

/** The part of a WebContents the transport uses. */
export interface IpcSender {
  readonly id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  once(event: 'destroyed', listener: () => void): unknown;
  on(event: 'render-process-gone', listener: () => void): unknown;
  on(event: 'did-start-navigation', listener: (details: { isMainFrame: boolean; isSameDocument: boolean }) => void): unknown;
}

/** The part of an IpcMainInvokeEvent the transport uses. */
export interface InvokeEvent {
  readonly sender: IpcSender;
  readonly senderFrame: { readonly url: string; readonly parent: unknown } | null;
}

/** The part of ipcMain the transport uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface IpcTransportOptions {
  ipcMain: IpcMainLike;
  handlers: Handlers;
  /** From createHandlers: drops a connection's feed subscriptions. */
  disconnect(conn: Connection): void;
  /** Whether a frame URL is our own renderer page (see isOwnRendererUrl). */
  isTrustedUrl(url: string): boolean;
  log?: (err: unknown) => void;
}

const refuse = (message: string): Response => ({ ok: false, error: { code: 'bad_request', message } });

export function registerIpcTransport(opts: IpcTransportOptions): { dispose(): void } {
  const log = opts.log ?? (() => {});
  const connections = new Map<number, Connection>();
  const watched = new Set<number>();

  const drop = (id: number): void => {
    const conn = connections.get(id);
    if (conn === undefined) return;
    connections.delete(id);
    opts.disconnect(conn);
  };

  const connectionFor = (sender: IpcSender): Connection => {
    const existing = connections.get(sender.id);
    if (existing !== undefined) return existing;
    const conn: Connection = {
      emit(event: FeedEvent) {
        if (!sender.isDestroyed()) sender.send(EVENT_CHANNEL, event);
      },
    };
    connections.set(sender.id, conn);
    if (!watched.has(sender.id)) {
      watched.add(sender.id);
      // A closed window, a crashed renderer or a new page: its subscriptions end with it.
      sender.once('destroyed', () => {
        drop(sender.id);
        watched.delete(sender.id);
      });
      sender.on('render-process-gone', () => drop(sender.id));
      sender.on('did-start-navigation', (details) => {
        if (details.isMainFrame && !details.isSameDocument) drop(sender.id);
      });
    }
    return conn;
  };

  opts.ipcMain.handle(CALL_CHANNEL, async (event, request): Promise<Response> => {
    const frame = event.senderFrame;
    if (frame === null || frame.parent !== null || !opts.isTrustedUrl(frame.url)) {
      log(new Error(`refused an agent API call from ${frame === null ? 'a frame that is gone' : `frame ${JSON.stringify(frame.url.slice(0, 200))}`}`));
      return refuse('this page is not allowed to call the Logstag agent');
    }
    if (request === null || typeof request !== 'object') return refuse('malformed request: expected { method, params }');
    const { method, params } = request as { method?: unknown; params?: unknown };
    return dispatch(opts.handlers, { method, params }, connectionFor(event.sender), log);
  });

  return {
    dispose() {
      opts.ipcMain.removeHandler(CALL_CHANNEL);
      for (const id of [...connections.keys()]) drop(id);
    },
  };
}

// Electron's real objects fit the narrow views above (a compile error here means the Electron API moved).
type Fits<A, B> = A extends B ? true : false;
export type ElectronFitsTransport = [Fits<IpcMain, IpcMainLike>, Fits<WebContents, IpcSender>] extends [true, true] ? true : never;
const electronFits: ElectronFitsTransport = true;
void electronFits;
