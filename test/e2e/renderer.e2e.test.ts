// End to end: Debian's Chromium (Playwright) drives the production renderer build
// (dist/renderer, served from 127.0.0.1 by the app's own app:// protocol handler, so
// under the same CSP header and meta tag as in the app), with `window.logstag`
// supplied by the test (exposeBinding) and backed by the real agent API handler
// table: a real StateStore and audit ledger in a temp dir, and for the second
// suite the real PostgreSQL of the test harness behind it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FeedEvent } from '../../electron/agent/api/contract.js';
import { type Connection, createHandlers, dispatch } from '../../electron/agent/api/handlers.js';
import { AuditLedger } from '../../electron/agent/audit/ledger.js';
import { StateStore } from '../../electron/agent/config/state-store.js';
import { NameKeyStore } from '../../electron/agent/secrets/name-key.js';
import { VaultError } from '../../electron/agent/secrets/vault.js';
import { TargetOperations } from '../../electron/agent/service.js';
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
async function serveRenderer(): Promise<{ server: Server; base: string }> {
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
function agentApi(env: NodeJS.ProcessEnv = {}) {
  const home = mkdtempSync(join(tmpdir(), 'e2e-agent-'));
  const store = new StateStore(home);
  const noVault = () => {
    throw new VaultError('unavailable', 'no OS keystore in this test');
  };
  const nameKeys = new NameKeyStore(home, noVault);
  const ledger = new AuditLedger(join(home, 'audit'));
  const ops = new TargetOperations({ id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'e2e-host' }, ledger, noVault, env, () => nameKeys.load());
  const api = createHandlers({ store, ops });
  return { home, store, ops, ledger, ...api };
}
type AgentApi = ReturnType<typeof agentApi>;

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

interface AppPage {
  page: Page;
  /** Console errors and warnings, page errors, CSP violations and agent-side internal errors: must stay empty. */
  problems: string[];
}

async function openApp(browser: Browser, base: string, api: AgentApi): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const conn: Connection = {
    emit: (event: FeedEvent) => {
      page.evaluate(`window.__logstagEmit(${JSON.stringify(event)})`).catch(() => {});
    },
  };
  await page.exposeBinding('__logstagCall', (_source, message: unknown) => dispatch(api.handlers, message, conn, (err) => problems.push(`agent: ${String(err)}`)));
  await page.exposeBinding('__logstagCspViolation', (_source, what: unknown) => problems.push(`CSP violation: ${String(what)}`));
  await page.addInitScript({ content: BRIDGE });
  page.on('close', () => api.disconnect(conn));
  await page.goto(`${base}/index.html`);
  await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
  return { page, problems };
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: true });
}

