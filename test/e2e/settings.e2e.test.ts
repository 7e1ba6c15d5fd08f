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

  it('the API key and the proxy password are one secret block: the same choices, the same checks, the same error wiring', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Settings');
    const dest = page.getByRole('form', { name: 'Logstag destination' });
    await dest.getByText('No destination').waitFor();
    await dest.getByLabel('Destination URL').fill('https://ingest.example.com/v1');
    await dest.getByLabel('Proxy URL').fill('http://proxy.internal:3128');
    await dest.getByLabel('Proxy user').fill('agent');
    const blocks = [
      { group: dest.getByRole('group', { name: 'API key' }), what: 'key', env: 'keyEnv', value: 'keyValue' },
      { group: dest.getByRole('group', { name: 'Proxy password' }), what: 'password', env: 'proxyPassEnv', value: 'proxyPassValue' },
    ];
    for (const b of blocks) {
      const choices = (await b.group.getByRole('radio').evaluateAll((rs) => rs.map((r) => r.closest('label')!.textContent!.trim()))) as string[];
      expect(choices.slice(0, 2)).toEqual([`Enter a ${b.what} (sealed on this machine, never shown again)`, 'From an environment variable']);
      // A typed secret is a password field; a variable name is checked as one, its error tied to its field.
      await b.group.getByLabel(`Enter a ${b.what}`).check();
      await expect(b.group.locator(`#settings-${b.value}`).getAttribute('type')).resolves.toBe('password');
      await b.group.getByLabel('From an environment variable').check();
      await b.group.locator(`#settings-${b.env}`).fill('1 not a name');
    }
    await dest.getByRole('button', { name: 'Save destination' }).click();
    for (const b of blocks) {
      const input = b.group.locator(`#settings-${b.env}`);
      await expect(input.getAttribute('aria-invalid')).resolves.toBe('true');
      await expect(input.getAttribute('aria-describedby')).resolves.toBe(`settings-${b.env}-error`);
      await expect(b.group.locator(`#settings-${b.env}-error`).textContent()).resolves.toMatch(/environment variable name/);
    }
    // Nothing saved.
    await expect(page.evaluate(`window.logstag.call('settings.get', {})`)).resolves.toMatchObject({ result: { destination: null } });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
