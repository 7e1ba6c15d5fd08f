import { scrub } from './scrub.js';

/**
 * The one way a message is made into a single line for the operator: driver,
 * provider and server messages can carry newlines, tabs and pages of detail, and
 * every place that shows one (a signal's reason, a status line, the CLI's stderr)
 * must stay one bounded line. Cut at `max` characters, marked with an ellipsis.
 * Live secrets are removed first (scrub.ts), before the cut, so no cut can leave a
 * recognisable part of one.
 */
export function oneLine(message: unknown, max = 300, fallback = 'unknown error'): string {
  const text = scrub(message === undefined || message === null ? '' : String(message))
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return fallback;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
