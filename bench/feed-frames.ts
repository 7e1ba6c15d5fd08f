/**
 * Live feed frame times (issue #9): Debian's Chromium runs the production
 * renderer build (served through the app's own app:// protocol handler), on the
 * Live feed screen, while 5,000 payload previews arrive through window.logstag.
 * Prints the frame-time p50/p95 measured with requestAnimationFrame in the page.
 * Goal: p95 ≤ 16 ms.
 *
 *   npm run bench:feed [-- --previews 5000 --rate 5000]   (rate: previews per second)
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createRendererProtocolHandler } from '../electron/shell/renderer-protocol.js';
import { APP_ORIGIN } from '../electron/shell/renderer-url.js';

const { values } = parseArgs({ options: { previews: { type: 'string', default: '5000' }, rate: { type: 'string', default: '5000' } } });
const PREVIEWS = Number(values.previews);
const RATE = Number(values.rate);
const distDir = join(fileURLToPath(new URL('../', import.meta.url)), 'dist', 'renderer');
if (!existsSync(join(distDir, 'index.html'))) throw new Error('dist/renderer is missing: run npm run build:renderer');

const handler = createRendererProtocolHandler({ root: distDir });
const server = createServer((req, res) => {
  void (async () => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const answer = await handler({ url: `${APP_ORIGIN}${path === '/' ? '/index.html' : path}`, method: req.method ?? 'GET' });
    res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(Buffer.from(await answer.arrayBuffer()));
  })();
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// A stand-in agent in the page: the answers the screens need, and a feed that
// emits synthetic previews shaped like a PostgreSQL cycle (annotated fields).
const BRIDGE = `(() => {
  const listeners = new Set();
  const results = {
    'status.get': { agent: { id: 'bench', version: '0', host: 'bench' }, paused: false, delivery: null, targets: [] },
    'targets.list': [],
    'feed.subscribe': { subscription: 'bench' },
    'feed.unsubscribe': { unsubscribed: true },
  };
  window.logstag = Object.freeze({
    call: async (method) => (method in results ? { ok: true, result: results[method] } : { ok: false, error: { code: 'not_found', message: 'bench' } }),
    onEvent: (cb) => { listeners.add(cb); return () => listeners.delete(cb); },
  });
  const fields = ['query', 'usename', 'client_addr', 'application_name', 'datname', 'relname', 'state'];
  const cats = ['query_text', 'identity_metadata', 'client_metadata', 'client_metadata', 'object_names', 'object_names', null];
  const acts = ['redact', 'redact', 'exclude', 'collect', 'collect', 'collect', 'collect'];
  window.__benchEvent = (i) => ({
    subscription: 'bench',
    payload: {
      target: { id: 't' + (i % 4), name: 'Target ' + (i % 4), engine: 'postgres' },
      collectedAt: new Date().toISOString(),
      signals: Array.from({ length: 12 }, (_, s) => ({ id: 'postgres.s' + s, status: s === 11 ? 'unavailable' : 'ok',
        value: s === 0 ? Array.from({ length: 20 }, (_, r) => ({ query: 'SELECT * FROM orders WHERE id = $' + r, usename: 'h:0123456789abcdef', datname: 'app', relname: 'orders', state: 'active' })) : [] })),
    },
    annotations: fields.map((f, k) => ({ signalId: 'postgres.s0', field: f, category: cats[k], action: acts[k] })),
  });
  window.__benchEmit = (e) => { for (const cb of listeners) cb(e); };
})();`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript({ content: BRIDGE });
  await page.goto(`${base}/index.html`);
  await page.getByRole('button', { name: 'Live feed', exact: true }).click();
  await page.getByText('Listening').waitFor();

  const result = (await page.evaluate(
    `new Promise((done) => {
      const total = ${PREVIEWS}, perMs = ${RATE} / 1000;
      const frames = [];
      let last = performance.now(), sent = 0, start = last, finished = false;
      const tick = (now) => { frames.push(now - last); last = now; if (!finished) requestAnimationFrame(tick); };
      requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
      const pump = () => {
        const due = Math.min(total, Math.floor((performance.now() - start) * perMs));
        while (sent < due) window.__benchEmit(window.__benchEvent(sent++));
        if (sent < total) setTimeout(pump, 1);
        else setTimeout(() => { finished = true; done({ frames, ms: performance.now() - start }); }, 500);
      };
      pump();
    })`,
  )) as { frames: number[]; ms: number };

  const shown = await page.getByText(/payloads received/).textContent();
  const sorted = [...result.frames].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  console.log(`live feed: ${PREVIEWS} previews at ${RATE}/s in ${result.ms.toFixed(0)} ms; ${sorted.length} frames`);
  console.log(`frame time p50 ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms (goal p95 <= 16 ms)`);
  console.log(`status line: ${shown?.trim()}`);
  console.log(`rendered rows: ${await page.locator('ol[aria-label="Payload previews"] > li').count()} (virtualised)`);
  if (errors.length > 0) console.log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  server.close();
}
