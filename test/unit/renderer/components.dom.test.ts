// @vitest-environment happy-dom
// The renderer's components mounted in a DOM (Svelte 5 mount): the wizard's field
// validation as the operator sees it, and the permission checklist's states.
/// <reference lib="dom" />
import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import PermissionReport from '../../../renderer/src/lib/PermissionReport.svelte';
import Wizard from '../../../renderer/src/lib/Wizard.svelte';

let mounted: Record<string, unknown> | undefined;
afterEach(() => {
  if (mounted) unmount(mounted);
  mounted = undefined;
  document.body.innerHTML = '';
  vi.unstubAllGlobals();
});

function render(component: Parameters<typeof mount>[0], props: Record<string, unknown> = {}): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  mounted = mount(component, { target, props });
  flushSync();
  return target;
}

const byLabel = (root: HTMLElement, label: string): HTMLInputElement => {
  const l = [...root.querySelectorAll('label')].find((x) => x.textContent?.trim().startsWith(label));
  const input = l?.htmlFor ? root.querySelector<HTMLInputElement>(`#${l.htmlFor}`) : l?.querySelector('input');
  if (!input) throw new Error(`no field labelled ${label}`);
  return input;
};
const button = (root: HTMLElement, name: string): HTMLButtonElement => {
  const b = [...root.querySelectorAll('button')].find((x) => x.textContent?.trim() === name);
  if (!b) throw new Error(`no button ${name}`);
  return b;
};
async function type(input: HTMLInputElement, value: string): Promise<void> {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  await tick();
}
async function submit(root: HTMLElement): Promise<void> {
  root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  await tick();
  await tick();
}
const errorOf = (root: HTMLElement, field: string) => root.querySelector(`#wizard-${field}-error`)?.textContent?.trim();

describe('setup wizard validation', () => {
  it('names each wrong field with a helpful message, marks it invalid, and calls nothing', async () => {
    const calls: string[] = [];
    vi.stubGlobal('logstag', {
      call: async (m: string) => (calls.push(m), { ok: false, error: { code: 'internal', message: 'not in this test' } }),
      onEvent: () => () => {},
    });
    const root = render(Wizard);
    button(root, 'Next').click();
    await tick();
    expect(root.querySelector('h3')?.textContent).toBe('Connection');

    await type(byLabel(root, 'ID'), 'bad id!');
    await type(byLabel(root, 'Host'), 'postgres://db1.internal');
    await type(byLabel(root, 'Port'), '99999');
    await submit(root);
    expect(root.querySelector('[role="alert"]')?.textContent).toMatch(/Some fields need attention/);
    expect(errorOf(root, 'id')).toMatch(/letters, digits/);
    expect(errorOf(root, 'host')).toBe('is a host name or IP address only, without a scheme such as postgres:// (e.g. db1.internal)');
    expect(errorOf(root, 'port')).toBe('must be a whole number from 1 to 65535');
    expect(errorOf(root, 'database')).toBe('is required for PostgreSQL');
    expect(byLabel(root, 'Host').getAttribute('aria-invalid')).toBe('true');
    expect(byLabel(root, 'Host').getAttribute('aria-describedby')).toBe('wizard-host-error');
    expect(root.querySelector('h3')?.textContent).toBe('Connection');

    await type(byLabel(root, 'Host'), 'db1.internal:6543');
    await submit(root);
    expect(errorOf(root, 'host')).toBe('is the host name only: put 6543 in the Port field');
    await type(byLabel(root, 'Host'), 'db 1');
    await submit(root);
    expect(errorOf(root, 'host')).toBe('must not contain spaces');

    // Fixed: the step moves on, and Back shows the entries kept.
    await type(byLabel(root, 'ID'), 'orders');
    await type(byLabel(root, 'Host'), 'db1.internal');
    await type(byLabel(root, 'Port'), '5432');
    await type(byLabel(root, 'Database'), 'app');
    await submit(root);
    expect(root.querySelector('h3')?.textContent).toBe('Credentials');
    expect(root.querySelector('[role="alert"]')).toBeNull();

    // An empty user and an invalid variable name are refused before anything is saved.
    await type(byLabel(root, 'User'), '');
    (root.querySelector('input[value="env"]') as HTMLInputElement).click();
    await tick();
    await type(byLabel(root, 'Variable name'), '9PW');
    await submit(root);
    expect(errorOf(root, 'user')).toBe('is required');
    expect(errorOf(root, 'passwordEnv')).toMatch(/must be an environment variable name/);
    expect(calls).toEqual([]);

    button(root, 'Back').click();
    await tick();
    expect(byLabel(root, 'Host').value).toBe('db1.internal');
    expect(byLabel(root, 'Database').value).toBe('app');
  });
});

