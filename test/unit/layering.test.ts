// The layering rules of docs/architecture.md, checked on the import graph (as the
// TypeScript sources say it, relative specifiers resolved to files).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|cts|svelte)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f).replaceAll('\\', '/'));

function importsOf(file: string): { relative: string[]; bare: string[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g),
  ].map((m) => m[1] ?? m[2] ?? m[3]!);
  const rel: string[] = [];
  const bare: string[] = [];
  for (const s of specs) {
    if (s.startsWith('.'))
      rel.push(
        relative(root, normalize(join(root, dirname(file), s)))
          .replaceAll('\\', '/')
          .replace(/\.js$/, '.ts')
          .replace(/\.cjs$/, '.cts'),
      );
    else bare.push(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
  }
  return { relative: rel, bare };
}

describe('layering', () => {
  it('collectors/core imports no engine folder, no cloud/, no agent/ and no electron/', () => {
    const bad: string[] = [];
    for (const f of sources('collectors/core')) for (const r of importsOf(f).relative) if (!r.startsWith('collectors/core/')) bad.push(`${f} → ${r}`);
    expect(bad).toEqual([]);
  });

  it('contract/ reaches only zod and pure modules (no Node built-ins, no drivers, no agent/ or electron/ code)', () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const visit = (f: string): void => {
      if (seen.has(f)) return;
      seen.add(f);
      if (!f.startsWith('contract/') && !f.startsWith('collectors/')) bad.push(`reaches ${f}`);
      const { relative: rel, bare } = importsOf(f);
      for (const b of bare) if (b !== 'zod') bad.push(`${f} imports ${b}`);
      for (const r of rel) visit(r);
    };
    for (const f of sources('contract')) visit(f);
    expect(bad).toEqual([]);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('the renderer imports only from contract/ and its own folder', () => {
    const bad: string[] = [];
    for (const f of sources('renderer/src'))
      for (const r of importsOf(f).relative) if (!r.startsWith('renderer/') && !r.startsWith('contract/')) bad.push(`${f} → ${r}`);
    expect(bad).toEqual([]);
  });

  it("only electron/ imports 'electron'", () => {
    const bad: string[] = [];
    for (const dir of ['collectors', 'agent', 'contract', 'renderer/src'])
      for (const f of sources(dir)) if (importsOf(f).bare.includes('electron')) bad.push(f);
    expect(bad).toEqual([]);
  });
});
