import { z } from 'zod';
import { BASE_TICK_SECONDS, FAMILIES, FAMILY_SCHEDULE, type Family, type Period, type UnavailableReason } from './signal.js';

/*
 * When each family of a target is due. The defaults are FAMILY_SCHEDULE (one
 * table in signal.ts); a target may override any family with its optional
 * `schedule` object. The run loop ticks at the shortest period of the target and
 * tells the cycle the time; the cycle reads only the families that are due.
 */

export const MAX_PERIOD_SECONDS = 86_400;
export const DEFAULT_FULL_EVERY_SECONDS = 3_600;

const PeriodSchema = z.union([
  z.literal('interval'),
  z
    .number()
    .min(BASE_TICK_SECONDS, { message: `a period is at least ${BASE_TICK_SECONDS} s` })
    .max(MAX_PERIOD_SECONDS, { message: `a period is at most ${MAX_PERIOD_SECONDS} s (one day)` })
    .refine((n) => Number.isInteger(n / BASE_TICK_SECONDS), {
      message: `a period is a whole number of seconds (a multiple of the ${BASE_TICK_SECONDS} s tick)`,
    }),
]);

/** A target's `schedule`: a period per family (seconds or "interval"), and how often deltas and digests restart from a full copy. */
export const ScheduleSchema = z
  .object({
    ...(Object.fromEntries(FAMILIES.map((f) => [f, PeriodSchema.optional()])) as Record<Family, z.ZodOptional<typeof PeriodSchema>>),
    /** Every delta or `unchanged` chain restarts with a full value at least this often (default one hour). */
    fullEverySeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .optional(),
  })
  .strict();
export type Schedule = z.infer<typeof ScheduleSchema>;

/** The names a `schedule` object may hold, for "did you mean". */
export const SCHEDULE_KEYS: readonly string[] = [...FAMILIES, 'fullEverySeconds'];

/** The period of `family` for a target (its override, else the default), in seconds. */
export function periodSeconds(family: Family, intervalSeconds: number, schedule?: Schedule): number {
  const p: Period = schedule?.[family] ?? FAMILY_SCHEDULE[family].period;
  return p === 'interval' ? intervalSeconds : p;
}

/** Every family's period for a target, in seconds. */
export function periodsOf(intervalSeconds: number, schedule?: Schedule): Record<Family, number> {
  return Object.fromEntries(FAMILIES.map((f) => [f, periodSeconds(f, intervalSeconds, schedule)])) as Record<Family, number>;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * How often the run loop wakes for a target: the greatest common divisor of its
 * interval and its families' periods, so every period is a whole number of ticks
 * (activity at 10 s and an interval of 15 s wake every 5 s; waking at the shortest
 * period, 10 s, would read the 15 s families only every 20 s). A tick on which no
 * family is due reads and ships nothing (CycleResult.idle).
 */
export function tickSeconds(intervalSeconds: number, schedule?: Schedule): number {
  const whole = [intervalSeconds, ...Object.values(periodsOf(intervalSeconds, schedule))].map((s) => Math.max(1, Math.round(s)));
  return whole.reduce(gcd);
}

/**
 * Whether a family last shipped at `lastMs` is due at `nowMs`. A family never
 * shipped is due. Timers drift by a few milliseconds, so a tick that comes a
 * little early (less than half a tick, at most 1 s) still counts.
 */
export function isDue(periodS: number, lastMs: number | undefined, nowMs: number): boolean {
  if (lastMs === undefined || nowMs < lastMs) return true;
  const slack = Math.min(1000, (periodS * 1000) / 2);
  return nowMs - lastMs + slack >= periodS * 1000;
}

/** The families due at `nowMs`, given when each was last shipped. */
export function dueFamilies(periods: Record<Family, number>, last: Partial<Record<Family, number>>, nowMs: number): Family[] {
  return FAMILIES.filter((f) => isDue(periods[f], last[f], nowMs));
}

/** What the target's health is computed from: a signal's status as last read. */
export type SignalStatus = { id: string; family: Family; status: 'ok' } | { id: string; family: Family; status: 'unavailable'; reason: UnavailableReason };

/**
 * Every signal's status as last read: this payload's, and for the families it
 * does not cover (not due this cycle) the one before. A permission gap in a
 * 10-minute family stays a gap on the cycles in between rather than flickering
 * to "ok" each time the family is not due.
 */
export function latestSignals(
  prev: readonly SignalStatus[] | undefined,
  payload: {
    families?: readonly Family[] | undefined;
    signals: readonly ({ id: string; family: Family; status: 'ok' } | { id: string; family: Family; status: 'unavailable'; reason: UnavailableReason })[];
  },
): SignalStatus[] {
  const now: SignalStatus[] = payload.signals.map((s) =>
    s.status === 'ok' ? { id: s.id, family: s.family, status: s.status } : { id: s.id, family: s.family, status: s.status, reason: s.reason },
  );
  const covered = payload.families;
  if (covered === undefined || prev === undefined) return now;
  const ids = new Set(now.map((s) => s.id));
  return [...now, ...prev.filter((s) => !covered.includes(s.family) && !ids.has(s.id))];
}

/** Each family's period for a target, in words, and whether the target overrides it (`check`, the window). */
export function describeSchedule(intervalSeconds: number, schedule?: Schedule): { family: Family; seconds: number; label: string; overridden: boolean }[] {
  return FAMILIES.map((family) => {
    const period: Period = schedule?.[family] ?? FAMILY_SCHEDULE[family].period;
    const seconds = period === 'interval' ? intervalSeconds : period;
    const label =
      period === 'interval' ? `every interval (${intervalSeconds} s)` : seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
    return { family, seconds, label, overridden: schedule?.[family] !== undefined };
  });
}
