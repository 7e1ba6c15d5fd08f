// What the window says is what happens (issue 22): policy choices on screen are what
// the preview and the saved target use; the preview never claims "Collected" for data
// it never read; a summary by category heads it.
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, useApp } from './app.js';

const app = useApp();

const wizard = (page: Page) => page.getByRole('region', { name: 'Set up a target' });
const atStep = (page: Page, name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();

/** Walks the wizard to the sensitive-categories step with the harness PostgreSQL and its monitoring identity. */
async function toReview(page: Page, id: string, name: string): Promise<void> {
  const pg = inject('pg');
  await gotoScreen(page, 'Setup wizard');
  const w = wizard(page);
  await w.getByLabel('PostgreSQL').check();
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Connection');
  await w.getByLabel('ID').fill(id);
  await w.getByLabel('Display name').fill(name);
  await w.getByLabel('Host').fill(pg.host);
  await w.getByLabel('Port').fill(String(pg.port));
  await w.getByLabel('Database').fill(pg.database);
  await w.getByLabel('TLS mode').selectOption('disable');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Credentials');
  await w.getByLabel('User').fill(pg.users.monitor.user);
  await w.getByLabel('From an environment variable').check();
  await w.getByLabel('Variable name').fill('E2E_PG_MONITOR');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Test connection');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Permissions');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Cloud metrics');
  await w.getByRole('button', { name: 'Next' }).click();
  await atStep(page, 'Sensitive categories');
}

