// The settings screen: destination (https only), write-only API key, proxy, and the
// workspace default policy, through settings.get/update.
import { describe, expect, it } from 'vitest';
import { gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('settings', () => {
  it('saves the destination with a write-only API key and the workspace policy', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Settings');
    const dest = page.getByRole('form', { name: 'Logstag destination' });
    await dest.getByText('No destination').waitFor();

    // Validation with the contract's schema: https only, the key is required.
    await dest.getByLabel('Destination URL').fill('http://ingest.example.com/v1');
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await expect(dest.locator('#settings-url-error').textContent()).resolves.toMatch(/https/);
    await expect(dest.locator('#settings-keyValue-error').textContent()).resolves.toMatch(/required/);
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('settings-url');
    await screenshot(page, 'settings-validation');

    // A typed key needs the vault, which this test has not: the agent's refusal is shown.
    await dest.getByLabel('Destination URL').fill('https://ingest.example.com/v1');
    await dest.getByLabel('API key', { exact: true }).fill('secret-key');
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await dest.getByText('Destination not saved').waitFor();

    // From an environment variable, with a proxy.
    await dest.getByLabel('From an environment variable').check();
    await dest.getByLabel('Variable name').fill('LOGSTAG_API_KEY');
    await dest.getByLabel('Proxy URL').fill('http://proxy.internal:3128');
    await dest.getByRole('button', { name: 'Save destination' }).click();
    await dest.getByText(/^Destination saved; see Delivery for whether data is sent\.$/).waitFor();
    // Configured is not sending: the form says configured; the delivery panel says whether data leaves.
    await dest.getByText(/Configured, not verified: https:\/\/ingest\.example\.com\/v1; API key from an environment variable/).waitFor();
    await expect(dest.textContent()).resolves.not.toMatch(/Currently sending/);
    await expect(dest.getByLabel('Keep the stored key').isChecked()).resolves.toBe(true);
    expect(JSON.stringify(await page.evaluate(`window.logstag.call('settings.get', {})`))).not.toMatch(/secret-key/);

    // Workspace default policy.
    const policy = page.getByRole('form', { name: 'Workspace default policy' });
    await policy.getByLabel('Client host, application, session: exclude').check();
    await policy.getByRole('button', { name: 'Save workspace policy' }).click();
    await policy.getByText('Saved; applies from the next collection.').waitFor();
    const s = (await page.evaluate(`window.logstag.call('settings.get', {})`)) as { result: { policy: unknown } };
    expect(s.result.policy).toEqual({ client_metadata: 'exclude' });
    await screenshot(page, 'settings');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