async function addTarget(page: Page, t: { id: string; name?: string; host: string; port: string; user: string; database?: string; env?: string }): Promise<void> {
  const form = page.getByRole('form', { name: 'Add a target' });
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

const card = (page: Page, name: string) => page.getByRole('article', { name });

let browser: Browser;
let server: Server;
let base: string;
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
  await new Promise((ok) => server?.close(ok));
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe('renderer (production build) over the real agent API', () => {
  it('adds a target through the form, with validation, and lists it', async () => {
    const api = agentApi();
    homes.push(api.home);
    const { page, problems } = await openApp(browser, base, api);

    // Header from status.get.
    await expect(page.getByText('5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21').isVisible()).resolves.toBe(true);
    await expect(page.getByText('e2e-host').isVisible()).resolves.toBe(true);
    await expect(page.getByText('Running', { exact: true }).isVisible()).resolves.toBe(true);

    // No targets yet: the form is open. Submitting it empty explains each field and focuses the first.
    const form = page.getByRole('form', { name: 'Add a target' });
    await form.getByRole('button', { name: 'Add target' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/need attention/);
    await expect(form.getByLabel('ID').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(form.getByLabel('Database').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('add-target-id');
    await form.getByLabel('ID').fill('bad id!');
    await form.getByLabel('Port').fill('70000');
    await form.getByRole('button', { name: 'Add target' }).click();
    await expect(form.locator('#add-target-id-error').textContent()).resolves.toMatch(/letters, digits/);
    await expect(form.locator('#add-target-port-error').textContent()).resolves.toMatch(/1 to 65535/);
    expect(api.store.targets).toHaveLength(0);
    await screenshot(page, 'form-validation');

    // Switching engine follows the default port and the engine's required fields.
    await form.getByLabel('Port').fill('5432');
    await form.getByLabel('Engine').selectOption('redis');
    await expect(form.getByLabel('Port').inputValue()).resolves.toBe('6379');
    await expect(form.getByLabel('Database').count()).resolves.toBe(0);
    await form.getByLabel('Engine').selectOption('postgres');

    await addTarget(page, { id: 'orders-db', name: 'Orders DB', host: '127.0.0.1', port: '1', user: 'monitor', database: 'orders', env: 'ORDERS_PG_PASSWORD' });
    const orders = card(page, 'Orders DB');
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('target-orders-db-heading'); // focus is not lost
    await expect(orders.getByText('Not collected yet').isVisible()).resolves.toBe(true);
    await expect(orders.getByText('password from an environment variable').isVisible()).resolves.toBe(true);
    expect(api.store.target('orders-db')).toMatchObject({ engine: 'postgres', port: 1, database: 'orders', password: { env: 'ORDERS_PG_PASSWORD' } });

    // The agent's refusals are shown inline: a duplicate id, and a password the vault cannot store.
    await page.getByRole('button', { name: 'Add target' }).click();
    const again = page.getByRole('form', { name: 'Add a target' });
    await again.getByLabel('ID').fill('orders-db');
    await again.getByLabel('Host').fill('db.example');
    await again.getByLabel('User').fill('monitor');
    await again.getByLabel('Database').fill('orders');
    await again.getByRole('button', { name: 'Add target' }).click();
    await expect(again.getByRole('alert').textContent()).resolves.toMatch(/already exists/);
    await again.getByLabel('ID').fill('billing');
    await again.getByLabel('Store it encrypted on this machine').check();
    await again.getByLabel('Password', { exact: true }).fill('not-stored');
    await again.getByRole('button', { name: 'Add target' }).click();
    await card(page, 'billing').waitFor();
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/Password not stored:.*"billing" was added without a password.*no OS keystore in this test/);
    expect(api.store.target('billing')?.password).toBeUndefined();
    await page.getByRole('button', { name: 'Dismiss' }).click();

    // A target nothing listens on: the verdict says so plainly; no password is needed to find out.
    await orders.getByRole('button', { name: 'Test connection' }).click();
    await orders.getByText(/Server unreachable|Configuration problem/).waitFor();
    await expect(orders.getByRole('status').first().textContent()).resolves.toMatch(/Server unreachable:|Configuration problem:/);

    // Keyboard: Tab reaches the buttons and focus is visible.
    await orders.getByRole('button', { name: 'Test connection' }).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(
      `(() => { const e = document.activeElement; const s = getComputedStyle(e); return { text: e.textContent.trim(), outline: s.outlineStyle, width: s.outlineWidth }; })()`,
    );
    expect(focused).toEqual({ text: 'Check permissions', outline: 'solid', width: '3px' });

    await screenshot(page, 'targets');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

describe('renderer with a real PostgreSQL behind the agent API', () => {
  it('tests, checks permissions of, and collects from a least-privileged and an administrator identity', async () => {
    const pg = inject('pg');
    const api = agentApi({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_ADMIN: pg.users.admin.password });
    homes.push(api.home);
    const { page, problems } = await openApp(browser, base, api);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const feed = page.getByRole('region', { name: 'Live feed' });
    await feed.getByText('Listening').waitFor();

    await addTarget(page, { id: 'appdb', name: 'App DB (monitor)', host: pg.host, port: String(pg.port), user: pg.users.monitor.user, database: pg.database, env: 'E2E_PG_MONITOR' });
    const monitor = card(page, 'App DB (monitor)');

    await monitor.getByRole('button', { name: 'Test connection' }).click();
    await monitor.getByText('Connection OK:').waitFor();
    await expect(monitor.getByRole('status').first().textContent()).resolves.toMatch(new RegExp(`connected as ${pg.users.monitor.user}; server \\d+`));

    await monitor.getByRole('button', { name: 'Check permissions' }).click();
    const report = monitor.getByRole('region', { name: 'Permissions for App DB (monitor)' });
    await report.waitFor();
    await expect(report.getByRole('alert').count()).resolves.toBe(0); // not an administrator
    expect(await report.getByRole('row').count()).toBeGreaterThan(1);
    const script = (await report.getByLabel('Grant script').textContent()) ?? '';
    expect(script.length).toBeGreaterThan(0);
    await report.getByRole('button', { name: 'Copy script' }).click();
    await report.getByText('Copied to the clipboard.').waitFor();
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(script);

    await monitor.getByRole('button', { name: 'Collect now' }).click();
    const result = monitor.getByRole('region', { name: 'Collection result for App DB (monitor)' });
    await result.waitFor();
    const rows = result.getByRole('row');
    expect(await rows.count()).toBeGreaterThan(1);
    // Every unavailable signal explains itself, and never as a number.
    for (const row of await result.locator('tbody tr').all()) {
      const text = (await row.textContent()) ?? '';
      if (text.includes('Unavailable')) expect(text).toMatch(/Unavailable\s*(No permission|Not enabled|Not licensed|Not supported|Disabled|Error|Timed out):\s*\S/);
    }
    // The live feed got the payload; the card's state moved on from "not collected".
    await feed.getByRole('listitem').first().waitFor();
    await expect(feed.getByRole('listitem').first().textContent()).resolves.toMatch(/App DB \(monitor\).*\d+ available\s*\d+ unavailable/);
    await monitor.getByText(/All signals available|Some signals unavailable/).waitFor();

    // Each field shows its category and what the default policy does with it.
    const activityRow = result.locator('tr[data-signal="postgres.activity"]');
    await expect(activityRow.getByLabel('client_addr: Client host, application, session, Collected').count()).resolves.toBe(1);

    // The policy editor: exclude client metadata, redact users; the next collection shows the effect.
    await monitor.getByRole('button', { name: 'Policy', exact: true }).click();
    const editor = monitor.getByRole('form', { name: 'Sensitive-data policy for App DB (monitor)' });
    await editor.getByLabel('Client host, application, session: exclude').check();
    await editor.getByLabel('Users, roles, privileges: redact').check();
    await editor.getByRole('button', { name: 'Save policy' }).click();
    await editor.getByText('Saved; applies from the next collection.').waitFor();
    expect(api.store.target('appdb')?.policy).toEqual({ identity_metadata: 'redact', client_metadata: 'exclude' });
    const changes = (await readFile(api.ledger.file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['kind'] === 'policy_change');
    expect(changes).toEqual([expect.objectContaining({ scope: 'target', targetId: 'appdb', via: 'api', after: { identity_metadata: 'redact', client_metadata: 'exclude' } })]);

    await monitor.getByRole('button', { name: 'Collect now' }).click();
    await result.getByText(/fields? redacted, [1-9]\d* excluded/).waitFor();
    await expect(activityRow.getByLabel('client_addr: Client host, application, session, Excluded').count()).resolves.toBe(1);
    await expect(activityRow.getByLabel('usename: Users, roles, privileges, Redacted').count()).resolves.toBe(1);
    await expect(activityRow.getByLabel('state').count()).resolves.toBe(0); // not sensitive: counted, not listed
    await result.getByText('Payload exactly as it would be sent (JSON)').click();
    const json = JSON.parse((await result.getByLabel('Payload JSON').textContent()) ?? '{}') as { signals: Array<{ id: string; value?: Array<Record<string, unknown>>; policy?: Record<string, string> }> };
    const activity = json.signals.find((x) => x.id === 'postgres.activity');
    expect(activity?.policy).toMatchObject({ client_addr: 'exclude', usename: 'redact' });
    for (const r of activity?.value ?? []) {
      expect(r).not.toHaveProperty('client_addr');
      if (r['usename'] !== null) expect(r['usename']).toMatch(/^h:[0-9a-f]{16}$/);
    }
    await expect(feed.getByRole('listitem').first().textContent()).resolves.toMatch(/\d+ redacted\s*[1-9]\d* excluded/);
    await screenshot(page, 'policy');

    // The same server as a superuser: the warning banner, with the reasons.
    await addTarget(page, { id: 'appdb-admin', name: 'App DB (admin)', host: pg.host, port: String(pg.port), user: pg.users.admin.user, database: pg.database, env: 'E2E_PG_ADMIN' });
    const admin = card(page, 'App DB (admin)');
    await admin.getByRole('button', { name: 'Check permissions' }).click();
    const banner = admin.getByRole('alert');
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toMatch(new RegExp(`Warning: ${pg.users.admin.user} is an administrator`));

    await screenshot(page, 'postgres');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
