// Shared setup of the end-to-end specs: the production renderer build served through
// the app's own app:// protocol handler, Debian's Chromium driven by Playwright, and
// `window.logstag` backed by the real agent API handler table, per spec file (useApp).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { FeedEvent } from '../../contract/api.js';
import { type Connection, createHandlers, dispatch, type HandlerDeps } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { VaultError } from '../../agent/secrets/vault.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { TargetMemoryStore } from '../../agent/state/target-memory-store.js';
import { RecentHistory } from '../../agent/state/recent-history.js';
import { createRendererProtocolHandler } from '../../electron/shell/renderer-protocol.js';
import { APP_ORIGIN } from '../../electron/shell/renderer-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const distDir = join(root, 'dist', 'renderer');
const shotDir = fileURLToPath(new URL('./__screenshots__/', import.meta.url));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/**
 * Serves dist/renderer on 127.0.0.1 through the app's own app:// protocol handler
 * (the same files, path checks and CSP/security headers the desktop app serves;
 * Chromium will not run module scripts from file://). "/" is the page.
 */
export async function serveRenderer(): Promise<{ server: Server; base: string }> {
  const handler = createRendererProtocolHandler({ root: distDir });
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const answer = await handler({ url: `${APP_ORIGIN}${path === '/' ? '/index.html' : path}`, method: req.method ?? 'GET' });
      res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(Buffer.from(await answer.arrayBuffer()));
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The real agent API on a fresh home directory. The vault is never available here. */
export function agentApi(env: NodeJS.ProcessEnv = {}, delivery?: HandlerDeps['delivery'], feedBytes?: HandlerDeps['feedBytes']) {
  const home = mkdtempSync(join(tmpdir(), 'e2e-agent-'));
  const store = new StateStore(home);
  const noVault = () => {
    throw new VaultError('unavailable', 'no OS keystore in this test');
  };
  const nameKeys = new NameKeyStore(home, noVault);
  const ledger = new AuditLedger(join(home, 'audit'));
  // As the app wires it: per-target state between cycles in the home's target-state folder.
  const ops = new TargetOperations(
    { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'e2e-host' },
    ledger,
    noVault,
    env,
    () => nameKeys.load(),
    new TargetMemoryStore(targetStateDir(home)),
  );
  // As the app wires it: the charts' recent history kept in the home's target-state folder.
  const history = new RecentHistory(targetStateDir(home));
  const api = createHandlers({
    store,
    ops,
    history,
    ...(delivery === undefined ? {} : { delivery }),
    ...(feedBytes === undefined ? {} : { feedBytes }),
  });
  return { home, store, ops, ledger, history, ...api };
}
export type AgentApi = ReturnType<typeof agentApi>;

// What the preload provides in the app, here over Playwright bindings.
const BRIDGE = `(() => {
  const listeners = new Set();
  const call = window.__logstagCall;
  const reportCsp = window.__logstagCspViolation;
  document.addEventListener('securitypolicyviolation', (e) => reportCsp(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline code') + ' at ' + e.sourceFile + ':' + e.lineNumber));
  const emit = (e) => { for (const cb of listeners) cb(e); };
  Object.defineProperty(window, '__logstagEmit', { value: emit });
  window.logstag = Object.freeze({
    call: (method, params) => call({ method, params }),
    onEvent: (cb) => { listeners.add(cb); return () => listeners.delete(cb); },
  });
})();`;

export interface AppPage {
  page: Page;
  /** Console errors and warnings, page errors, CSP violations and agent-side internal errors: must stay empty. */
  problems: string[];
  /** The size (JSON characters) of each feed event sent to the page: what its transport carries per preview. */
  eventSizes: number[];
}

export async function openApp(browser: Browser, base: string, api: AgentApi): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const eventSizes: number[] = [];
  const conn: Connection = {
    emit: (event: FeedEvent) => {
      const text = JSON.stringify(event);
      eventSizes.push(text.length);
      page.evaluate(`window.__logstagEmit(${text})`).catch(() => {});
    },
  };
  await page.exposeBinding('__logstagCall', (_source, message: unknown) =>
    dispatch(api.handlers, message, conn, (err) => problems.push(`agent: ${String(err)}`)),
  );
  await page.exposeBinding('__logstagCspViolation', (_source, what: unknown) => problems.push(`CSP violation: ${String(what)}`));
  await page.addInitScript({ content: BRIDGE });
  page.on('close', () => api.disconnect(conn));
  await page.goto(`${base}/index.html`);
  await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
  return { page, problems, eventSizes };
}

/** Saves the whole page, or just one element (a long page is scaled down too far to look at). */
export async function screenshot(page: Page, name: string, element?: Locator): Promise<void> {
  mkdirSync(shotDir, { recursive: true });
  const path = join(shotDir, `${name}.png`);
  await (element ? element.screenshot({ path }) : page.screenshot({ path, fullPage: true }));
}

/** Starts the server and Chromium for a spec file; `env()` gives the live handles. */
export function useApp(): {
  browser: () => Browser;
  base: () => string;
  api: (env?: NodeJS.ProcessEnv, delivery?: HandlerDeps['delivery'], feedBytes?: HandlerDeps['feedBytes']) => AgentApi;
} {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let base = '';
  const homes: string[] = [];
  beforeAll(async () => {
    if (!existsSync(join(distDir, 'index.html'))) {
      const { build } = await import('vite');
      await build({ configFile: join(root, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
    }
    ({ server, base } = await serveRenderer());
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });
  return {
    browser: () => {
      if (browser === undefined) throw new Error('browser not started');
      return browser;
    },
    base: () => base,
    api: (env = {}, delivery, feedBytes) => {
      const a = agentApi(env, delivery, feedBytes);
      homes.push(a.home);
      return a;
    },
  };
}

/** Goes to a screen through the navigation. */
export async function gotoScreen(page: Page, name: 'Dashboard' | 'Setup wizard' | 'Live feed' | 'Readiness' | 'Settings'): Promise<void> {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
}

/** Adds a target through the dashboard's Add target form. */
export async function addTarget(
  page: Page,
  t: { id: string; name?: string; host: string; port: string; user: string; database?: string; env?: string },
): Promise<void> {
  const form = page.getByRole('form', { name: 'Add a target' });
  // A first run opens the setup wizard: the form is on the dashboard.
  if (!(await page.getByRole('heading', { name: 'Targets', level: 2 }).isVisible())) await gotoScreen(page, 'Dashboard');
  if (!(await form.isVisible())) await page.getByRole('button', { name: 'Add target' }).click();
  await form.getByLabel('ID').fill(t.id);
  if (t.name) await form.getByLabel('Display name').fill(t.name);
  await form.getByLabel('Host').fill(t.host);
  await form.getByLabel('Port').fill(t.port);
  await form.getByLabel('User').fill(t.user);
  if (t.database) await form.getByLabel('Database').fill(t.database);
  if (t.env) {
    await form.getByLabel('From an environment variable').check();
    await form.getByLabel('Variable name').fill(t.env);
  }
  await form.getByRole('button', { name: 'Add target' }).click();
  await page.getByRole('heading', { name: t.name ?? t.id, level: 3 }).waitFor();
}

export const card = (page: Page, name: string) => page.getByRole('article', { name });
