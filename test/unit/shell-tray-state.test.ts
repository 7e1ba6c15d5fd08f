// What the tray shows for an agent status (pure: electron/shell/tray-state.ts), the
// tray adapter driven with fake Electron Tray/Menu objects, and the icon files
// (build/icons/make-tray-icon.mjs): one per state and platform, as committed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import type { RuntimeStatus, RuntimeTargetStatus } from '../../agent/run/app-runtime.js';
import { createTrayController, menuTemplate, type TrayLike } from '../../electron/shell/tray.js';
import { fitTooltip, TOOLTIP_MAX, TRAY_STATES, trayIconFile, trayMenu, type TrayAction, type TrayState, trayViewOf } from '../../electron/shell/tray-state.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const buildDir = join(root, 'build');
const trayIcons = join(buildDir, 'icons', 'tray');

const ok = (id: string, extra: Partial<RuntimeTargetStatus> = {}): RuntimeTargetStatus => ({
  id,
  name: id,
  engine: 'postgres',
  state: 'ok',
  lastCollectedAt: '2025-01-01T00:00:00.000Z',
  unavailableSignals: 0,
  permissionGaps: 0,
  ...extra,
});
const status = (targets: RuntimeTargetStatus[], extra: Partial<RuntimeStatus> = {}): RuntimeStatus => ({ paused: false, targets, ...extra });
const problem = (kind: NonNullable<RuntimeTargetStatus['problem']>['kind'], message = 'x') => ({
  problem: { kind, message, since: '2025-01-01T00:00:00.000Z' },
});

