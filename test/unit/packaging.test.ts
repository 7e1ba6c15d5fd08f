// Packaging: the electron-builder configurations (build/electron-builder.yml and
// the separate end-to-end test build), checked three ways on this machine, where
// installers cannot be built (NSIS needs Windows or Wine, a dmg needs macOS, and
// both download Electron and the packaging tools):
//  1. loaded by electron-builder's own loader and validated against its own JSON
//     schema (app-builder-lib/scheme.json) with its own ajv, and by its validator;
//  2. the security-relevant settings asserted (fuses, hardened runtime, per-machine
//     NSIS, no secrets);
//  3. a real electron-builder run (Linux, unpacked) over a stand-in Electron binary
//     that carries a fuse wire: the fuses are read back from the output and the
//     app.asar contents listed.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BASE = join(root, 'build', 'electron-builder.yml');
const E2E = join(root, 'build', 'electron-builder.e2e.yml');

// electron-builder's own modules, resolved from electron-builder itself (not hoisting luck).
const fromBuilder = createRequire(createRequire(import.meta.url).resolve('electron-builder/package.json'));
const builderLibDir = dirname(fromBuilder.resolve('app-builder-lib/package.json'));
const fromBuilderLib = createRequire(join(builderLibDir, 'package.json'));
type Config = Record<string, unknown> & { electronFuses?: Record<string, boolean> };
const { getConfig, validateConfiguration } = fromBuilderLib('./out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: null): Promise<Config>;
  validateConfiguration(config: Config, debugLogger: unknown): Promise<void>;
};
const { DebugLogger } = fromBuilderLib('builder-util') as { DebugLogger: new (enabled?: boolean) => unknown };
const Ajv = (
  fromBuilderLib('ajv') as { default: new (opts: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown[] | null } } }
).default;
const yaml = fromBuilderLib('js-yaml') as { load(text: string): unknown };
const fuses = fromBuilderLib('@electron/fuses') as {
  getCurrentFuseWire(path: string): Promise<Record<string, number>>;
  FuseV1Options: Record<string, number | string>;
};
const asar = fromBuilderLib('@electron/asar') as {
  listPackage(archive: string, options: object): string[];
  extractFile(archive: string, file: string): Buffer;
};
const scheme = JSON.parse(readFileSync(join(builderLibDir, 'scheme.json'), 'utf8')) as object;

const PRODUCTION_FUSES = {
  runAsNode: false,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableCookieEncryption: true,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  grantFileProtocolExtraPrivileges: false,
  loadBrowserProcessSpecificV8Snapshot: false,
};

let base: Config;
let e2e: Config;
beforeAll(async () => {
  base = await getConfig(root, BASE, null);
  e2e = await getConfig(root, E2E, null);
});

const get = (c: Config, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c);