type Report = {
  identity: { user: string; isAdministrator: boolean; reasons: string[]; serverVersion: string };
  items: Array<{ grant: string; status: string; signals: string[]; detail: string; fix?: string }>;
  script: string;
};
const report = (admin: boolean): Report => ({
  identity: { user: admin ? 'postgres' : 'monitor', isAdministrator: admin, reasons: admin ? ['is a superuser'] : [], serverVersion: '16.4' },
  items: [
    { grant: 'pg_monitor', status: 'granted', signals: ['postgres.activity'], detail: 'sessions are visible', fix: 'GRANT pg_monitor TO monitor;' },
    {
      grant: 'pg_read_all_stats',
      status: 'missing',
      signals: ['postgres.activity', 'postgres.locks'],
      detail: 'other sessions are masked',
      fix: 'GRANT pg_read_all_stats TO monitor;',
    },
    {
      grant: 'pg_stat_statements',
      status: 'not_enabled',
      signals: ['postgres.query_stats'],
      detail: 'the extension is not installed',
      fix: 'CREATE EXTENSION pg_stat_statements;',
    },
    { grant: 'Diagnostics Pack', status: 'not_licensed', signals: [], detail: 'AWR needs the Diagnostics Pack' },
    { grant: 'slowlog arguments', status: 'opt_in', signals: ['redis.slowlog'], detail: 'off until the operator turns it on' },
    { grant: 'replication', status: 'not_applicable', signals: [], detail: 'not a replica' },
  ],
  script: 'CREATE ROLE logstag_monitor LOGIN;\nGRANT pg_monitor TO logstag_monitor;',
});
const rows = (root: HTMLElement) =>
  [...root.querySelectorAll('tbody tr')].map((tr) => {
    const td = tr.querySelectorAll('td');
    return { status: td[0]?.textContent?.trim(), grant: td[1]?.textContent?.trim(), fix: (td[3]?.querySelector('pre') ?? td[3])?.textContent?.trim() };
  });

describe('permission checklist', () => {
  it('shows every state in words, the grant to fix what is not granted, and no admin warning for a monitor', () => {
    const root = render(PermissionReport, { report: report(false), targetName: 'Orders' });
    expect(rows(root)).toEqual([
      { status: 'Granted', grant: 'pg_monitor', fix: '—' },
      { status: 'Missing', grant: 'pg_read_all_stats', fix: 'GRANT pg_read_all_stats TO monitor;' },
      { status: 'Not enabled', grant: 'pg_stat_statements', fix: 'CREATE EXTENSION pg_stat_statements;' },
      { status: 'Not licensed', grant: 'Diagnostics Pack', fix: '—' },
      { status: 'Opt-in', grant: 'slowlog arguments', fix: '—' },
      { status: 'Not applicable', grant: 'replication', fix: '—' },
    ]);
    expect(root.textContent).toContain('Needed by: postgres.activity, postgres.locks');
    expect(root.querySelector('[role="alert"]')).toBeNull();
    expect(root.querySelector('section')?.getAttribute('aria-label')).toBe('Permissions for Orders');
  });

  it('warns prominently about an administrator, with the reasons and the dedicated-user script', () => {
    const root = render(PermissionReport, { report: report(true), targetName: 'Orders' });
    const alert = root.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain('Warning: postgres is an administrator.');
    expect(alert?.querySelector('li')?.textContent).toBe('is a superuser');
    expect(alert?.textContent).toContain('Create a dedicated, least-privileged monitoring identity with the script below');
    expect(root.querySelector('pre[aria-label="Grant script"]')?.textContent).toBe(report(true).script);
  });

  it('copies the whole script, and selects it when the clipboard is refused', async () => {
    const writeText = vi.fn(async (_text: string) => {});
    vi.stubGlobal('navigator', { clipboard: { writeText } });
    const root = render(PermissionReport, { report: report(false), targetName: 'Orders' });
    button(root, 'Copy script').click();
    await vi.waitFor(() => expect(root.querySelector('p[role="status"]')?.textContent).toBe('Copied to the clipboard.'));
    expect(writeText).toHaveBeenCalledWith(report(false).script);

    writeText.mockRejectedValueOnce(new Error('denied'));
    button(root, 'Copy script').click();
    await vi.waitFor(() => expect(root.querySelector('p[role="status"]')?.textContent).toMatch(/^Could not copy automatically: the script is selected/));
    expect(window.getSelection()?.toString()).toBe(report(false).script);
  });
});
