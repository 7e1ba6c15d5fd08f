// The wizard is a draft until Finish (issue 22): nothing is stored in the agent before
// Finish. Test, permission check and preview run on the unsaved target sent in the
// request (its typed password included, never written); the preview never ships, spools
// or advances the target's state; Cancel leaves nothing behind; Finish stores the target
// and its secret in one step, and a failure at Finish keeps the draft.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import type { CycleResult } from '../../collectors/cycle.js';
import { targetStateDir } from '../../agent/config/paths.js';
import { type Vault, VaultError } from '../../agent/secrets/vault.js';
import { type AgentApi, gotoScreen, openApp, useApp } from './app.js';

const app = useApp();
const wizard = (page: Page) => page.getByRole('region', { name: 'Set up a target' });
const atStep = (page: Page, name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();

/** Every file under `dir` with its bytes. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, text: readFileSync(path).toString('latin1') });
  }
  return out;
}

/** A vault that records every seal (the e2e agent has no OS keystore); `down` makes sealing fail like a locked keystore. */
function recordingVault(api: AgentApi): { sealed: string[]; setDown(down: boolean): void } {
  const sealed: string[] = [];
  let down = false;
  const vault: Vault = {
    backend: 'os-keychain',
    seal: async (value) => {
      if (down) throw new VaultError('unavailable', 'the OS keystore is locked');
      sealed.push(value);
      return `sealed-${sealed.length}`;
    },
    open: async (blob) => sealed[Number(blob.replace('sealed-', '')) - 1] ?? '',
  };
  Object.defineProperty(api.ops, 'vault', { value: () => vault });
  return { sealed, setDown: (d) => (down = d) };
}

/** Where a stored target would leave traces in the agent's home: the state file, its state folder. */
function traces(api: AgentApi, id: string): { stored: boolean; stateFile: boolean; stateDir: boolean } {
  const stateFile = existsSync(api.store.file) && readFileSync(api.store.file, 'utf8').includes(`"${id}"`);
  return { stored: api.store.target(id) !== undefined, stateFile, stateDir: existsSync(targetStateDir(api.home)) };
}

async function toCredentials(page: Page, id: string): Promise<void> {
  const pg = inject('pg');
  const w = wizard(page);
  await w.getByLabel('PostgreSQL').check();
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Connection');
  await w.getByLabel('ID').fill(id);
  await w.getByLabel('Host').fill(pg.host);
  await w.getByLabel('Port').fill(String(pg.port));
  await w.getByLabel('Database').fill(pg.database);
  await w.getByLabel('TLS mode').selectOption('disable');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Credentials');
  await w.getByLabel('User').fill(pg.users.monitor.user);
}

describe('setup wizard draft', () => {
  it('nothing is stored before Finish: test, check and preview work on the unsaved target with its typed password; the preview ships nothing; Finish stores it in one step, a failed Finish keeps the draft', async () => {
    const pg = inject('pg');
    const password = pg.users.monitor.password;
    const api = app.api();
    const vault = recordingVault(api);
    const cycles: CycleResult[] = [];
    // What the shipper, the spool and the live feed consume: a draft cycle must never get here.
    api.ops.cycles.on('cycle', (r) => cycles.push(r));
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    // First run: the guided setup.
    await expect(page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Setup wizard' }).getAttribute('aria-current')).resolves.toBe(
      'page',
    );
    const w = wizard(page);
    await toCredentials(page, 'draft-pg');
    await w.getByLabel('Store it encrypted on this machine').check();
    await w.getByRole('textbox', { name: 'Password' }).fill(password);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Test connection');
    expect(traces(api, 'draft-pg')).toEqual({ stored: false, stateFile: false, stateDir: false });

    // Switching screens keeps the step and the typed password (page memory, never the draft).
    await gotoScreen(page, 'Readiness');
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Test connection');
    await w.getByRole('button', { name: 'Test connection' }).click();
    await expect(w.getByRole('status', { name: 'Connection verdict' }).textContent()).resolves.toMatch(/Connected/);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Permissions');
    await w.getByRole('button', { name: 'Check permissions' }).click();
    await w.getByRole('region', { name: 'Permissions for draft-pg' }).waitFor();
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Cloud metrics');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Sensitive categories');
    const editor = w.getByRole('form', { name: 'Sensitive-data policy for draft-pg' });
    await editor.getByLabel('Client host, application, session: exclude').check();
    await w.getByRole('button', { name: 'Show a sample preview' }).click();
    const result = w.getByRole('region', { name: 'Collection result for draft-pg' });
    await result.waitFor();
    // The preview applied the choice on screen and read the server (the typed password worked).
    await expect(result.textContent()).resolves.toMatch(/Excluded/);
    await expect(result.textContent()).resolves.not.toMatch(/target not collected/);
    // Nothing was shipped, spooled, remembered or stored: no cycle event, no target-state folder, no target, no seal.
    expect(cycles).toHaveLength(0);
    expect(traces(api, 'draft-pg')).toEqual({ stored: false, stateFile: false, stateDir: false });
    expect(vault.sealed).toEqual([]);
    expect(api.ops.healthOf('draft-pg')).toEqual({ state: 'never_collected' });
    // The typed password is nowhere on disk (state, audit ledger, name key) nor in the draft.
    for (const f of filesUnder(api.home)) expect(f.text, f.path).not.toContain(password);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(password);

    // A reload loses the typed password (it was never kept): the wizard says so and asks for it again.
    await page.reload();
    await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Credentials');
    await w.getByText('Enter the password again: it is never kept in the setup draft.').waitFor();
    await w.getByRole('textbox', { name: 'Password' }).fill(password);
    await w.getByRole('button', { name: 'Next' }).click();
    for (const s of ['Test connection', 'Permissions', 'Cloud metrics']) {
      await atStep(page, s);
      await w.getByRole('button', { name: 'Next' }).click();
    }
    await atStep(page, 'Sensitive categories');
    // The unsaved choice survived the reload.
    await expect(editor.getByLabel('Client host, application, session: exclude').isChecked()).resolves.toBe(true);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Save');
    await expect
      .poll(() => w.getByRole('status').first().textContent(), { timeout: 10_000 })
      .toMatch(/Nothing is stored yet[\s\S]*Client host, application, session: excluded/);

    // Finish fails (the keystore is locked): nothing stored, the draft and the step kept.
    vault.setDown(true);
    await w.getByRole('button', { name: 'Finish' }).click();
    await expect(w.getByRole('alert').textContent()).resolves.toMatch(/keystore is locked[\s\S]*Nothing was stored; the setup is kept as it is/);
    await atStep(page, 'Save');
    expect(traces(api, 'draft-pg')).toEqual({ stored: false, stateFile: false, stateDir: false });
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).toContain('draft-pg');

    // Finish again: the target, its policy and its sealed password in one write.
    vault.setDown(false);
    await w.getByRole('button', { name: 'Finish' }).click();
    await page.getByRole('article', { name: 'draft-pg' }).waitFor();
    expect(vault.sealed).toEqual([password]);
    expect(api.store.target('draft-pg')).toMatchObject({ password: { secret: 'sealed-1' }, policy: { client_metadata: 'exclude' } });
    expect(api.store.target('draft-pg')?.passwordSetAt).toBeDefined();
    for (const f of filesUnder(api.home)) expect(f.text, f.path).not.toContain(password);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('draft-pg');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 90_000);

  it('Cancel after test, check and preview leaves nothing behind: no target, no vault entry, no state folder, no draft', async () => {
    const pg = inject('pg');
    const api = app.api();
    const vault = recordingVault(api);
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const w = wizard(page);
    await toCredentials(page, 'cancel-pg');
    await w.getByLabel('Store it encrypted on this machine').check();
    await w.getByRole('textbox', { name: 'Password' }).fill(pg.users.monitor.password);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Test connection');
    await w.getByRole('button', { name: 'Test connection' }).click();
    await expect(w.getByRole('status', { name: 'Connection verdict' }).textContent()).resolves.toMatch(/Connected/);
    for (const s of ['Test connection', 'Permissions', 'Cloud metrics']) {
      await atStep(page, s);
      await w.getByRole('button', { name: 'Next' }).click();
    }
    await w.getByRole('button', { name: 'Show a sample preview' }).click();
    await w.getByRole('region', { name: 'Collection result for cancel-pg' }).waitFor();

    await w.getByRole('button', { name: 'Cancel setup' }).click();
    await w.getByRole('group', { name: 'Cancel the setup' }).getByRole('button', { name: 'Discard the setup' }).click();
    await atStep(page, 'Engine');
    await w.getByText('Setup cancelled: nothing was kept.').waitFor();
    expect(traces(api, 'cancel-pg')).toEqual({ stored: false, stateFile: false, stateDir: false });
    expect(vault.sealed).toEqual([]);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain('cancel-pg');
    await gotoScreen(page, 'Dashboard');
    await gotoScreen(page, 'Setup wizard');
    await atStep(page, 'Engine');
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.getByLabel('ID').inputValue()).resolves.toBe('');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 90_000);
});