describe('policy choices on screen are what happens', () => {
  it('the preview applies unsaved choices, Next keeps them, the last step states the real policy', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await toReview(page, 'truth-pg', 'Truth PG');
    const w = wizard(page);
    const editor = w.getByRole('form', { name: 'Sensitive-data policy for Truth PG' });
    // Chosen, not saved with "Save policy".
    await editor.getByLabel('Client host, application, session: exclude').check();
    await w.getByRole('button', { name: 'Show a sample preview' }).click();
    const result = w.getByRole('region', { name: 'Collection result for Truth PG' });
    await result.waitFor();
    // Every client-metadata field the preview lists says Excluded (never Collected).
    const clientFields = result.locator('li[aria-label*="Client host, application, session"]');
    expect(await clientFields.count()).toBeGreaterThan(0);
    for (const label of await clientFields.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? '')))
      expect(label).toMatch(/Excluded$|Not read$/);
    const summary = result.getByRole('table', { name: 'Summary by category' });
    await expect(summary.getByRole('row', { name: /^Client host, application, session/ }).textContent()).resolves.toMatch(
      /^Client host, application, session\d+ fields? excluded(, \d+ fields? not read)?$/,
    );

    // Another choice, not saved either, then Next: kept, and the preview shown for the old choices is gone.
    await editor.getByLabel('Query text: exclude').check();
    await expect(result.count()).resolves.toBe(0);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Save');
    const done = await w.getByRole('status').first().textContent();
    expect(done).not.toMatch(/follows the workspace default/);
    expect(done).toMatch(/Query text: excluded/);
    expect(done).toMatch(/Client host, application, session: excluded/);
    // Stored with the target at Finish, as the last step said.
    expect(api.store.target('truth-pg')).toBeUndefined();
    await w.getByRole('button', { name: 'Finish' }).click();
    await page.getByRole('article', { name: 'Truth PG' }).waitFor();
    expect(api.store.target('truth-pg')?.policy).toEqual({ client_metadata: 'exclude', query_text: 'exclude' });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('going Back from the review step keeps unsaved choices', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await toReview(page, 'truth-back', 'Truth Back');
    const w = wizard(page);
    await w.getByRole('form', { name: 'Sensitive-data policy for Truth Back' }).getByLabel('Object names: exclude').check();
    await w.getByRole('button', { name: 'Back' }).click();
    await atStep(page, 'Cloud metrics');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Sensitive categories');
    await expect(w.getByRole('form', { name: 'Sensitive-data policy for Truth Back' }).getByLabel('Object names: exclude').isChecked()).resolves.toBe(true);
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Save');
    await w.getByRole('button', { name: 'Finish' }).click();
    await page.getByRole('article', { name: 'Truth Back' }).waitFor();
    expect(api.store.target('truth-back')?.policy).toEqual({ object_names: 'exclude' });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

describe('the preview never claims what was not read', () => {
  it('an unreachable target: said once, with the reason; no field Collected or Redacted', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    // Port 1 on loopback: nothing listens, the connection is refused.
    await addTarget(page, { id: 'gone', name: 'Gone DB', host: '127.0.0.1', port: '1', user: 'nobody', database: 'postgres' });
    const c = card(page, 'Gone DB');
    await c.getByRole('button', { name: 'Collect now' }).click();
    const result = c.getByRole('region', { name: 'Collection result for Gone DB' });
    await result.waitFor();
    // What is on screen (the payload JSON, closed, carries each signal's own record).
    const text = await result.innerText();
    expect(text).toMatch(/Nothing was read/);
    expect(text).not.toMatch(/redacted|Collected|Redacted/);
    // The reason appears once, not once per signal.
    const detail = (await api.handlers['preview.get']({ id: 'gone' }, { emit: () => {} })).payload.signals[0];
    expect(detail?.status).toBe('unavailable');
    const reason = detail?.status === 'unavailable' ? detail.detail : '';
    expect(reason.length).toBeGreaterThan(0);
    expect(text.split(reason).length - 1).toBe(1);
    await expect(result.locator('li[aria-label$="Collected"], li[aria-label$="Redacted"]').count()).resolves.toBe(0);
    const summary = result.getByRole('table', { name: 'Summary by category' });
    await expect(summary.textContent()).resolves.toMatch(/not read/);
    await expect(summary.textContent()).resolves.not.toMatch(/collected|redacted|excluded/);
    // The feed panel beside it and the Live feed screen say the same.
    const panel = page.getByRole('list', { name: 'Incoming payloads, newest first' }).getByRole('listitem').first();
    await expect(panel.textContent()).resolves.toMatch(/Gone[\s\S]*0 available[\s\S]*0 redacted\s*0 excluded/);
    await gotoScreen(page, 'Live feed');
    const row = page.getByRole('list', { name: 'Payload previews' }).getByRole('listitem').first();
    await expect(row.textContent()).resolves.toMatch(/Gone/);
    await expect(row.textContent()).resolves.not.toMatch(/Collected|Redacted|Excluded/);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('fields of an unavailable signal are "Not read", never Collected', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_LOWPRIV: pg.users.lowpriv.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.base() });
    await addTarget(page, {
      id: 'low',
      name: 'Low DB',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.lowpriv.user,
      database: pg.database,
      env: 'E2E_PG_LOWPRIV',
    });
    const c = card(page, 'Low DB');
    await c.getByRole('button', { name: 'Collect now' }).click();
    const result = c.getByRole('region', { name: 'Collection result for Low DB' });
    await result.waitFor();
    const unavailable = result.locator('tr[data-status="unavailable"]');
    expect(await unavailable.count()).toBeGreaterThan(0);
    const labels = await unavailable.locator('li[aria-label]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(l).toMatch(/Not read$/);
    // Every fix shown has its own Copy button, and it copies exactly that fix.
    const withFix = result.locator('tr[data-status="unavailable"]', { has: page.locator('.fix') }).first();
    const signalId = await withFix.getAttribute('data-signal');
    await result.getByText(/^Every signal/).click();
    await withFix.getByRole('button', { name: `Copy the fix for ${signalId}` }).click();
    await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(((await withFix.locator('.fix pre').textContent()) ?? '').trim() || 'no fix');
    // The heading counts only fields that were read.
    const preview = await api.handlers['preview.get']({ id: 'low' }, { emit: () => {} });
    const okIds = new Set(preview.payload.signals.filter((s) => s.status === 'ok').map((s) => s.id));
    const redactedRead = preview.annotations.filter((a) => a.action === 'redact' && okIds.has(a.signalId)).length;
    await expect(result.getByRole('heading', { level: 4 }).textContent()).resolves.toMatch(new RegExp(`${redactedRead} fields? redacted`));
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
