// Plain words for connection errors (issue 22): a host that does not resolve, a refused
// connection, each with its own heading and next step; no raw errno code in a heading.
import { describe, expect, it } from 'vitest';
import { addTarget, card, openApp, useApp } from './app.js';

const app = useApp();
const ERRNO = /\bE[A-Z]{3,}\b/;

describe('connection errors in plain words', () => {
  it('DNS failure and refused connection: own heading, next step, no errno in the heading', async () => {
    const api = app.api();
    const { page, problems } = await openApp(app.browser(), app.base(), api);
    await addTarget(page, { id: 'nodns', name: 'No DNS', host: 'no-such-host.invalid', port: '5432', user: 'nobody', database: 'postgres' });
    await addTarget(page, { id: 'refused', name: 'Refused', host: '127.0.0.1', port: '1', user: 'nobody', database: 'postgres' });
    const cases = [
      { name: 'No DNS', title: /^Host name not found$/, next: /Check the host name/ },
      { name: 'Refused', title: /^Connection refused$/, next: /check the port/ },
    ];
    for (const c of cases) {
      const t = card(page, c.name);
      await t.getByRole('button', { name: 'Test connection' }).click();
      const verdict = t.getByRole('status', { name: 'Connection verdict' });
      await verdict.getByRole('heading').waitFor();
      const title = (await verdict.getByRole('heading').textContent())?.trim() ?? '';
      expect(title).toMatch(c.title);
      expect(title).not.toMatch(ERRNO);
      await expect(verdict.textContent()).resolves.toMatch(c.next);
      // A collection that read nothing says the same, once.
      await t.getByRole('button', { name: 'Collect now' }).click();
      const result = t.getByRole('region', { name: `Collection result for ${c.name}` });
      await result.waitFor();
      const heading = (await result.locator('.nothing strong').first().textContent())?.trim() ?? '';
      expect(heading).toMatch(c.title);
      expect(heading).not.toMatch(ERRNO);
      // The chart tiles of the same cycle say it in the same plain words, without the driver's code.
      const tiles = t.getByRole('region', { name: /^Key metrics of / }).locator('p.unavailable');
      await tiles.first().waitFor();
      for (const text of await tiles.allTextContents()) {
        expect(text).toMatch(new RegExp(`^unavailable: ${c.title.source.slice(1, -1).toLowerCase()}, the target was not reached$`));
        expect(text).not.toMatch(ERRNO);
      }
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
