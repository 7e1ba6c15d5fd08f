import { z } from 'zod';

export const DEFAULT_ROTATION_DAYS = 90;
/** A credential is "due" this many days before its rotation date. */
export const DUE_WITHIN_DAYS = 14;

export const RotationStateSchema = z.enum(['ok', 'due', 'overdue', 'unknown']);
export type RotationState = z.infer<typeof RotationStateSchema>;

/** How old a secret is against its rotation period, as the window and `check` show it. */
export const CredentialAgeSchema = z.object({ setAt: z.string().optional(), dueAt: z.string().optional(), state: RotationStateSchema }).strict();
export type CredentialAge = z.infer<typeof CredentialAgeSchema>;