describe('electron-builder configuration', () => {
  it('is valid against electron-builder’s own JSON schema (strict: no coercion), production and e2e build alike', async () => {
    const validate = new Ajv({ allErrors: true, strict: false, coerceTypes: false }).compile(scheme);
    for (const [name, config] of [
      ['production', base],
      ['e2e test build', e2e],
    ] as const) {
      const ok = validate(config);
      expect(validate.errors ?? [], name).toEqual([]);
      expect(ok).toBe(true);
      // And as electron-builder itself checks it before a build.
      await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    }
    // The schema does catch mistakes (a misspelt fuse, a string for a boolean).
    expect(validate({ ...base, electronFuses: { ...PRODUCTION_FUSES, runAsNod: false } })).toBe(false);
    expect(validate({ ...base, nsis: { perMachine: 'yes' } })).toBe(false);
  });

  it('flips every security fuse in production builds', () => {
    expect(base.electronFuses).toEqual(PRODUCTION_FUSES);
    // Each name is one @electron/fuses knows (electron-builder maps them onto FuseV1Options).
    const known = Object.keys(fuses.FuseV1Options)
      .filter((k) => Number.isNaN(Number(k)))
      .map((k) => k.charAt(0).toLowerCase() + k.slice(1));
    for (const name of Object.keys(PRODUCTION_FUSES)) expect(known).toContain(name);
  });

  it('the e2e test build is clearly named, never signed, and differs from production only in the inspect fuse', () => {
    expect(e2e.electronFuses).toEqual({ ...PRODUCTION_FUSES, enableNodeCliInspectArguments: true });
    expect(e2e).toMatchObject({
      appId: 'com.logstag.agent.e2e-test',
      productName: 'Logstag Agent E2E Test Build',
      extraMetadata: { name: 'logstag-agent-e2e-test', productName: 'Logstag Agent E2E Test Build' },
      directories: { output: 'release-e2e-test' },
      forceCodeSigning: false,
      mac: { identity: null },
    });
    expect(readFileSync(E2E, 'utf8').split('\n')[0]).toBe('# END-TO-END TEST BUILD: NOT FOR DISTRIBUTION.');
    // Everything else is inherited unchanged.
    const strip = (c: Config) => {
      const { appId, productName, extraMetadata, directories, forceCodeSigning, electronFuses, extends: _e, ...rest } = c;
      void [appId, productName, extraMetadata, directories, forceCodeSigning, electronFuses, _e];
      const mac = { ...(rest['mac'] as object) } as Record<string, unknown>;
      delete mac['identity'];
      return { ...rest, mac };
    };
    expect(strip(e2e)).toEqual(strip(base));
    expect(base.productName).toBe('Logstag Agent');
    expect(base.appId).toBe('com.logstag.agent');
  });

  it('installers: NSIS with the per-machine option, a hardened-runtime dmg with entitlements, AppImage and deb', () => {
    expect(get(base, 'win.target')).toEqual([{ target: 'nsis', arch: ['x64'] }]);
    expect(base['nsis']).toMatchObject({ oneClick: false, perMachine: false, allowElevation: true, selectPerMachineByDefault: true });
    expect(get(base, 'mac.target')).toEqual([{ target: 'dmg', arch: ['arm64', 'x64'] }]);
    expect(base['mac']).toMatchObject({
      hardenedRuntime: true,
      entitlements: 'build/entitlements.mac.plist',
      entitlementsInherit: 'build/entitlements.mac.plist',
      extendInfo: { LSUIElement: true },
    });
    expect(get(base, 'mac.notarize')).toBeUndefined(); // notarized when the APPLE_* variables are present
    expect(get(base, 'linux.target')).toEqual(['AppImage', 'deb']);
    expect(base).toMatchObject({ asar: true, npmRebuild: false, directories: { output: 'release', buildResources: 'build' } });
    for (const file of ['build/icon.icns', 'build/icon.ico', 'build/icon.png', 'build/entitlements.mac.plist'])
      expect(existsSync(join(root, file)), file).toBe(true);
  });

  it('the entitlements grant only what Electron needs (JIT)', () => {
    const plist = readFileSync(join(root, 'build', 'entitlements.mac.plist'), 'utf8');
    expect([...plist.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1])).toEqual(['com.apple.security.cs.allow-jit']);
    expect(plist.replace(/<!--[\s\S]*?-->/g, '')).not.toMatch(/disable-library-validation|allow-dyld-environment-variables|get-task-allow/);
  });

  it('holds no secrets: signing and notarization come from environment variables only', () => {
    for (const file of [BASE, E2E]) {
      const text = readFileSync(file, 'utf8');
      const keys = JSON.stringify(yaml.load(text));
      expect(keys).not.toMatch(/"(cscLink|cscKeyPassword|cscInstallerLink|cscInstallerKeyPassword|password|appleId|appleIdPassword|teamId)"/i);
      expect(text).not.toMatch(/-----BEGIN|MII[A-Za-z0-9+/]{20}/); // no PEM or base64 certificate
    }
    const documented = readFileSync(BASE, 'utf8');
    for (const v of ['CSC_LINK', 'CSC_KEY_PASSWORD', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID']) expect(documented).toContain(v);
  });

  it('npm run dist and dist:e2e-test use these files', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['dist']).toContain('electron-builder --config build/electron-builder.yml');
    expect(pkg.scripts['dist:e2e-test']).toContain('electron-builder --config build/electron-builder.e2e.yml --dir');
  });

  it('the CI workflow builds the installers on Windows and macOS runners with the signing secrets', () => {
    const wf = yaml.load(readFileSync(join(root, '.github', 'workflows', 'installers.yml'), 'utf8')) as {
      jobs: Record<
        string,
        {
          'runs-on': string;
          strategy?: { matrix: { include: Array<{ os: string; targets: string }> } };
          steps: Array<{ run?: string; env?: Record<string, string>; uses?: string }>;
        }
      >;
    };
    const job = wf.jobs['installer']!;
    const include = job.strategy!.matrix.include;
    expect(include.map((i) => [i.os, i.targets])).toEqual(
      expect.arrayContaining([
        ['windows-latest', '--win nsis'],
        ['macos-latest', '--mac dmg'],
      ]),
    );
    const runs = job.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run build');
    const build = job.steps.find((s) => s.run?.includes('electron-builder --config build/electron-builder.yml'));
    expect(build).toBeDefined();
    expect(Object.keys(build!.env ?? {})).toEqual(
      expect.arrayContaining(['CSC_LINK', 'CSC_KEY_PASSWORD', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID']),
    );
    for (const v of Object.values(build!.env ?? {})) expect(v).toMatch(/^\$\{\{.*\}\}$|^'?false'?$/);
    expect(JSON.stringify(wf.jobs['e2e-test-build'])).toContain('build/electron-builder.e2e.yml');
  });
});

describe('the app’s import graph', () => {
  it('never reaches the CLI or the OS-keychain vault (both left out of the package)', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g,
      )) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        else bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    };
    visit(join(root, 'dist', 'electron', 'main.js'));
    const files = [...seen].map((f) => f.slice(root.length).replaceAll('\\', '/'));
    expect(files).toContain('dist/electron/shell/desktop-app.js');
    expect(files).toContain('dist/collectors/postgres/index.js');
    expect(files.filter((f) => f.includes('/cli/') || f.endsWith('keychain-vault.js'))).toEqual([]);
    expect([...bare].sort()).toEqual(expect.arrayContaining(['electron', 'pg', 'zod']));
    expect(bare.has('@napi-rs/keyring')).toBe(false);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const b of bare) expect(b.startsWith('node:') || b === 'electron' || b in pkg.dependencies, b).toBe(true);
  });
});

