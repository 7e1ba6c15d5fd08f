// The proxy password in Settings (issue 22): stored as a secret like the API key (sealed by
// the agent at once, or read from an environment variable), never echoed back: not in any API
// response, not in the page, not in plain text in the settings file; a clear "saved" state;
// a way to clear it; and a stored password is never sent to another proxy host.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandlers, type Handlers } from '../../agent/api/handlers.js';
import { AuditLedger } from '../../agent/audit/ledger.js';
import { StateStore } from '../../agent/config/state-store.js';
import { KeychainVault } from '../../agent/secrets/keychain-vault.js';
import { NameKeyStore } from '../../agent/secrets/name-key.js';
import { TargetOperations } from '../../agent/target-operations.js';
import { RecentHistory } from '../../agent/state/recent-history.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { gotoScreen, openApp, screenshot, useApp, type AgentApi } from './app.js';
import { axeViolations } from './axe.js';

const app = useApp();
const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

/** The real agent API (as app.ts builds it) with a real vault (the harness's Secret Service), every answer recorded. */
function apiWithVault(): { api: AgentApi; vault: KeychainVault; answers: string[] } {
  const home = mkdtempSync(join(tmpdir(), 'e2e-proxy-'));
  homes.push(home);
  const vault = new KeychainVault({ service: `logstag-e2e-${randomUUID()}` });
  const store = new StateStore(home);
  const nameKeys = new NameKeyStore(home, () => vault);
  const ledger = new AuditLedger(join(home, 'audit'));
  const ops = new TargetOperations(
    { id: '5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21', version: '0.1.0', host: 'e2e-host' },
    ledger,
    () => vault,
    {},
    () => nameKeys.load(),
  );
  const history = new RecentHistory(targetStateDir(home));
  const made = createHandlers({ store, ops, history });
  const answers: string[] = [];
  const handlers = Object.fromEntries(
    Object.entries(made.handlers).map(([m, h]) => [
      m,
      async (params: never, conn: never) => {
        try {
          const r: unknown = await (h as (p: never, c: never) => Promise<unknown>)(params, conn);
          answers.push(JSON.stringify(r));
          return r;
        } catch (err) {
          answers.push(String(err));
          throw err;
        }
      },
    ]),
  ) as unknown as Handlers;
  return { api: { home, store, ops, ledger, history, handlers, disconnect: made.disconnect }, vault, answers };
}

/** Every file under `dir`, as text. */
function filesText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? filesText(p) : readFileSync(p, 'latin1');
  }
  return out;
}

describe('proxy password', () => {
  it('is sealed, never shown or answered back, says it is saved, can be cleared, and is not sent to another proxy', async () => {
    const { api, vault, answers } = apiWithVault();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const password = `pr0xy-${randomUUID()}`;
    await gotoScreen(page, 'Settings');
    const dest = page.getByRole('form', { name: 'Logstag destination' });
    await dest.getByText('No destination').waitFor();
    await dest.getByLabel('Destination URL').fill('https://ingest.example.com/v1');
    await dest.getByLabel('From an environment variable').first().check();
    await dest.getByLabel('Variable name').fill('LOGSTAG_API_KEY');
    await dest.getByLabel('Proxy URL').fill('http://proxy.internal:3128');
    await dest.getByLabel('Proxy user').fill('agent');
    const pass = dest.getByRole('group', { name: 'Proxy password' });
    await pass.getByLabel('Enter a password').check();
    await pass.getByLabel('Proxy password', { exact: true }).fill(password);
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await dest.getByText(/^Destination saved/).waitFor();

    // Saved, and says so; the field is empty again and "keep" is chosen.
    await expect(pass.locator('#proxy-pass-state').textContent()).resolves.toMatch(/Saved: sealed on this machine/);
    await expect(pass.getByLabel('Keep the saved password').isChecked()).resolves.toBe(true);
    // Stored sealed (a blob the vault opens to the password), never in plain text anywhere in the agent's home.
    const stored = JSON.parse(readFileSync(api.store.file, 'utf8')) as { settings: { destination: { proxy: { password: { secret: string } } } } };
    await expect(vault.open(stored.settings.destination.proxy.password.secret)).resolves.toBe(password);
    expect(filesText(api.home)).not.toContain(password);
    // Not in any answer of the API, not in the page (markup, input values, text).
    await expect(page.evaluate(`window.logstag.call('settings.get', {})`)).resolves.toMatchObject({
      result: { destination: { proxy: { url: 'http://proxy.internal:3128', username: 'agent', password: 'vault' } } },
    });
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect(a).not.toContain(password);
    const dom = (await page.evaluate(`document.documentElement.outerHTML + [...document.querySelectorAll('input')].map((i) => i.value).join('\\n')`)) as string;
    expect(dom).not.toContain(password);
    for (const scheme of ['light', 'dark'] as const) {
      for (const size of [
        { width: 1280, height: 800 },
        { width: 900, height: 600 },
      ]) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme: scheme });
        await screenshot(page, `settings-proxy-${size.width}-${scheme}`, dest);
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await expect(axeViolations(page)).resolves.toEqual([]);

    // Another proxy host with the password kept: refused, the stored password stays for its own proxy.
    await dest.getByLabel('Proxy URL').fill('http://elsewhere.example.net:3128');
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await dest.getByText('Destination not saved').waitFor();
    await expect(dest.textContent()).resolves.toMatch(/the proxy changed .*the stored one is not sent to another proxy/);
    await expect(page.evaluate(`window.logstag.call('settings.get', {})`)).resolves.toMatchObject({
      result: { destination: { proxy: { url: 'http://proxy.internal:3128', password: 'vault' } } },
    });

    // Clear it: no password, said plainly; nothing sealed left in the settings.
    await dest.getByLabel('Proxy URL').fill('http://proxy.internal:3128');
    await pass.getByLabel('Clear the saved password').check();
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await pass.getByText('No proxy password saved.').waitFor();
    const cleared = JSON.parse(readFileSync(api.store.file, 'utf8')) as { settings: { destination: { proxy: Record<string, unknown> } } };
    expect(cleared.settings.destination.proxy).toEqual({ url: 'http://proxy.internal:3128', username: 'agent' });
    await expect(page.evaluate(`window.logstag.call('settings.get', {})`)).resolves.toMatchObject({ result: { destination: { proxy: { password: 'none' } } } });
    for (const a of answers) expect(a).not.toContain(password);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
