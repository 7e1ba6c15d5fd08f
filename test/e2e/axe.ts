// axe-core for specs that check a state the accessibility spec does not reach (a delivery
// state in the feed, the proxy password fieldset): injected through the DevTools protocol
// like a11y.e2e.test.ts does, so the shipped Content-Security-Policy is unchanged.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Every axe violation on the page in light and dark, one line per rule, element and scheme. */
export async function axeViolations(page: Page): Promise<string[]> {
  const out: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(50);
    if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
    const found = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`)) as Array<{
      id: string;
      help: string;
      nodes: { target: unknown[] }[];
    }>;
    out.push(...found.flatMap((v) => v.nodes.map((n) => `${scheme}: ${v.id}: ${v.help} at ${JSON.stringify(n.target)}`)));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return out;
}
