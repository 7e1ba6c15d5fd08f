// docs/signals.md is generated from the catalogs; a catalog change that is not
// followed by `npm run docs:signals` fails here (and so in CI).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSignalReference, SIGNALS_DOC } from '../../scripts/signal-reference.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';

describe('the generated signal reference', () => {
  it('is up to date with the catalogs (run `npm run docs:signals` when this fails)', () => {
    expect(readFileSync(SIGNALS_DOC, 'utf8')).toBe(renderSignalReference());
  });

  it('names every PostgreSQL signal with its required grant', () => {
    const doc = renderSignalReference();
    for (const s of postgresCatalog) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${s.id}\` |`));
      expect(row, s.id).toBeDefined();
      for (const r of s.requires) expect(row).toContain(`\`${r}\``);
    }
  });
});
