// Exhaustive damage property: crash points × every single-byte change and every truncation length
// of the last and of a middle record × segment deletion and replacement × state.json loss and damage.
// In every case each payload that was reported spooled is either delivered with its original key or
// counted as dropped, and no key is ever attached to two different payloads. Prints the case counts.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRecord, Spool } from '../../agent/delivery/spool.js';

const OPTS = { maxBytes: 10 * 1024 * 1024, segmentBytes: 250 }; // 3 segments: the middle record is in a middle segment
const root = mkdtempSync(join(tmpdir(), 'lsa-prop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const fresh = () => join(root, `d${++dirs}`);
const segs = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
let serial = 0;
const body = () => JSON.stringify({ n: ++serial, p: 'x'.repeat(12) });

interface Template {
  name: string;
  dir: string;
  reported: Map<string, string>;
  /** What the service already holds (key -> payload). */
  delivered: Map<string, string>;
}

/** A crash point: n payloads reported spooled, `acked` delivered, then a clean stop or a crash (optionally mid-write). */
async function template(name: string, n: number, acked: number, end: 'clean' | 'crash' | 'crash-mid-write'): Promise<Template> {
  const dir = fresh();
  const s = await Spool.open(dir, OPTS);
  const reported = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const b = body();
    reported.set((await s.append(b)).key, b);
  }
  const delivered = new Map<string, string>();
  while (acked > 0) {
    const b = await s.peek(Math.min(2, acked), 1e6);
    for (const r of b.records) delivered.set(r.key, r.body.toString());
    await s.ack(b);
    acked -= b.records.length;
  }
  if (end === 'clean') {
    await s.close();
    return { name, dir, reported, delivered };
  }
  const copy = fresh();
  cpSync(dir, copy, { recursive: true });
  await s.close();
  if (end === 'crash-mid-write') {
    // A write cut by the crash: part of a record that was never reported spooled.
    const last = join(copy, segs(copy).at(-1)!);
    writeFileSync(last, Buffer.concat([readFileSync(last), Buffer.from('LSR1\x30\x00\x00\x00partial')]));
  }
  return { name, dir: copy, reported, delivered };
}

/** Payload records (seq >= 1) of a segment file. */
function records(file: string): Array<{ at: number; end: number }> {
  const buf = readFileSync(file);
  const out = [];
  for (let p = 0; p < buf.length;) {
    const r = parseRecord(buf, p);
    if (typeof r !== 'object') break;
    if (r.seq >= 1) out.push({ at: p, end: r.end });
    p = r.end;
  }
  return out;
}

interface Outcome {
  violations: string[];
  lost: number;
  resent: number;
}

/** Opens the damaged copy, appends, delivers everything, and checks the promise. */
async function check(t: Template, dir: string, label: string): Promise<Outcome> {
  const violations: string[] = [];
  const service = new Map(t.delivered);
  let resent = 0;
  const s = await Spool.open(dir, { ...OPTS, log: () => {} });
  try {
    const mine = new Map<string, string>();
    for (let i = 0; i < 2; i++) {
      const b = body();
      const { key } = await s.append(b);
      if (t.reported.has(key)) violations.push(`${label}: key ${key} reused for a new payload`);
      mine.set(key, b);
    }
    for (;;) {
      const b = await s.peek(5, 1e6);
      if (b.records.length === 0) break;
      for (const r of b.records) {
        const text = r.body.toString();
        const had = service.get(r.key);
        if (had !== undefined && had !== text) violations.push(`${label}: key ${r.key} names two payloads`);
        if (had !== undefined) resent++;
        const orig = t.reported.get(r.key) ?? mine.get(r.key);
        if (orig !== text) violations.push(`${label}: key ${r.key} delivered with a payload it was not reported for`);
        service.set(r.key, text);
      }
      await s.ack(b, { dropsReported: s.dropReport().total });
    }
    const missing = [...t.reported.keys(), ...mine.keys()].filter((k) => !service.has(k));
    const dropped = s.dropReport().total;
    if (dropped < missing.length) violations.push(`${label}: ${missing.length} reported payload(s) missing, ${dropped} counted`);
    for (const k of mine.keys()) if (!service.has(k)) violations.push(`${label}: new payload ${k} not delivered`);
    return { violations, lost: missing.length, resent };
  } finally {
    await s.close();
  }
}

type Damage = { label: string; apply: (dir: string) => void };

function damages(t: Template): Damage[] {
  const out: Damage[] = [];
  const names = segs(t.dir);
  const lastSeg = names.at(-1)!;
  const lastRecs = records(join(t.dir, lastSeg));
  const midSeg = names[Math.floor(names.length / 2)]!;
  const midRecs = records(join(t.dir, midSeg));
  const targets: Array<[string, string, { at: number; end: number } | undefined]> = [
    ['last record', lastSeg, lastRecs.at(-1)],
    ['middle record', midSeg, midRecs[Math.floor(midRecs.length / 2)]],
  ];
  for (const [what, seg, rec] of targets) {
    if (rec === undefined) continue;
    for (let at = rec.at; at < rec.end; at++) {
      // Every byte changed; the header bytes (magic, length, CRC, seq, time) two ways.
      for (const x of at - rec.at < 28 ? [0x01, 0xff] : [0xff]) {
        out.push({
          label: `${t.name}: ${what} byte ${at - rec.at} ^ ${x}`,
          apply: (dir) => {
            const f = join(dir, seg);
            const buf = readFileSync(f);
            buf[at]! ^= x;
            writeFileSync(f, buf);
          },
        });
      }
      out.push({ label: `${t.name}: ${what} truncated to ${at - rec.at} bytes`, apply: (dir) => truncateSync(join(dir, seg), at) });
    }
  }
  for (const n of names) {
    out.push({ label: `${t.name}: segment ${n} deleted`, apply: (dir) => unlinkSync(join(dir, n)) });
    out.push({ label: `${t.name}: segment ${n} replaced with garbage`, apply: (dir) => writeFileSync(join(dir, n), Buffer.alloc(300, 0xa5)) });
  }
  out.push({ label: `${t.name}: state.json deleted`, apply: (dir) => unlinkSync(join(dir, 'state.json')) });
  const state = readFileSync(join(t.dir, 'state.json'));
  for (const len of [0, 1, Math.floor(state.length / 2), state.length - 3]) {
    out.push({ label: `${t.name}: state.json cut to ${len} bytes`, apply: (dir) => writeFileSync(join(dir, 'state.json'), state.subarray(0, len)) });
  }
  out.push({
    label: `${t.name}: state.json cursor past the spool`,
    apply: (dir) => writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...(JSON.parse(state.toString()) as object), ackedSeq: 9_999_999 })),
  });
  return out;
}

