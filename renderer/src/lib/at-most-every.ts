/**
 * Runs `fn` at most once per `ms` however often it is asked for: the first ask of a quiet
 * spell runs at once (on the next task), later asks within `ms` are folded into one run
 * when `ms` has passed since the last run, so the last ask is always answered.
 * For work that is worth doing a few times a second, not once per event (a counter, a
 * status re-read while previews stream).
 */
export function atMostEvery(ms: number, fn: () => void): { ask(): void; cancel(): void } {
  let ranAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    ask() {
      if (timer !== undefined) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          ranAt = performance.now();
          fn();
        },
        Math.max(0, ranAt + ms - performance.now()),
      );
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
