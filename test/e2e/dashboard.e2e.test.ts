// The targets dashboard: navigation, a target's health, last cycle and charts, dark
// theme; adding targets (validation, the agent's refusals, keyboard); a target card's
// test, permission check, collection and policy over a real PostgreSQL.
import { readFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { addTarget, card, gotoScreen, openApp, screenshot, useApp } from './app.js';

const app = useApp();

describe('dashboard', () => {
  it('lists targets with their health and last cycle, and the navigation reaches every screen', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_LOWPRIV: pg.users.lowpriv.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    const nav = page.getByRole('navigation', { name: 'Screens' });
    // First run (no target): the guided setup opens, not a bare form.
    await expect(nav.getByRole('button', { name: 'Setup wizard' }).getAttribute('aria-current')).resolves.toBe('page');
    await addTarget(page, {
      id: 'dash',
      name: 'Dash DB',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    const c = card(page, 'Dash DB');
    await c.getByRole('button', { name: 'Collect now' }).click();
    await c.getByText(/All required signals available|Some signals unavailable/).waitFor();

    // Charts of key metrics, fed by the cycles of the live feed: a second cycle gives the rates.
    const charts = c.getByRole('region', { name: 'Key metrics of Dash DB, last hour' });
    await charts.getByRole('img', { name: /^Connections, last hour: latest \d+/ }).waitFor();
    await expect(charts.getByRole('img', { name: /^Commits, last hour: no value yet \(needs a second cycle\)/ }).count()).resolves.toBe(1);
    await c.getByRole('button', { name: 'Collect now' }).click();
    await charts.getByRole('img', { name: /^Commits, last hour: latest [\d.,]+\/s/ }).waitFor();
    await expect(charts.locator('canvas').count()).resolves.toBeGreaterThanOrEqual(3);

    // A least-privileged identity cannot read other sessions: that chart says why instead of drawing 0.
    await addTarget(page, {
      id: 'low',
      name: 'Low DB',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.lowpriv.user,
      database: pg.database,
      env: 'E2E_PG_LOWPRIV',
    });
    const low = card(page, 'Low DB');
    await low.getByRole('button', { name: 'Collect now' }).click();
    const active = low.getByRole('img', { name: /^Active sessions: unavailable: / });
    await active.waitFor();
    await expect(active.textContent()).resolves.toMatch(/^unavailable: .*pg_read_all_stats/);
    await screenshot(page, 'dashboard');
    await screenshot(page, 'dashboard-charts', charts);
    await screenshot(page, 'dashboard-charts-limited', low.getByRole('region', { name: /^Key metrics/ }));

    for (const [name, heading] of [
      ['Setup wizard', 'Set up a target'],
      ['Live feed', 'Live feed'],
      ['Readiness', 'Production readiness'],
      ['Settings', 'Settings'],
      ['Dashboard', 'Targets'],
    ] as const) {
      await gotoScreen(page, name);
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      await expect(nav.getByRole('button', { name }).getAttribute('aria-current')).resolves.toBe('page');
    }
    await card(page, 'Dash DB')
      .getByText(/All required signals available|Some signals unavailable/)
      .waitFor();

    // The OS dark theme is followed.
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).not.toBe('rgb(246, 247, 249)');
    await screenshot(page, 'dashboard-dark');
    await screenshot(page, 'dashboard-charts-dark', card(page, 'Dash DB').getByRole('region', { name: /^Key metrics/ }));
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000); // starts the app over two real servers; slow on a loaded machine
});

describe('dashboard: adding targets', () => {
  it('adds a target through the form, with validation, and lists it', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);

    // Header from status.get.
    await expect(page.getByText('5b0c8a0e-2f7e-4c5e-9a51-3c1f6f3b7d21').isVisible()).resolves.toBe(true);
    await expect(page.getByText('e2e-host').isVisible()).resolves.toBe(true);
    await expect(page.getByText('Running', { exact: true }).isVisible()).resolves.toBe(true);

    // No targets yet: the setup wizard is open; the dashboard's form is one click away. Submitting it empty explains each field and focuses the first.
    await page.getByRole('region', { name: 'Set up a target' }).waitFor();
    await gotoScreen(page, 'Dashboard');
    await page.getByRole('button', { name: 'Add target' }).click();
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
    await expect
      .poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 })
      .toMatch(/Password not stored:.*"billing" was added without a password.*no OS keystore in this test/);
    expect(api.store.target('billing')?.password).toBeUndefined();
    await page.getByRole('button', { name: 'Dismiss' }).click();

    // A target nothing listens on: the verdict says so plainly; no password is needed to find out.
    await orders.getByRole('button', { name: 'Test connection' }).click();
    await orders.getByRole('heading', { name: /^(Connection refused|Host name not found|Server unreachable|Configuration problem)$/ }).waitFor();
    await expect.poll(() => orders.getByRole('status').first().textContent(), { timeout: 10_000 }).toMatch(/Details: /);

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

describe('dashboard: a target card over a real PostgreSQL', () => {
  it('tests, checks permissions of, and collects from a least-privileged and an administrator identity', async () => {
    const pg = inject('pg');
    const api = app.api({ E2E_PG_MONITOR: pg.users.monitor.password, E2E_PG_ADMIN: pg.users.admin.password });
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.base() });
    await gotoScreen(page, 'Dashboard'); // a first run opens the setup wizard
    const feed = page.getByRole('region', { name: 'Live feed' });
    await feed.getByText('Listening').waitFor();

    await addTarget(page, {
      id: 'appdb',
      name: 'App DB (monitor)',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.monitor.user,
      database: pg.database,
      env: 'E2E_PG_MONITOR',
    });
    const monitor = card(page, 'App DB (monitor)');

    await monitor.getByRole('button', { name: 'Test connection' }).click();
    await monitor.getByText('Connection OK:').waitFor();
    await expect
      .poll(() => monitor.getByRole('status').first().textContent(), { timeout: 10_000 })
      .toMatch(new RegExp(`connected as ${pg.users.monitor.user}; server \\d+`));

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
    for (const row of await result.locator('tr[data-signal]').all()) {
      const text = (await row.textContent()) ?? '';
      if (!text.includes('Available'))
        expect(text).toMatch(/Not read\s*(No permission|Not enabled[^:]*|Not licensed|Not supported[^:]*|Disabled|Error|Timed out):\s*\S/);
    }
    // The live feed got the payload; the card's state moved on from "not collected".
    await feed.getByRole('listitem').first().waitFor();
    await expect
      .poll(() => feed.getByRole('listitem').first().textContent(), { timeout: 10_000 })
      .toMatch(/App DB \(monitor\).*\d+ available\s*\d+ unavailable/);
    await monitor.getByText(/All required signals available|Some signals unavailable/).waitFor();

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
    const changes = (await readFile(api.ledger.file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['kind'] === 'policy_change');
    expect(changes).toEqual([
      expect.objectContaining({ scope: 'target', targetId: 'appdb', via: 'api', after: { identity_metadata: 'redact', client_metadata: 'exclude' } }),
    ]);

    await monitor.getByRole('button', { name: 'Collect now' }).click();
    await result.getByText(/fields? redacted, [1-9]\d* excluded/).waitFor();
    await expect(activityRow.getByLabel('client_addr: Client host, application, session, Excluded').count()).resolves.toBe(1);
    await expect(activityRow.getByLabel('usename: Users, roles, privileges, Redacted').count()).resolves.toBe(1);
    await expect(activityRow.getByLabel('state').count()).resolves.toBe(0); // not sensitive: counted, not listed
    await result.getByText(/^Payload exactly as it would be sent \(JSON/).click();
    const json = JSON.parse((await result.getByLabel('Payload JSON').textContent()) ?? '{}') as {
      signals: Array<{ id: string; value?: Array<Record<string, unknown>>; policy?: Record<string, string> }>;
    };
    const activity = json.signals.find((x) => x.id === 'postgres.activity');
    expect(activity?.policy).toMatchObject({ client_addr: 'exclude', usename: 'redact' });
    for (const r of activity?.value ?? []) {
      expect(r).not.toHaveProperty('client_addr');
      if (r['usename'] !== null) expect(r['usename']).toMatch(/^h:[0-9a-f]{16}$/);
    }
    await expect.poll(() => feed.getByRole('listitem').first().textContent(), { timeout: 10_000 }).toMatch(/\d+ redacted\s*[1-9]\d* excluded/);
    await screenshot(page, 'policy');

    // The same server as a superuser: the warning banner, with the reasons.
    await addTarget(page, {
      id: 'appdb-admin',
      name: 'App DB (admin)',
      host: pg.host,
      port: String(pg.port),
      user: pg.users.admin.user,
      database: pg.database,
      env: 'E2E_PG_ADMIN',
    });
    const admin = card(page, 'App DB (admin)');
    await admin.getByRole('button', { name: 'Check permissions' }).click();
    const banner = admin.getByRole('alert');
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toMatch(new RegExp(`Warning: ${pg.users.admin.user} is an administrator`));

    await screenshot(page, 'postgres');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 90_000); // two identities, three collections and a policy round trip through the UI: slow on a loaded machine
});
