// Settings verifies before it says "sending" (issue 22): a test batch (`test: true`, no
// entries, `Logstag-Test: true`) goes through the same request, egress guard and TLS
// trust as delivery, and the verdict says in plain words what happened: acknowledged,
// API key rejected, refused, host name not found. "Sending to …" only after an
// acknowledged test send of exactly the saved configuration.
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../agent/api/handlers.js';
import { type IngestServer, startIngestServer, testPki } from '../helpers/ingest-server.js';
import { type AgentApi, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();
const servers: IngestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => {});
});

async function configure(api: AgentApi, url: string): Promise<void> {
  const r = await dispatch(
    api.handlers,
    { method: 'settings.update', params: { destination: { url, apiKey: { env: 'E2E_LOGSTAG_KEY' }, caFile: testPki().caFile, allowPrivateAddress: true } } },
    { emit: () => {} },
  );
  expect(r.ok).toBe(true);
}

async function sendTest(page: Page): Promise<string> {
  const dest = page.getByRole('form', { name: 'Logstag destination' });
  await dest.getByRole('button', { name: 'Send a test batch' }).click();
  const verdict = dest.getByRole('status', { name: 'Test send verdict' });
  await verdict.waitFor();
  await dest.getByRole('button', { name: 'Send a test batch' }).waitFor();
  return (await verdict.textContent()) ?? '';
}

const said = (page: Page) => page.getByRole('form', { name: 'Logstag destination' }).locator('p.muted').first().textContent();

describe('destination test send', () => {
  it('acknowledged: the service sees a test batch, nothing is stored; only then Settings says "Sending to"; a wrong key is "API key rejected"', async () => {
    const srv = await startIngestServer({ apiKey: 'e2e-key-1' });
    servers.push(srv);
    const env: NodeJS.ProcessEnv = { E2E_LOGSTAG_KEY: 'e2e-key-1' };
    const api = app.api(env);
    await configure(api, srv.url());
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Settings');
    await expect(said(page)).resolves.toMatch(/^\s*Configured, not verified: https:\/\/localhost:\d+\/v1\/ingest/);
    await expect(page.getByRole('main').textContent()).resolves.not.toMatch(/Sending to/);

    const text = await sendTest(page);
    expect(text).toMatch(/^Sent and acknowledged/);
    expect(text).toMatch(/acknowledged the test batch \(HTTP 200\)/);
    // What the service got: a batch it can recognise as a test, with the agent's key, and no payload to store.
    const req = srv.requests.at(-1)!;
    expect(req.headers['logstag-test']).toBe('true');
    expect(req.headers['authorization']).toBe('Bearer e2e-key-1');
    expect(req.batch).toMatchObject({ schema: 'logstag.batch/v1', test: true, entries: [] });
    expect(srv.accepted).toHaveLength(0);
    await expect(said(page)).resolves.toMatch(/^\s*Sending to https:\/\/localhost:\d+\/v1\/ingest: a test batch was acknowledged at/);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const size of [
        { width: 1280, height: 800 },
        { width: 900, height: 600 },
      ]) {
        await page.setViewportSize(size);
        await screenshot(page, `settings-test-send-ok-${size.width}x${size.height}-${scheme}`, page.getByRole('form', { name: 'Logstag destination' }));
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });

    // The key changes (rotated on the service side, wrong here): the service answers 401.
    env.E2E_LOGSTAG_KEY = 'e2e-key-wrong';
    const rejected = await sendTest(page);
    expect(rejected).toMatch(/^API key rejected \(HTTP 401\)/);
    expect(rejected).toMatch(/Enter the current key/);
    await expect(said(page)).resolves.toMatch(/^\s*Configured, not verified/);
    await screenshot(page, 'settings-test-send-401', page.getByRole('form', { name: 'Logstag destination' }));
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('a destination that is down is "Connection refused"; a host that does not resolve is "Host name not found"; neither says "Sending to"', async () => {
    const srv = await startIngestServer({ apiKey: 'e2e-key-2' });
    servers.push(srv);
    const url = srv.url();
    await srv.stop();
    const api = app.api({ E2E_LOGSTAG_KEY: 'e2e-key-2' });
    await configure(api, url);
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await gotoScreen(page, 'Settings');
    const down = await sendTest(page);
    expect(down).toMatch(/^Connection refused/);
    expect(down).toMatch(/refused the connection/);
    await expect(said(page)).resolves.toMatch(/^\s*Configured, not verified/);

    await configure(api, 'https://logstag-e2e.invalid/v1/ingest');
    await page.reload();
    await page.getByRole('heading', { name: 'Logstag Agent', level: 1 }).waitFor();
    await gotoScreen(page, 'Settings');
    const dns = await sendTest(page);
    expect(dns).toMatch(/^Host name not found/);
    expect(dns).toMatch(/does not resolve/);
    await expect(page.getByRole('main').textContent()).resolves.not.toMatch(/Sending to/);
    await screenshot(page, 'settings-test-send-dns', page.getByRole('form', { name: 'Logstag destination' }));
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);
});
