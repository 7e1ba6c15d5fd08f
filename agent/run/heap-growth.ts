import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may grow the old generation past what survived its last full collection.
 *
 * V8 picks that factor itself (up to 4×) and keeps the pages it grew into. The agent's
 * live data is small (sessions, schedules, a few KB per target), but a collecting
 * agent promotes a steady stream of short-lived data: each cycle's rows, payload and
 * JSON survive young-generation collections while the cycle awaits its server. At
 * 1,000 targets the old generation grew to about 330 MB around 100–200 MB of live
 * objects, and the process kept 480 MB resident. With 25 % growth it stays near what
 * is live: 257 MB peak RSS. The price is more frequent full collections: on the quiet
 * machine 6.0 instead of 5.2 ms of agent CPU per cycle (docs/many-targets.md, with
 * 35 % and 50 % measured too).
 *
 * V8 reads the factor at every full collection, so setting it when the process starts
 * takes effect (a semi-space size, by contrast, is fixed when the heap is created and
 * would need node's command line, which `npx logstag-agent` and the tray app do not
 * control).
 */
export const HEAP_GROWING_PERCENT = 25;

/** Applies the bound to this process; call it before the agent starts its work. */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
