/**
 * Live feed frame times (issue #9): Debian's Chromium runs the production
 * renderer build (served through the app's own app:// protocol handler), on the
 * Live feed screen, while 5,000 payload previews arrive through window.logstag.
 *
 * Prints two figures per frame, p50/p95:
 * - the frame interval, requestAnimationFrame deltas. At 60 Hz these come in
 *   steps of 16.7 ms (one vsync), so they can never be "<= 16 ms": p50 16.7 means
 *   most frames were on time, a 33.3 is a dropped frame. The count of frames that
 *   missed a vsync is printed with it.
 * - the main thread's CPU time per frame, from a Chromium trace (CDP): delivering
 *   the previews that arrived since the previous frame, plus the frame's rAF
 *   callbacks, style, layout and paint. This is what the goal "p95 <= 16 ms" is
 *   judged on: work that fits in 16 ms fits in one vsync. Thread time, not wall
 *   time, so other processes on a busy build machine do not count against it.
 * Tracing slows the page a little, so both figures are somewhat pessimistic.
 * The previews are generated in the page (a stand-in for the IPC bridge), and
 * that generation is counted in the work, so the figure is pessimistic.
 *
 *   npm run bench:feed [-- --previews 5000 --rate 5000]   (rate: previews per second)
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createRendererProtocolHandler } from '../electron/shell/renderer-protocol.js';
import { APP_ORIGIN } from '../electron/shell/renderer-url.js';

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) time: unlike dur, not inflated while the OS runs other processes on a busy machine. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: unknown };
}

/**
 * The renderer main thread's CPU time in each frame interval, in ms: top-level
 * tasks' thread time summed between consecutive animation frames (stamped by the
 * page's first rAF callback), a task spanning a boundary split across both.
 */
function busyPerFrame(events: TraceEvent[]): number[] {
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  if (main === undefined) return [];
  const on = events.filter((e) => e.pid === main.pid && e.tid === main.tid);
  // One name only: Chromium nests ThreadControllerImpl::RunTask inside RunTask, and counting both would double the time.
  const taskName = on.some((e) => e.name === 'RunTask') ? 'RunTask' : 'ThreadControllerImpl::RunTask';
  const tasks = on.filter((e) => e.ph === 'X' && e.name === taskName).sort((a, b) => a.ts - b.ts);
  // Only the frames while previews arrive; the page stamps the start, each frame (in its first rAF callback) and the end.
  const stamps = (what: string) =>
    on.filter((e) => e.name === 'TimeStamp' && (e.args?.data as { message?: string } | undefined)?.message === what).map((e) => e.ts);
  const first = stamps('bench:start')[0] ?? -Infinity;
  const last = stamps('bench:end')[0] ?? Infinity;
  const starts = stamps('bench:frame')
    .sort((a, b) => a - b)
    .filter((t, i, all) => t >= first && (all[i - 1] ?? -Infinity) <= last);
  const out: number[] = [];
  for (let i = 0; i + 1 < starts.length; i += 1) {
    const from = starts[i]!;
    const to = starts[i + 1]!;
    let busy = 0;
    for (const t of tasks) {
      const dur = t.dur ?? 0;
      const end = t.ts + dur;
      if (end <= from || t.ts >= to) continue;
      const share = dur === 0 ? 1 : (Math.min(end, to) - Math.max(t.ts, from)) / dur;
      busy += share * (t.tdur ?? dur);
    }
    out.push(busy / 1000);
  }
  return out;
}

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

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript({ content: BRIDGE });
  await page.goto(`${base}/index.html`);
  await page.getByRole('button', { name: 'Live feed', exact: true }).click();
  await page.getByText('Listening').waitFor();

  // The page measures frame intervals (rAF deltas); a Chromium trace gives the
  // main thread's CPU time per frame (the renderer main thread's top-level tasks,
  // cut at each frame's animation-frame callbacks).
  const cdp = await page.context().newCDPSession(page);
  const trace: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => {
    for (const ev of e.value as unknown as TraceEvent[]) trace.push(ev);
  });
  await cdp.send('Tracing.start', { categories: 'toplevel,devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  const result = (await page.evaluate(
    `new Promise((done) => {
      const total = ${PREVIEWS}, perMs = ${RATE} / 1000;
      const frames = [];
      let last = performance.now(), sent = 0, start = last, finished = false;
      // Frames while previews arrive, and the one that draws the last of them; not the idle tail.
      let counting = true;
      const tick = (now) => {
        console.timeStamp('bench:frame');
        if (counting) frames.push(now - last);
        if (sent >= total) counting = false;
        last = now;
        if (!finished) requestAnimationFrame(tick);
      };
      requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
      console.timeStamp('bench:start');
      const pump = () => {
        const due = Math.min(total, Math.floor((performance.now() - start) * perMs));
        while (sent < due) window.__benchEmit(window.__benchEvent(sent++));
        if (sent < total) setTimeout(pump, 1);
        else console.timeStamp('bench:end'), setTimeout(() => { finished = true; done({ frames, ms: performance.now() - start }); }, 500);
      };
      pump();
    })`,
  )) as { frames: number[]; ms: number };
  const complete = new Promise((ok) => cdp.once('Tracing.tracingComplete', ok));
  await cdp.send('Tracing.end');
  await complete;
  const work = busyPerFrame(trace);
  if (process.env['FEED_TRACE']) writeFileSync(process.env['FEED_TRACE'], JSON.stringify(trace));

  const shown = await page.getByText(/payloads received/).textContent();
  const quantile = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  };
  const q = quantile(result.frames);
  const w = quantile(work);
  const VSYNC = 1000 / 60;
  const missed = result.frames.filter((f) => f > VSYNC * 1.5).length;
  console.log(`live feed: ${PREVIEWS} previews at ${RATE}/s in ${result.ms.toFixed(0)} ms; ${result.frames.length} frames`);
  console.log(
    `frame interval (rAF delta) p50 ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${q(1).toFixed(1)} ms; ${missed} of ${result.frames.length} frames missed a vsync`,
  );
  console.log(
    `main-thread CPU time per frame (${work.length} frames traced) p50 ${w(0.5).toFixed(1)} ms, p95 ${w(0.95).toFixed(1)} ms, max ${w(1).toFixed(1)} ms (goal p95 <= 16 ms)`,
  );
  console.log(`status line: ${shown?.trim()}`);
  console.log(`rendered rows: ${await page.locator('ol[aria-label="Payload previews"] > li').count()} (virtualised)`);
  if (errors.length > 0) console.log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  server.close();
}