/**
 * A stand-in Electron distribution: one "binary" holding Electron's fuse wire
 * (sentinel, version 1, length, one byte per fuse, Electron's defaults), which is
 * all @electron/fuses reads and flips.
 */
function standInElectron(dir: string): string {
  const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
  const defaults = '101100010'; // runAsNode on, cookie encryption off, NODE_OPTIONS on, inspect on, …, file privileges on
  mkdirSync(join(dir, 'resources'), { recursive: true });
  mkdirSync(join(dir, 'locales'), { recursive: true });
  const binary = Buffer.concat([
    Buffer.from('#!/bin/sh\nexit 0\n'),
    Buffer.alloc(32),
    Buffer.from(FUSE_SENTINEL),
    Buffer.from([1, defaults.length]),
    Buffer.from(defaults),
    Buffer.alloc(32),
  ]);
  writeFileSync(join(dir, 'electron'), binary);
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'version'), '45.5.0');
  writeFileSync(join(dir, 'LICENSE'), 'stand-in');
  writeFileSync(join(dir, 'locales', 'en-US.pak'), '');
  return dir;
}

describe('a real electron-builder run (Linux, unpacked) over a stand-in Electron binary', { timeout: 240_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'packaging-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const electronDist = standInElectron(join(work, 'electron-dist'));

  function pack(config: string, out: string, executable: string) {
    const r = spawnSync(
      process.execPath,
      [
        fromBuilder.resolve('electron-builder/cli.js'),
        '--config',
        config,
        '--linux',
        'dir',
        '--x64',
        '--publish',
        'never',
        `-c.electronDist=${electronDist}`,
        '-c.electronVersion=45.5.0',
        `-c.directories.output=${out}`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 200_000,
        env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false', ELECTRON_BUILDER_CACHE: join(work, 'cache') },
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const appDir = join(out, 'linux-unpacked');
    return { binary: join(appDir, executable), archive: join(appDir, 'resources', 'app.asar') };
  }

  const fuseState = async (binary: string): Promise<Record<string, boolean>> => {
    const wire = await fuses.getCurrentFuseWire(binary);
    const out: Record<string, boolean> = {};
    for (const [k, v] of Object.entries(fuses.FuseV1Options)) {
      if (typeof v !== 'number' || wire[v] === undefined) continue;
      out[k.charAt(0).toLowerCase() + k.slice(1)] = wire[v] === 49; // '1'
    }
    return out;
  };

  it('production: every fuse flipped in the packaged binary; app.asar holds the built app and nothing else', async () => {
    const { binary, archive } = pack(BASE, join(work, 'release'), 'logstag-desktop-agent');
    expect(await fuseState(binary)).toEqual(PRODUCTION_FUSES);
    const files = asar.listPackage(archive, { isPack: false }).map((f) => f.replaceAll('\\', '/'));
    for (const f of [
      '/package.json',
      '/dist/electron/main.js',
      '/dist/electron/preload.cjs',
      '/dist/electron/shell/desktop-app.js',
      '/dist/renderer/index.html',
      '/node_modules/pg/package.json',
      '/node_modules/zod/package.json',
    ]) {
      expect(files, f).toContain(f);
    }
    for (const state of ['healthy', 'limited', 'attention', 'error', 'paused']) {
      expect(files).toContain(`/build/icons/tray/macos/${state}Template@2x.png`);
      expect(files).toContain(`/build/icons/tray/windows/${state}.ico`);
      expect(files).toContain(`/build/icons/tray/linux/${state}.png`);
    }
    const unexpected = files.filter(
      (f) =>
        (/\.(ts|cts|map|svelte)$/.test(f) && !f.startsWith('/node_modules/')) ||
        /^\/(test|collectors|electron|renderer|bench|\.ci|\.github)\//.test(f) ||
        /^\/dist\/electron\/agent\/cli\/|\/(keychain|agent|host)-vault\.js$/.test(f) ||
        /^\/node_modules\/(@napi-rs|electron|electron-builder|vitest|vite|typescript|playwright-core|svelte|@doyensec)\//.test(f) ||
        f.endsWith('make-tray-icon.mjs') ||
        f === '/build/electron-builder.yml',
    );
    expect(unexpected).toEqual([]);
  });

  it('e2e test build: the same, but the inspect fuse stays on and it is named apart', async () => {
    const { binary, archive } = pack(E2E, join(work, 'release-e2e'), 'logstag-agent-e2e-test');
    expect(await fuseState(binary)).toEqual({ ...PRODUCTION_FUSES, enableNodeCliInspectArguments: true });
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { name: string; productName: string };
    expect(pkg).toMatchObject({ name: 'logstag-agent-e2e-test', productName: 'Logstag Agent E2E Test Build' });
  });
});
