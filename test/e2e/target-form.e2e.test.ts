// One target form (issue 22): the dashboard's Add target form and the setup wizard render
// the same component (TargetFields), so the same fields, labels, hints and choices appear
// in both; a field added to one cannot be missing from the other.
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();
const wizard = (page: Page) => page.getByRole('region', { name: 'Set up a target' });
const atStep = (page: Page, name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();

/** Every label and hint of the target's fields, in order, whitespace folded. */
async function fieldsOf(scope: Locator): Promise<{ labels: string[]; hints: string[] }> {
  const fold = (xs: string[]) => xs.map((x) => x.replace(/\s+/g, ' ').trim()).filter((x) => x !== '');
  return {
    labels: fold(await scope.locator('label, legend').allTextContents()),
    hints: fold(await scope.locator('p.hint[id]').allTextContents()),
  };
}

describe('one target form', () => {
  it('the Add target form and the wizard show the same fields, labels and hints', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await page.setViewportSize({ width: 1280, height: 800 });
    const w = wizard(page);
    await w.getByLabel('PostgreSQL').check();
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Connection');
    const connection = await fieldsOf(w.locator('#wizard-form'));
    await w.getByLabel('ID').fill('same-form');
    await w.getByLabel('Host').fill('db.example.invalid');
    await w.getByLabel('Database').fill('postgres');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Credentials');
    await w.getByLabel('Store it encrypted on this machine').check();
    const credentials = await fieldsOf(w.locator('#wizard-form'));

    await gotoScreen(page, 'Dashboard');
    await page.getByRole('button', { name: 'Add target' }).click();
    const form = page.getByRole('form', { name: 'Add a target' });
    await form.getByLabel('Store it encrypted on this machine').check();
    const added = await fieldsOf(form);
    // The Add form adds the engine choice (the wizard's first step) and its own introduction.
    expect(added.labels).toEqual(['Engine', ...connection.labels, ...credentials.labels]);
    expect(added.hints).toEqual([...connection.hints, ...credentials.hints]);
    expect(added.labels).toEqual(expect.arrayContaining(['TLS mode', 'CA file (optional, PEM path)', 'User', 'Password']));
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const size of [
        { width: 1280, height: 800 },
        { width: 900, height: 600 },
      ]) {
        await page.setViewportSize(size);
        await screenshot(page, `target-form-${size.width}x${size.height}-${scheme}`, form);
      }
    }
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);
});
