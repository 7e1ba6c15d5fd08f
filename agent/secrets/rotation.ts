import { type CredentialAge, DEFAULT_ROTATION_DAYS, DUE_WITHIN_DAYS, type RotationState } from '../../contract/credential-age.js';

export {
  type CredentialAge,
  CredentialAgeSchema,
  DEFAULT_ROTATION_DAYS,
  DUE_WITHIN_DAYS,
  type RotationState,
  RotationStateSchema,
} from '../../contract/credential-age.js';

const DAY_MS = 86_400_000;

/**
 * How old a credential is against its rotation period. 'unknown' when the agent
 * does not know when it was set (an environment variable, a blob written by hand).
 */
export function credentialAge(setAt: string | undefined, rotationDays: number = DEFAULT_ROTATION_DAYS, now: Date = new Date()): CredentialAge {
  const set = setAt === undefined ? Number.NaN : Date.parse(setAt);
  if (Number.isNaN(set)) return { state: 'unknown' };
  const due = set + rotationDays * DAY_MS;
  const left = due - now.getTime();
  const state: RotationState = left <= 0 ? 'overdue' : left <= DUE_WITHIN_DAYS * DAY_MS ? 'due' : 'ok';
  return { setAt: new Date(set).toISOString(), dueAt: new Date(due).toISOString(), state };
}

/** The age of a target's password; a target without a stored secret (none or env) is 'unknown'. */
export function targetCredentialAge(
  t: { password?: unknown; passwordSetAt?: string | undefined; rotationDays?: number | undefined },
  now?: Date,
): CredentialAge {
  if (t.password === undefined) return { state: 'unknown' };
  return credentialAge(t.passwordSetAt, t.rotationDays, now);
}

/** One line for an operator, or undefined when nothing needs doing. */
export function rotationMessage(what: string, age: CredentialAge): string | undefined {
  if (age.state === 'overdue') return `${what} is overdue for rotation (was due ${age.dueAt})`;
  if (age.state === 'due') return `${what} is due for rotation by ${age.dueAt}`;
  return undefined;
}
