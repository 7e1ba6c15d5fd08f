// The setup wizard, end to end over the real agent API: a PostgreSQL target and a
// Redis target from the test harness, each from engine choice to save.
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { gotoScreen, openApp, screenshot, useApp } from './app.js';
import { startAwsResponder } from '../helpers/cloud-aws-responder.js';

const app = useApp();

const wizard = (page: Page) => page.getByRole('region', { name: 'Set up a target' });
/** Waits until the wizard shows that step (steps that save to the agent change asynchronously). */
const atStep = (page: Page, name: string) => page.locator('#wizard-step-heading', { hasText: new RegExp(`^${name}$`) }).waitFor();

describe('setup wizard', () => {
  it('adds a PostgreSQL target: validation, back/forward keeping entries, test, permissions, policy review, save', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Setup wizard');
    const w = wizard(page);
    await expect(w.getByRole('list', { name: 'Setup progress' }).getByRole('listitem').count()).resolves.toBe(8);
    await expect(w.locator('[aria-current="step"]').textContent()).resolves.toMatch(/Engine/);

    // Engine: PostgreSQL.
    await w.getByLabel('PostgreSQL').check();
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Connection');

    // Connection: empty fields are explained, the first invalid one gets focus.
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.getByRole('alert').textContent()).resolves.toMatch(/need attention/);
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('wizard-id');
    await expect(w.getByLabel('Database').getAttribute('aria-invalid')).resolves.toBe('true');
    await w.getByLabel('ID').fill('wiz-pg');
    await w.getByLabel('Display name').fill('Wizard PG');
    await w.getByLabel('Host').fill(pg.host);
    await w.getByLabel('Port').fill('99999');
    await w.getByLabel('Database').fill(pg.database);
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.locator('#wizard-port-error').textContent()).resolves.toMatch(/1 to 65535/);
    await screenshot(page, 'wizard-validation');
    await w.getByLabel('Port').fill(String(pg.port));
    await w.getByLabel('TLS mode').selectOption('disable');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Credentials');

    // Back and forward keep what was typed.
    await w.getByLabel('User').fill(pg.users.monitor.user);
    await w.getByRole('button', { name: 'Back' }).click();
    await expect(w.getByLabel('Host').inputValue()).resolves.toBe(pg.host);
    await expect(w.getByLabel('TLS mode').inputValue()).resolves.toBe('disable');
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.getByLabel('User').inputValue()).resolves.toBe(pg.users.monitor.user);

    // Credentials: an environment variable holds the password.
    await w.getByLabel('From an environment variable').check();
    await w.getByLabel('Variable name').fill('1BAD');
    await w.getByRole('button', { name: 'Next' }).click();
    await expect(w.locator('#wizard-passwordEnv-error').textContent()).resolves.toMatch(/environment variable name/);
    await w.getByLabel('Variable name').fill('E2E_PG_MONITOR');
    await w.getByRole('button', { name: 'Next' }).click();
    await atStep(page, 'Test connection');
    // A draft: nothing is stored before Finish.
    expect(api.store.target('wiz-pg')).toBeUndefined();

    // Test connection: a clear verdict.
    await w.getByRole('button', { name: 'Test connection' }).click();
    const verdict = w.getByRole('status', { name: 'Connection verdict' });
    await verdict.waitFor();
    await expect(verdict.textContent()).resolves.toMatch(/Connected: the agent can reach the server and sign in/);
    await screenshot(page, 'wizard-test');
    await w.getByRole('button', { name: 'Next' }).click();

    // Permissions: checklist, copy script, re-check.
    await w.getByRole('button', { name: 'Check permissions' }).click();
    const report = w.getByRole('region', { name: 'Permissions for Wizard PG' });
    await report.waitFor();
    await expect(report.getByRole('button', { name: 'Copy script' }).isVisible()).resolves.toBe(true);
    await w.getByRole('button', { name: 'Re-check' }).click();
    await report.waitFor();
    await screenshot(page, 'wizard-permissions');
    await w.getByRole('button', { name: 'Next' }).click();

    // Cloud metrics: optional; every field is validated before anything is saved.
    await atStep(page, 'Cloud metrics');
    const cloud = w.getByRole('form', { name: 'Cloud metrics' });
    await cloud.getByLabel('Read cloud provider metrics for this target').check();
    await cloud.getByLabel('Provider', { exact: true }).selectOption('aws');
    await cloud.getByLabel('Region', { exact: true }).fill('Ireland');
    await cloud.getByLabel('Access key ID').fill('not-a-key');
    await cloud.getByRole('button', { name: 'Save cloud binding' }).click();
    await expect(cloud.locator('#cloud-service-error').textContent()).resolves.toBe('choose the managed service');
    await expect(cloud.locator('#cloud-resourceId-error').textContent()).resolves.toBe('is required');
    await expect(cloud.locator('#cloud-secret-error').textContent()).resolves.toMatch(/is required/);
    await expect(cloud.locator('#cloud-region-error').textContent()).resolves.toMatch(/must be an AWS region code/);
    await expect(cloud.locator('#cloud-accessKeyId-error').textContent()).resolves.toMatch(/must be an AWS access key id/);
    await expect(page.evaluate('document.activeElement.id')).resolves.toMatch(/^cloud-/);
    await screenshot(page, 'wizard-cloud-validation');
    // Not a managed service after all: saved without a binding.
    await cloud.getByLabel('Read cloud provider metrics for this target').uncheck();
    await cloud.getByRole('button', { name: 'Save without cloud metrics' }).click();
    await cloud.getByText('No cloud binding.').waitFor();
    await w.getByRole('button', { name: 'Next' }).click();

    // Sensitive categories: a three-way choice and a sample preview.
    const editor = w.getByRole('form', { name: 'Sensitive-data policy for Wizard PG' });
    await editor.getByLabel('Client host, application, session: exclude').check();
    await editor.getByText('These choices are kept in this setup and stored with the target at Finish.').waitFor();
    await w.getByRole('button', { name: 'Show a sample preview' }).click();
    await w.getByRole('region', { name: 'Collection result for Wizard PG' }).waitFor();
    await screenshot(page, 'wizard-review');
    await w.getByRole('button', { name: 'Next' }).click();
    await expect
      .poll(() => w.getByRole('status').first().textContent(), { timeout: 10_000 })
      .toMatch(/Finish saves Wizard PG[\s\S]*Client host, application, session: excluded/);
    await screenshot(page, 'wizard');
    await w.getByRole('button', { name: 'Finish' }).click();

    // Back on the dashboard, the new target has focus.
    await page.getByRole('article', { name: 'Wizard PG' }).waitFor();
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('target-wiz-pg-heading');
    expect(api.store.target('wiz-pg')).toMatchObject({
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      database: pg.database,
      password: { env: 'E2E_PG_MONITOR' },
      tls: { mode: 'disable' },
      policy: { client_metadata: 'exclude' },
    });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('adds a Redis target with the keyboard only', async () => {
    const redis = inject('redis');
    const api = app.api({ E2E_REDIS_MONITOR: redis.users.monitor.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const kb = page.keyboard;
    await page.getByRole('button', { name: 'Setup wizard' }).focus();
    await kb.press('Enter');
    const w = wizard(page);
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('tab-wizard');

    // Engine: arrows move within the radio group.
    await w.getByLabel('PostgreSQL').focus();
    await kb.press('Space');
    while ((await page.evaluate('document.activeElement.value')) !== 'redis') await kb.press('ArrowDown');
    await expect(w.getByLabel('Redis / Valkey').isChecked()).resolves.toBe(true);
    await kb.press('Enter'); // submits the step
    await atStep(page, 'Connection');
    await expect(page.evaluate('document.activeElement.id')).resolves.toBe('wizard-step-heading');

    await kb.press('Tab');
    await kb.type('wiz-redis');
    await kb.press('Tab');
    await kb.type('Wizard Redis');
    await kb.press('Tab');
    await kb.type(redis.host);
    await kb.press('Tab');
    await expect(page.evaluate('document.activeElement.value')).resolves.toBe('6379'); // the engine's default port
    await kb.press('ControlOrMeta+A');
    await kb.type(String(redis.port));
    await expect(w.getByLabel('Database').count()).resolves.toBe(0);
    await kb.press('Enter');
    await atStep(page, 'Credentials');

    await kb.press('Tab');
    await kb.type(redis.users.monitor.user);
    await w.getByLabel('From an environment variable').focus(); // the radio group is one Tab stop; reach it directly then use arrows
    await kb.press('Space');
    await kb.press('Tab');
    await kb.type('E2E_REDIS_MONITOR');
    await kb.press('Enter');
    await atStep(page, 'Test connection');

    await kb.press('Tab');
    await kb.press('Enter');
    const verdict = w.getByRole('status', { name: 'Connection verdict' });
    await verdict.waitFor();
    await expect(verdict.textContent()).resolves.toMatch(/Connected/);
    await w.getByRole('button', { name: 'Next' }).focus();
    await kb.press('Enter');
    await atStep(page, 'Permissions');
    await kb.press('Tab');
    await kb.press('Enter');
    await w.getByRole('region', { name: 'Permissions for Wizard Redis' }).waitFor();
    await w.getByRole('button', { name: 'Next' }).focus();
    await kb.press('Enter');
    await atStep(page, 'Cloud metrics');
    await w.getByRole('button', { name: 'Next' }).focus();
    await kb.press('Enter');
    await atStep(page, 'Sensitive categories');
    await w.getByRole('button', { name: 'Show a sample preview' }).focus();
    await kb.press('Enter');
    await w.getByRole('region', { name: 'Collection result for Wizard Redis' }).waitFor();
    await w.getByRole('button', { name: 'Next' }).focus();
    await kb.press('Enter');
    await w.getByRole('button', { name: 'Finish' }).focus();
    await screenshot(page, 'wizard-redis');
    await kb.press('Enter');
    await page.getByRole('article', { name: 'Wizard Redis' }).waitFor();
    expect(api.store.target('wiz-redis')).toMatchObject({ engine: 'redis', port: redis.port, user: redis.users.monitor.user });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('binds a PostgreSQL target to its RDS instance: cloud step, live cloud access check, cloud signals in the preview', async () => {
    const pg = inject('pg');
    const aws = await startAwsResponder();
    try {
      const now = Math.floor(Date.now() / 60_000) * 60;
      aws.data.set('CPUUtilization', [
        [now - 180, 35],
        [now - 120, 38.5],
        [now - 60, 41],
      ]);
      aws.data.set('FreeableMemory', [
        [now - 180, 2.1e9],
        [now - 120, 2.0e9],
        [now - 60, 1.9e9],
      ]);
      aws.data.set('DatabaseConnections', [
        [now - 180, 11],
        [now - 120, 14],
        [now - 60, 12],
      ]);
      const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_AWS_SECRET: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
      // Test-only routing: CloudWatch and STS are the local responder (the wizard has no endpoint fields; target files and the API do),
      // added to the draft target of every call that reaches the provider, and to the target stored at Finish.
      const handlers = api.handlers as unknown as Record<string, (p: { target: Record<string, unknown> }, c: unknown) => Promise<unknown>>;
      for (const m of ['drafts.checkPermissions', 'drafts.preview', 'targets.create']) {
        const h = handlers[m]!;
        handlers[m] = (p, c) => {
          const cloud = p.target.cloud as Record<string, unknown> | undefined;
          return h({ ...p, target: cloud ? { ...p.target, cloud: { ...cloud, endpoint: aws.url, stsEndpoint: aws.url, caFile: aws.caFile } } : p.target }, c);
        };
      }
      const { page, problems } = await openApp(app.browser(), app.base(), api);
      await gotoScreen(page, 'Setup wizard');
      const w = wizard(page);
      await w.getByLabel('PostgreSQL').check();
      await w.getByRole('button', { name: 'Next' }).click();
      await atStep(page, 'Connection');
      await w.getByLabel('ID').fill('orders');
      await w.getByLabel('Display name').fill('Orders (RDS)');
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
      const cloud = w.getByRole('form', { name: 'Cloud metrics' });
      await cloud.getByLabel('Read cloud provider metrics for this target').check();
      await cloud.getByLabel('Managed service').selectOption('rds');
      await cloud.getByLabel('Region', { exact: true }).fill('eu-west-1');
      await cloud.getByLabel('Instance or cluster identifier').fill('orders-db');
      await cloud.getByLabel('Access key ID').fill('AKIAIOSFODNN7EXAMPLE');
      await cloud.getByLabel('From an environment variable').check();
      await cloud.getByLabel('Variable name').fill('E2E_AWS_SECRET');
      await cloud.getByRole('button', { name: 'Save cloud binding' }).click();
      await cloud.getByText('Cloud binding kept; stored with the target at Finish.').waitFor();
      expect(api.store.target('orders')).toBeUndefined();

      await w.getByRole('button', { name: 'Check cloud access' }).click();
      const access = w.getByRole('region', { name: 'Cloud access check' });
      await access.waitFor();
      await expect(access.textContent()).resolves.toMatch(/arn:aws:iam::123456789012:user\/[\s\S]*Read-only: unknown[\s\S]*cloudwatch:GetMetricData/);
      await expect(access.getByLabel('Cloud access script').textContent()).resolves.toContain('"cloudwatch:GetMetricData"');
      await screenshot(page, 'wizard-cloud');
      await w.getByRole('button', { name: 'Next' }).click();

      // The sample preview carries the provider's metrics beside the database's.
      await atStep(page, 'Sensitive categories');
      await w.getByRole('button', { name: 'Show a sample preview' }).click();
      const result = w.getByRole('region', { name: 'Collection result for Orders (RDS)' });
      await result.waitFor();
      await expect(result.textContent()).resolves.toMatch(/cloud\.cpu/);
      expect(aws.requests.some((r) => r.operation === 'GetMetricData')).toBe(true);
      await w.getByRole('button', { name: 'Next' }).click();
      await w.getByRole('button', { name: 'Finish' }).click();
      await page.getByRole('article', { name: 'Orders (RDS)' }).waitFor();
      expect(api.store.target('orders')?.cloud).toMatchObject({
        provider: 'aws',
        region: 'eu-west-1',
        service: 'rds',
        resourceId: 'orders-db',
        secret: { env: 'E2E_AWS_SECRET' },
      });

      // The dashboard draws the provider's own last hour beside the database's charts, from the first real cycle
      // (the wizard's preview of the unsaved target reached neither the feed nor the charts).
      const orders = page.getByRole('article', { name: 'Orders (RDS)' });
      await orders.waitFor();
      await orders.getByRole('button', { name: 'Collect now' }).click();
      const cpu = orders.getByRole('img', { name: /^Cloud CPU \(CPUUtilization\), last hour: latest 41\.0 %, lowest 35\.0 %, highest 41\.0 %/ });
      await cpu.waitFor();
      await screenshot(page, 'dashboard-cloud-charts', orders.getByRole('region', { name: 'Key metrics of Orders (RDS), last hour' }));
      expect(problems).toEqual([]);
      await page.context().close();
    } finally {
      await aws.stop();
    }
  }, 60_000); // a wizard walk, a live cloud check and two cycles against two local servers: slow on a loaded machine
});