describe('property: damage × crash points', () => {
  it('every reported payload is delivered under its key or counted as dropped; no key names two payloads', async () => {
    const templates = [
      await template('clean stop', 9, 3, 'clean'),
      await template('crash', 9, 3, 'crash'),
      // A running agent saves its state at every acknowledged batch; the crash comes after one.
      // (Limit, docs/spool.md: whole records cut from the end after the last state save are not counted; their keys are still never reused.)
      await template('crash mid-write', 9, 2, 'crash-mid-write'),
    ];
    const started = Date.now();
    let cases = 0;
    let lostCases = 0;
    let resentCases = 0;
    const violations: string[] = [];
    const perKind = new Map<string, number>();
    for (const t of templates) {
      for (const d of damages(t)) {
        const dir = fresh();
        cpSync(t.dir, dir, { recursive: true });
        d.apply(dir);
        const o = await check(t, dir, d.label);
        rmSync(dir, { recursive: true, force: true });
        cases++;
        const kind = d.label.replace(/^[^:]+: /, '').replace(/\d+/g, 'N');
        perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        if (o.lost > 0) lostCases++;
        if (o.resent > 0) resentCases++;
        violations.push(...o.violations);
      }
    }
    const summary = [...perKind].map(([k, n]) => `${n} × ${k}`).join('; ');
    console.log(
      `spool damage property: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${templates.length} crash points; ${lostCases} with counted losses, ${resentCases} resending with original keys): ${summary}`,
    );
    expect(cases).toBeGreaterThan(600);
    expect(violations.slice(0, 20)).toEqual([]);
  }, 240_000);
});
