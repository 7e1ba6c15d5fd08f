// The app:// protocol (electron/shell/renderer-protocol.ts): which files it serves
// (dist/renderer only: path traversal refused), and the CSP and security headers
// on every response. The handler is pure (web Request in, web Response out), so it
// is exercised here against the real renderer build.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRendererProtocolHandler,
  RENDERER_CSP,
  RENDERER_CSP_HEADER,
  resolveRendererFile,
  SECURITY_HEADERS,
} from '../../electron/shell/renderer-protocol.js';
import { APP_ORIGIN, RENDERER_URL } from '../../electron/shell/renderer-url.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist', 'renderer');
const ROOT = join(sep === '/' ? '/opt' : 'C:\\Program Files', 'Logstag Agent', 'resources', 'app.asar', 'dist', 'renderer');

const metaCsp = (html: string): string | undefined => /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html)?.[1];

describe('resolveRendererFile: only files of the renderer build', () => {
  it('maps our URLs into the build directory', () => {
    expect(resolveRendererFile(ROOT, RENDERER_URL)).toBe(join(ROOT, 'index.html'));
    expect(resolveRendererFile(ROOT, `${RENDERER_URL}?x=1#/feed`)).toBe(join(ROOT, 'index.html'));
    expect(resolveRendererFile(ROOT, 'app://logstag/assets/index-CkZja37c.js')).toBe(join(ROOT, 'assets', 'index-CkZja37c.js'));
    expect(resolveRendererFile(ROOT, 'app://logstag/assets/index-D_W-ISBGjC.css')).toBe(join(ROOT, 'assets', 'index-D_W-ISBGjC.css'));
  });

  it('refuses path traversal in every spelling, and anything the build never produces', () => {
    for (const url of [
      'app://logstag/../../../etc/passwd',
      'app://logstag/%2e%2e/%2e%2e/etc/passwd',
      'app://logstag/assets/..%2F..%2F..%2Fetc%2Fpasswd',
      'app://logstag/assets%2F..%2F..%2Fstate.json',
      'app://logstag/..%5C..%5Cwindows%5Cwin.ini',
      'app://logstag/assets\\..\\..\\x.js',
      'app://logstag/%252e%252e/x.js',
      'app://logstag/C:/Windows/win.ini',
      'app://logstag/C:%5CWindows%5Cwin.ini',
      'app://logstag//etc/passwd.js',
      'app://logstag/index.html%00.png',
      'app://logstag/index.html::$DATA',
      'app://logstag/.env',
      'app://logstag/assets/.hidden.js',
      'app://logstag/a..b.js',
      'app://logstag/state.json.bak',
      'app://logstag/secret.txt',
      'app://logstag/run.exe',
      'app://logstag/',
      'app://logstag',
      'app://logstag/assets',
      `app://logstag/${'a/'.repeat(9)}x.js`,
      `app://logstag/${'a'.repeat(200)}.js`,
      'app://logstag/%E0%A4%A.js',
      'app://evil/index.html',
      'app://logstag:1/index.html',
      'app://u:p@logstag/index.html',
      'file:///opt/Logstag Agent/resources/app.asar/dist/renderer/index.html',
      'https://logstag/index.html',
      'not a url',
    ]) {
      expect(resolveRendererFile(ROOT, url), url).toBeUndefined();
    }
  });

  it('never resolves outside the build directory, whatever the path (property)', () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '..%2f', '%5c..', 'assets', 'index.html', 'x.js', '', '%00', 'C:', '~', '\\..'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 10 }), (parts) => {
        const file = resolveRendererFile(ROOT, `app://logstag/${parts.join('/')}`);
        if (file === undefined) return true;
        const rel = relative(ROOT, file);
        return rel !== '' && !rel.startsWith('..') && !rel.split(sep).includes('..') && file.startsWith(ROOT + sep);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the app:// handler over the real renderer build', () => {
  const handler = createRendererProtocolHandler({ root: dist });
  const get = (url: string, init: { method?: string; initiatorOrigin?: string } = {}) =>
    handler({ url, method: init.method ?? 'GET', ...(init.initiatorOrigin === undefined ? {} : { initiatorOrigin: init.initiatorOrigin }) });
  const expectSecurityHeaders = (res: Response): void => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(k), k).toBe(v);
  };

  it('serves index.html and every built asset with its type, the CSP header and nosniff', async () => {
    const index = await get(RENDERER_URL);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(RENDERER_CSP_HEADER);
    expectSecurityHeaders(index);
    expect(await index.text()).toBe(readFileSync(join(dist, 'index.html'), 'utf8'));
    const assets = readdirSync(join(dist, 'assets'));
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const res = await get(`app://logstag/assets/${asset}`, { initiatorOrigin: APP_ORIGIN });
      expect(res.status, asset).toBe(200);
      expectSecurityHeaders(res);
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dist, 'assets', asset)))).toBe(true);
    }
  });

  it('answers HEAD without a body, refuses other methods, and says nothing about files that are not there', async () => {
    const head = await get(RENDERER_URL, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await get(RENDERER_URL, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    for (const url of ['app://logstag/missing.js', 'app://logstag/../package.json', 'app://logstag/assets']) {
      const res = await get(url);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('not found');
      expectSecurityHeaders(res);
    }
  });

  it('serves our files only to our own page or the app itself', async () => {
    expect((await get('app://logstag/index.html', { initiatorOrigin: 'https://evil.example' })).status).toBe(403);
    expect((await get('app://logstag/index.html', { initiatorOrigin: 'null' })).status).toBe(403);
    expect((await get('app://logstag/index.html', { initiatorOrigin: 'file://' })).status).toBe(403);
    expect((await get('app://logstag/index.html', { initiatorOrigin: APP_ORIGIN })).status).toBe(200);
  });
});

describe('the Content-Security-Policy', () => {
  it('is the same in renderer/index.html, in the built page and in the header (which adds frame-ancestors)', () => {
    expect(metaCsp(readFileSync(join(root, 'renderer', 'index.html'), 'utf8'))).toBe(RENDERER_CSP);
    expect(metaCsp(readFileSync(join(dist, 'index.html'), 'utf8'))).toBe(RENDERER_CSP);
    expect(RENDERER_CSP_HEADER).toBe(`${RENDERER_CSP}; frame-ancestors 'none'`);
  });

  it('is strict: nothing by default, scripts only from our origin, no eval, no remote source, no connections', () => {
    const directives = new Map(
      RENDERER_CSP_HEADER.split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(RENDERER_CSP_HEADER).not.toMatch(/unsafe-eval|wasm-unsafe-eval|https?:|\*|blob:|filesystem:/);
    // The built page loads no script or style from anywhere but our origin, and has no inline script.
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(src!, src).toMatch(/^(\.\/assets\/|data:,$)/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });
});