describe('tray state from agent status', () => {
  it('healthy: every target collected in full', () => {
    const v = trayViewOf(status([ok('pg-1'), ok('pg-2')]));
    expect(v).toMatchObject({ state: 'healthy', headline: 'all 2 targets healthy', paused: false, canCollect: true });
    expect(v.tooltip).toBe('Logstag Agent: all 2 targets healthy');
  });

  it('healthy while the first collection is pending', () => {
    expect(trayViewOf(status([{ id: 'pg-1', name: 'pg-1', engine: 'postgres', state: 'never_collected' }]))).toMatchObject({
      state: 'healthy',
      headline: '1 target, first collection pending',
    });
  });

  it('permission-limited: signals lacking a grant; limited like the dashboard for other gaps', () => {
    const v = trayViewOf(status([ok('pg-1', { state: 'limited', unavailableSignals: 5, permissionGaps: 3 }), ok('pg-2')]));
    expect(v.state).toBe('limited');
    expect(v.headline).toBe('permission-limited: 1 of 2 targets lack grants');
    expect(v.tooltip).toContain('pg-1: 3 signals need a grant');
    // Unavailable for other reasons (extension not installed, …): limited, as on the dashboard, without blaming grants.
    const other = trayViewOf(status([ok('pg-1', { state: 'limited', unavailableSignals: 2, permissionGaps: 0 })]));
    expect(other).toMatchObject({ state: 'limited', headline: 'limited: 1 of 1 target missing signals' });
    expect(other.tooltip).toContain('pg-1: some signals unavailable');
    // Optional signals only (a superuser-only view, an opt-in left off): the agent reports the target ok, so healthy.
    expect(trayViewOf(status([ok('pg-1', { state: 'ok', unavailableSignals: 1, permissionGaps: 0 })])).state).toBe('healthy');
  });

  it('attention: credentials due, a target configuration, the state file too open, a delivery backlog, no targets', () => {
    const creds = trayViewOf(status([ok('pg-1', problem('credentials')), ok('pg-2')]));
    expect(creds).toMatchObject({ state: 'attention', headline: 'attention needed' });
    expect(creds.tooltip).toContain('pg-1: credentials due (re-enter the password)');
    expect(trayViewOf(status([ok('pg-1', problem('config'))])).tooltip).toContain('pg-1: configuration needs fixing');
    expect(trayViewOf(status([ok('pg-1')], { configTooOpen: '/x/state.json can be read by other users' })).tooltip).toContain(
      'state file is open to other users',
    );
    expect(trayViewOf(status([ok('pg-1')], { delivery: { pending: 250, backlog: true } })).tooltip).toContain('delivery backlog: 250 payloads waiting');
    expect(trayViewOf(status([ok('pg-1')], { delivery: { pending: 3, failing: 'HTTP 503', backlog: true } })).tooltip).toContain(
      'delivery failing, 3 payloads waiting',
    );
    expect(trayViewOf(status([ok('pg-1')], { delivery: { pending: 3, backlog: false } })).state).toBe('healthy');
    const none = trayViewOf(status([]));
    expect(none).toMatchObject({ state: 'attention', canCollect: false });
    expect(none.tooltip).toContain('no targets configured yet');
    // Attention outranks permission gaps.
    expect(trayViewOf(status([ok('pg-1', problem('credentials')), ok('pg-2', { permissionGaps: 2 })])).state).toBe('attention');
  });

  it('error: a target not collected (unreachable, timed out, failing) or payloads not stored; outranks attention', () => {
    for (const kind of ['unreachable', 'timeout', 'internal'] as const) {
      const v = trayViewOf(status([ok('pg-1', problem(kind)), ok('pg-2', problem('credentials'))], { configTooOpen: 'x' }));
      expect(v.state).toBe('error');
      expect(v.headline).toBe('1 of 2 targets not collected');
      // The error first, then as much of the rest as fits.
      expect(v.tooltip.split('\n').slice(0, 2)).toEqual(['Logstag Agent: 1 of 2 targets not collected', expect.stringMatching(/^pg-1: /)]);
      expect(v.tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    }
    expect(trayViewOf(status([ok('pg-1', { state: 'unreachable' })])).state).toBe('error');
    expect(trayViewOf(status([ok('pg-1')], { deliveryError: 'payloads cannot be stored for delivery: ENOSPC' }))).toMatchObject({
      state: 'error',
      headline: 'payloads cannot be stored',
    });
  });

  it('paused outranks everything and says how to resume; collect now is off', () => {
    const v = trayViewOf(status([ok('pg-1', problem('unreachable')), ok('pg-2')], { paused: true }));
    expect(v).toMatchObject({ state: 'paused', headline: 'collection paused (2 targets)', paused: true, canCollect: false });
    expect(v.tooltip.split('\n')[1]).toBe('Resume from this menu');
  });

  it('keeps every tooltip within the Windows limit, cutting details first', () => {
    const many = Array.from({ length: 30 }, (_, i) => ok(`a-very-long-target-identifier-number-${i}`, problem('unreachable')));
    const v = trayViewOf(status(many));
    expect(v.tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(v.tooltip.startsWith('Logstag Agent: 30 of 30 targets not collected\n')).toBe(true);
    expect(fitTooltip(['x'.repeat(300)])).toHaveLength(TOOLTIP_MAX);
    expect(fitTooltip(['short', 'y'.repeat(300)]).length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(fitTooltip(['a', 'b'])).toBe('a\nb');
  });
});

describe('tray menu', () => {
  const labels = (state: Parameters<typeof trayMenu>[0], login = { supported: true, enabled: false }) =>
    trayMenu(state, login).map((e) =>
      e.type === 'separator' ? '---' : `${e.label}${e.enabled ? '' : ' (off)'}${e.type === 'checkbox' ? ` [${e.checked ? 'x' : ' '}]` : ''}`,
    );

  it('offers open, pause/resume, collect now, the audit ledger, start at login and quit', () => {
    expect(labels(trayViewOf(status([ok('pg-1')])))).toEqual([
      'All 1 target healthy (off)',
      '---',
      'Open Logstag Agent',
      'Pause collection',
      'Collect now',
      'Open audit ledger',
      '---',
      'Start at login [ ]',
      '---',
      'Quit Logstag Agent',
    ]);
    const paused = labels(trayViewOf(status([ok('pg-1')], { paused: true })), { supported: true, enabled: true });
    expect(paused).toContain('Resume collection');
    expect(paused).toContain('Collect now (off)');
    expect(paused).toContain('Start at login [x]');
    // Linux has no login items in Electron: no checkbox.
    expect(labels(trayViewOf(status([ok('pg-1')])), { supported: false, enabled: false }).some((l) => l.startsWith('Start at login'))).toBe(false);
  });

  it('binds each entry to its action and nothing else', () => {
    const actions = Object.fromEntries(
      (['open', 'pause', 'resume', 'collect', 'ledger', 'login', 'quit'] as const).map((a) => [a, vi.fn()]),
    ) as unknown as Record<TrayAction, () => void>;
    const template = menuTemplate(trayMenu(trayViewOf(status([ok('pg-1')])), { supported: true, enabled: true }), actions);
    expect(template[0]?.click).toBeUndefined();
    const click = (label: string) => (template.find((t) => t.label === label)?.click as (() => void) | undefined)?.();
    click('Pause collection');
    click('Collect now');
    click('Start at login');
    click('Quit Logstag Agent');
    expect(actions.pause).toHaveBeenCalledTimes(1);
    expect(actions.collect).toHaveBeenCalledTimes(1);
    expect(actions.login).toHaveBeenCalledTimes(1);
    expect(actions.quit).toHaveBeenCalledTimes(1);
    expect(actions.resume).not.toHaveBeenCalled();
    expect(template.find((t) => t.label === 'Start at login')).toMatchObject({ type: 'checkbox', checked: true });
  });
});

class FakeTray implements TrayLike {
  static last: FakeTray | undefined;
  readonly images: string[] = [];
  tooltip = '';
  menu: MenuItemConstructorOptions[] | null = null;
  clicks: Array<() => void> = [];
  destroyed = false;
  constructor(image: string) {
    this.images.push(image);
    FakeTray.last = this;
  }
  setImage(image: string): void {
    this.images.push(image);
  }
  setToolTip(toolTip: string): void {
    this.tooltip = toolTip;
  }
  setContextMenu(menu: object | null): void {
    this.menu = menu as MenuItemConstructorOptions[] | null;
  }
  on(_event: 'click', listener: () => void): this {
    this.clicks.push(listener);
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
}
const FakeMenu = { buildFromTemplate: (template: MenuItemConstructorOptions[]) => template };

describe('tray adapter (fake Electron Tray and Menu)', () => {
  const actions = () =>
    Object.fromEntries((['open', 'pause', 'resume', 'collect', 'ledger', 'login', 'quit'] as const).map((a) => [a, vi.fn()])) as unknown as Record<
      TrayAction,
      () => void
    >;

  it('shows the icon of each state, changes it only when the state changes, and keeps tooltip and menu current', () => {
    const acts = actions();
    const tray = createTrayController(
      { Tray: FakeTray, Menu: FakeMenu, iconsDir: '/icons', platform: 'darwin', actions: acts, loginItem: () => ({ supported: true, enabled: false }) },
      trayViewOf(status([ok('pg-1')])),
    );
    const fake = FakeTray.last!;
    expect(fake.images).toEqual(['/icons/macos/healthyTemplate.png']);
    expect(fake.tooltip).toBe('Logstag Agent: all 1 target healthy');
    tray.update(trayViewOf(status([ok('pg-1')], { paused: true })));
    expect(fake.images).toEqual(['/icons/macos/healthyTemplate.png', '/icons/macos/pausedTemplate.png']);
    expect(fake.menu?.map((m) => m.label)).toContain('Resume collection');
    tray.update(trayViewOf(status([ok('pg-1')], { paused: true })));
    expect(fake.images).toHaveLength(2);
    expect(tray.state).toBe('paused');
    // macOS: a click opens the menu, not the window.
    expect(fake.clicks).toEqual([]);
    tray.destroy();
    expect(fake.destroyed).toBe(true);
  });

  it('on Windows and Linux a click on the icon opens the window; icons are .ico and .png', () => {
    for (const [platform, file] of [
      ['win32', '/icons/windows/error.ico'],
      ['linux', '/icons/linux/error.png'],
    ] as const) {
      const acts = actions();
      createTrayController(
        { Tray: FakeTray, Menu: FakeMenu, iconsDir: '/icons', platform, actions: acts, loginItem: () => ({ supported: platform === 'win32', enabled: false }) },
        trayViewOf(status([ok('pg-1', problem('unreachable'))])),
      );
      expect(FakeTray.last!.images).toEqual([file]);
      FakeTray.last!.clicks.forEach((c) => c());
      expect(acts.open).toHaveBeenCalledTimes(1);
    }
  });
});

// ---- icon files ----

interface Png {
  width: number;
  height: number;
  rgba: Buffer;
}
function decodePng(data: Buffer): Png {
  expect(data.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let i = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (i < data.length) {
    const len = data.readUInt32BE(i);
    const type = data.toString('ascii', i + 4, i + 8);
    const body = data.subarray(i + 8, i + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([...body.subarray(8, 13)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(body);
    i += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (1 + width * 4)]).toBe(0); // filter: none (as the script writes)
    raw.copy(rgba, y * width * 4, y * (1 + width * 4) + 1, (y + 1) * (1 + width * 4));
  }
  return { width, height, rgba };
}
function decodeIco(data: Buffer): Array<{ size: number; png: Png }> {
  expect(data.readUInt16LE(0)).toBe(0);
  expect(data.readUInt16LE(2)).toBe(1);
  const n = data.readUInt16LE(4);
  return Array.from({ length: n }, (_, k) => {
    const e = 6 + 16 * k;
    const size = data.readUInt8(e) || 256;
    const png = decodePng(data.subarray(data.readUInt32LE(e + 12), data.readUInt32LE(e + 12) + data.readUInt32LE(e + 8)));
    expect(png.width).toBe(size);
    return { size, png };
  });
}
const opaquePixels = (p: Png): number => {
  let n = 0;
  for (let i = 3; i < p.rgba.length; i += 4) if ((p.rgba[i] ?? 0) > 0) n++;
  return n;
};

describe('tray icon files', () => {
  it('exist for every state on every platform, at the sizes each platform uses', () => {
    for (const state of TRAY_STATES) {
      const mac = join(trayIcons, trayIconFile(state, 'darwin'));
      expect(decodePng(readFileSync(mac)).width).toBe(16);
      expect(decodePng(readFileSync(mac.replace('.png', '@2x.png'))).width).toBe(32);
      expect(decodeIco(readFileSync(join(trayIcons, trayIconFile(state, 'win32')))).map((i) => i.size)).toEqual([16, 20, 24, 32, 40, 48, 64]);
      const linux = join(trayIcons, trayIconFile(state, 'linux'));
      expect(decodePng(readFileSync(linux)).width).toBe(24);
      expect(decodePng(readFileSync(linux.replace('.png', '@2x.png'))).width).toBe(48);
    }
  });

  it('macOS template images are black with alpha only (the menu bar tints them)', () => {
    for (const state of TRAY_STATES) {
      for (const suffix of ['Template.png', 'Template@2x.png']) {
        const { rgba } = decodePng(readFileSync(join(trayIcons, 'macos', `${state}${suffix}`)));
        for (let i = 0; i < rgba.length; i += 4) expect(rgba[i]! | rgba[i + 1]! | rgba[i + 2]!).toBe(0);
      }
    }
  });

  it('every state looks different from every other, in colour and in one colour alone', () => {
    for (const file of [(s: TrayState) => join(trayIcons, 'macos', `${s}Template@2x.png`), (s: TrayState) => join(trayIcons, 'linux', `${s}@2x.png`)]) {
      const images = TRAY_STATES.map((s) => decodePng(readFileSync(file(s))));
      for (const img of images) expect(opaquePixels(img)).toBeGreaterThan(img.width * img.height * 0.3);
      for (let a = 0; a < images.length; a++) {
        for (let b = a + 1; b < images.length; b++) {
          const [x, y] = [images[a]!.rgba, images[b]!.rgba];
          let differing = 0;
          for (let i = 3; i < x.length; i += 4) if (Math.abs(x[i]! - y[i]!) > 128) differing++;
          expect(differing, `${TRAY_STATES[a]} vs ${TRAY_STATES[b]}`).toBeGreaterThan(20);
        }
      }
    }
  });

  it('the application icons exist for the installers (png 1024, ico up to 256, icns with PNG entries)', () => {
    expect(decodePng(readFileSync(join(buildDir, 'icon.png'))).width).toBe(1024);
    expect(decodeIco(readFileSync(join(buildDir, 'icon.ico'))).map((i) => i.size)).toContain(256);
    const icns = readFileSync(join(buildDir, 'icon.icns'));
    expect(icns.toString('ascii', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const types: string[] = [];
    for (let i = 8; i < icns.length; i += icns.readUInt32BE(i + 4)) {
      types.push(icns.toString('ascii', i, i + 4));
      expect(decodePng(icns.subarray(i + 8, i + icns.readUInt32BE(i + 4))).width).toBeGreaterThanOrEqual(16);
    }
    expect(types).toEqual(expect.arrayContaining(['ic07', 'ic08', 'ic09', 'ic10']));
  });

  it('the committed files are exactly what build/icons/make-tray-icon.mjs draws', { timeout: 120_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'icons-'));
    try {
      const r = spawnSync(process.execPath, [join(buildDir, 'icons', 'make-tray-icon.mjs'), '--out', out], { encoding: 'utf8', timeout: 110_000 });
      expect(r.status, r.stderr).toBe(0);
      const list = (dir: string): string[] =>
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => relative(dir, join(d.parentPath, d.name)))
          .sort();
      const generated = list(out);
      expect(generated.length).toBe(TRAY_STATES.length * 5 + 3);
      for (const f of generated) {
        expect(existsSync(join(buildDir, f)), f).toBe(true);
        expect(
          readFileSync(join(buildDir, f)).equals(readFileSync(join(out, f))),
          `${f} differs from the script's output: run node build/icons/make-tray-icon.mjs`,
        ).toBe(true);
      }
      // And nothing stale in build/icons/tray that the script no longer draws.
      expect(list(trayIcons).map((f) => `icons/tray/${f}`)).toEqual(generated.filter((f) => f.startsWith('icons/tray/')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
