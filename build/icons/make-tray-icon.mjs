// Draws every icon the app ships, deterministically (same bytes on every run):
//
//   build/icons/tray/macos/<state>Template.png, …Template@2x.png   16/32 px, black + alpha (template images)
//   build/icons/tray/windows/<state>.ico                           16–64 px, PNG-in-ICO, coloured
//   build/icons/tray/linux/<state>.png, <state>@2x.png             24/48 px, coloured
//   build/icon.png (1024 px), build/icon.ico, build/icon.icns        the application icon (installers)
//
// for the tray states healthy | limited | attention | error | paused (electron/shell/tray-state.ts).
// The glyph is a rounded square with a pulse line cut out of it. A state adds a badge in
// the lower right corner, with a gap cut around it so it reads in one colour too:
//   limited   a ring              (collecting, some signals lack a grant)
//   attention a triangle with "!" (the operator must act)
//   error     a disc with "x"     (a target is not collected)
//   paused    pause bars replace the pulse line, greyed
// Shapes differ per state, so the states are told apart without colour (macOS, colour blindness);
// below 24 px the badge symbols ("!", "x") are left out, the shapes alone stay legible.
//
// Run with Node 22+: `node build/icons/make-tray-icon.mjs [--out DIR] [--preview]`
// (--out: write under DIR instead of build/, as the test that checks the committed files does).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

export const STATES = ['healthy', 'limited', 'attention', 'error', 'paused'];

const BLUE = [0x1f, 0x5f, 0xbf];
const GREY = [0x80, 0x86, 0x8b];
const WHITE = [0xff, 0xff, 0xff];
const BADGE = { limited: [0xd4, 0x9a, 0x00], attention: [0xf0, 0x7c, 0x00], error: [0xd9, 0x30, 0x25] };

const PULSE = [
  [0.12, 0.56],
  [0.36, 0.56],
  [0.46, 0.27],
  [0.58, 0.79],
  [0.68, 0.45],
  [0.88, 0.45],
];
const BADGE_C = [0.74, 0.74];
const BADGE_R = 0.25;
const BADGE_GAP = 0.09;

function distToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function inRoundedSquare(x, y, margin, r) {
  const cx = Math.min(Math.max(x, margin + r), 1 - margin - r);
  const cy = Math.min(Math.max(y, margin + r), 1 - margin - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

/** Stroke half-width: thin lines stay at least ~0.8 px wide at small sizes. */
const half = (size, rel) => Math.max(rel, 0.8 / size);

/** The base glyph: 'body' (filled) or 'cut' (the pulse / pause line) or null (outside). */
function base(x, y, size, state) {
  if (!inRoundedSquare(x, y, 1 / size, 0.24)) return null;
  const w = half(size, 0.07);
  if (state === 'paused') {
    if ((Math.abs(x - 0.36) < 0.075 || Math.abs(x - 0.6) < 0.075) && y > 0.26 && y < 0.74) return 'cut';
    return 'body';
  }
  for (let i = 0; i + 1 < PULSE.length; i++) if (distToSegment(x, y, PULSE[i], PULSE[i + 1]) < w) return 'cut';
  return 'body';
}

/** The badge: 'badge' (filled) or 'hole' (its symbol, cut out) or null. Below 24 px the symbols are left out: shapes alone (ring, triangle, disc) stay legible. */
function badge(x, y, size, state) {
  const detail = size >= 24;
  const [cx, cy] = BADGE_C;
  const d = Math.hypot(x - cx, y - cy);
  if (state === 'limited') {
    const ring = half(size, 0.07);
    return d <= BADGE_R && d >= BADGE_R - 2 * ring ? 'badge' : null;
  }
  if (state === 'error') {
    if (d > BADGE_R) return null;
    const w = half(size, 0.05);
    const k = BADGE_R * 0.5;
    const onX = distToSegment(x, y, [cx - k, cy - k], [cx + k, cy + k]) < w || distToSegment(x, y, [cx - k, cy + k], [cx + k, cy - k]) < w;
    return onX && detail ? 'hole' : 'badge';
  }
  if (state === 'attention') {
    // Triangle pointing up, inscribed in the badge circle.
    const top = cy - BADGE_R;
    const bottom = cy + BADGE_R * 0.8;
    if (y < top || y > bottom) return null;
    const halfWidth = ((y - top) / (bottom - top)) * BADGE_R * 1.05;
    if (Math.abs(x - cx) > halfWidth) return null;
    const w = half(size, 0.045);
    const bar = Math.abs(x - cx) < w && y > top + BADGE_R * 0.55 && y < bottom - BADGE_R * 0.6;
    const dot = Math.abs(x - cx) < w && y > bottom - BADGE_R * 0.42 && y < bottom - BADGE_R * 0.12;
    return (bar || dot) && detail ? 'hole' : 'badge';
  }
  return null;
}

const hasBadge = (state) => state === 'limited' || state === 'attention' || state === 'error';

/** The colour of one sample point, or null (transparent). `mono`: black only. `app`: the pulse in white. */
function sample(x, y, size, state, { mono, app }) {
  const body = mono ? [0, 0, 0] : state === 'paused' ? GREY : BLUE;
  if (hasBadge(state)) {
    const b = badge(x, y, size, state);
    if (b === 'badge') return mono ? [0, 0, 0] : BADGE[state];
    if (b === 'hole') return null;
    if (Math.hypot(x - BADGE_C[0], y - BADGE_C[1]) <= BADGE_R + Math.max(BADGE_GAP, 1.6 / size)) return null;
  }
  const g = base(x, y, size, state);
  if (g === 'body') return body;
  if (g === 'cut') return app ? WHITE : null;
  return null;
}

/** RGBA rows, supersampled; colour averaged over the covered samples, alpha = coverage. */
function render(size, state, style) {
  const ss = size >= 256 ? 2 : 4;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0 (none) + RGBA
    for (let x = 0; x < size; x++) {
      let hits = 0;
      const acc = [0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = sample((x + (sx + 0.5) / ss) / size, (y + (sy + 0.5) / ss) / size, size, state, style);
          if (c === null) continue;
          hits++;
          for (let i = 0; i < 3; i++) acc[i] += c[i];
        }
      }
      const px = hits === 0 ? [0, 0, 0, 0] : [...acc.map((v) => Math.round(v / hits)), Math.round((255 * hits) / (ss * ss))];
      row.set(px, 1 + x * 4);
    }
    rows.push(row);
  }
  return rows;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function png(size, state, style = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(render(size, state, style)), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO holding PNG images (Windows Vista and later read PNG entries). */
export function ico(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  const dir = Buffer.alloc(16 * images.length);
  let offset = header.length + dir.length;
  images.forEach(({ size, data }, i) => {
    const e = i * 16;
    dir.writeUInt8(size >= 256 ? 0 : size, e);
    dir.writeUInt8(size >= 256 ? 0 : size, e + 1);
    dir.writeUInt8(0, e + 2); // no palette
    dir.writeUInt8(0, e + 3);
    dir.writeUInt16LE(1, e + 4); // planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(data.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, dir, ...images.map((i) => i.data)]);
}

/** An ICNS holding PNG images (the PNG-capable types of macOS 10.7 and later). */
export function icns(entries) {
  const parts = entries.map(({ type, data }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([head, ...parts]);
}

/** Every file, as { path relative to build/, bytes }. */
export function allIcons() {
  const files = [];
  for (const state of STATES) {
    files.push({ path: `icons/tray/macos/${state}Template.png`, data: png(16, state, { mono: true }) });
    files.push({ path: `icons/tray/macos/${state}Template@2x.png`, data: png(32, state, { mono: true }) });
    files.push({ path: `icons/tray/windows/${state}.ico`, data: ico([16, 20, 24, 32, 40, 48, 64].map((size) => ({ size, data: png(size, state) }))) });
    files.push({ path: `icons/tray/linux/${state}.png`, data: png(24, state) });
    files.push({ path: `icons/tray/linux/${state}@2x.png`, data: png(48, state) });
  }
  const app = (size) => png(size, 'healthy', { app: true });
  files.push({ path: 'icon.png', data: app(1024) });
  files.push({ path: 'icon.ico', data: ico([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, data: app(size) }))) });
  const icnsTypes = [
    ['icp4', 16],
    ['icp5', 32],
    ['ic11', 32],
    ['ic12', 64],
    ['ic07', 128],
    ['ic08', 256],
    ['ic13', 256],
    ['ic09', 512],
    ['ic14', 512],
    ['ic10', 1024],
  ];
  const cache = new Map();
  files.push({ path: 'icon.icns', data: icns(icnsTypes.map(([type, size]) => ({ type, data: cache.get(size) ?? cache.set(size, app(size)).get(size) }))) });
  return files;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? '.') : fileURLToPath(new URL('..', import.meta.url));
  for (const { path, data } of allIcons()) {
    const file = join(out, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
  }
  // Large previews for checking the drawing by eye; not shipped.
  if (process.argv.includes('--preview')) {
    for (const state of STATES) {
      writeFileSync(join(out, 'icons', `preview-${state}.png`), png(256, state));
      writeFileSync(join(out, 'icons', `preview-${state}-mono.png`), png(256, state, { mono: true }));
    }
  }
}
