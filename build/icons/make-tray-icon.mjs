// Draws the tray icon (tray.png 16x16, tray@2x.png 32x32): a rounded square with a
// pulse line cut out of it, so it also works as a macOS template image (alpha only).
// Run with Node 22+: `node build/icons/make-tray-icon.mjs`. Writes raw RGBA PNGs.
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

const COLOR = [0x1f, 0x5f, 0xbf];
const PULSE = [
  [0.12, 0.56],
  [0.36, 0.56],
  [0.46, 0.27],
  [0.58, 0.79],
  [0.68, 0.45],
  [0.88, 0.45],
];

function distToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function inside(x, y, size) {
  // Rounded square with a 1px margin.
  const m = 1 / size;
  const r = 0.24;
  const cx = Math.min(Math.max(x, m + r), 1 - m - r);
  const cy = Math.min(Math.max(y, m + r), 1 - m - r);
  if (Math.hypot(x - cx, y - cy) > r) return false;
  const half = Math.max(0.07, 0.8 / size);
  for (let i = 0; i + 1 < PULSE.length; i++) if (distToSegment(x, y, PULSE[i], PULSE[i + 1]) < half) return false;
  return true;
}

function png(size) {
  const SS = 4;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      let hits = 0;
      for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (inside((x + (sx + 0.5) / SS) / size, (y + (sy + 0.5) / SS) / size, size)) hits++;
      row.set([...COLOR, Math.round((255 * hits) / (SS * SS))], 1 + x * 4);
    }
    rows.push(row);
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const dir = new URL('.', import.meta.url);
writeFileSync(new URL('tray.png', dir), png(16));
writeFileSync(new URL('tray@2x.png', dir), png(32));
// A large preview for checking the drawing by eye; not shipped.
if (process.argv.includes('--preview')) writeFileSync(new URL('tray-preview.png', dir), png(256));
