// Whether data leaves (issue 22): the delivery panel on the dashboard and in Settings,
// from status.delivery; the wizard's last step says where data goes or that it stays local.
import { describe, expect, inject, it } from 'vitest';
import type { DeliveryStatus } from '../../contract/delivery-status.js';
import { DeliveryStatusSchema } from '../../contract/delivery-status.js';
import { DestinationSchema } from '../../contract/destination.js';
import { gotoScreen, openApp, useApp } from './app.js';

const app = useApp();

describe('delivery status', () => {
  it('without a destination: the dashboard, Settings and the wizard say nothing leaves this machine', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Dashboard');
    const panel = page.getByRole('region', { name: 'Delivery' });
    await expect(panel.textContent()).resolves.toMatch(/nothing leaves this machine/);
    await gotoScreen(page, 'Settings');
    await expect(page.getByRole('region', { name: 'Delivery' }).textContent()).resolves.toMatch(/nothing leaves this machine/);

    // The wizard's last step.
    await gotoScreen(page, 'Setup wizard');
    const w = page.getByRole('region', { name: 'Set up a target' });
    const atStep = (name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();
    await w.getByLabel('PostgreSQL').check();
    await w.getByRole('button', { name: 'Next' }).click();
    await w.getByLabel('ID').fill('where');
    await w.getByLabel('Host').fill(pg.host);
    await w.getByLabel('Port').fill(String(pg.port));
    await w.getByLabel('Database').fill(pg.database);
    await w.getByRole('button', { name: 'Next' }).click();
    await w.getByLabel('User').fill(pg.users.monitor.user);
    await w.getByLabel('From an environment variable').check();
    await w.getByLabel('Variable name').fill('E2E_PG_MONITOR');
    await w.getByRole('button', { name: 'Next' }).click();
    for (const s of ['Test connection', 'Permissions', 'Cloud metrics', 'Sensitive categories']) {
      await atStep(s);
      await w.getByRole('button', { name: 'Next' }).click();
    }
    await atStep('Save');
    await expect.poll(() => w.getByRole('status').first().textContent(), { timeout: 10_000 }).toMatch(/stay in the local spool; nothing leaves this machine/);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('a configured destination that does not deliver: the panel says retrying, the backlog, the loss and the error; Settings never says "sending"', async () => {
    // The status shape the running pipeline reports (agent/delivery/status.ts), validated by its schema.
    const status: DeliveryStatus = DeliveryStatusSchema.parse({
      destination: 'https://ingest.logstag.example/v1',
      state: 'retrying',
      lastSuccessAt: null,
      backlog: { payloads: 42, bytes: 3 * 1024 * 1024 },
      oldestUnsentAgeSeconds: 5400,
      dropped: { count: 3, total: 3, since: '2026-12-05T10:00:00.000Z' },
      lastError: 'the destination host name does not resolve (DNS)',
      lastErrorAt: '2026-12-05T11:00:00.000Z',
      nextAttemptAt: '2026-12-05T11:01:00.000Z',
      egressRefusals: 2,
    });
    const api = app.api({ E2E_KEY: 'k' }, { status: async () => status });
    await api.store.updateSettings({ destination: DestinationSchema.parse({ url: status.destination, apiKey: { env: 'E2E_KEY' } }) });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Dashboard');
    const panel = page.getByRole('region', { name: 'Delivery' });
    const text = (await panel.textContent()) ?? '';
    expect(text).toMatch(/Retrying/);
    expect(text).toMatch(/Last success\s*never/);
    expect(text).toMatch(/42 payloads \(3\.0 MiB\)/);
    expect(text).toMatch(/Oldest unsent\s*90 min/);
    expect(text).toMatch(/Dropped\s*3 payloads/);
    expect(text).toMatch(/Egress refusals\s*2/);
    expect(text).toMatch(/does not resolve/);
    await gotoScreen(page, 'Settings');
    const settings = page.getByRole('region', { name: 'Settings' });
    await expect(settings.getByRole('region', { name: 'Delivery' }).textContent()).resolves.toMatch(/Retrying/);
    await expect(settings.textContent()).resolves.not.toMatch(/Currently sending/);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
