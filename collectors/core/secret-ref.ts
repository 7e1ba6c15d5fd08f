import { z } from 'zod';

/**
 * Where a password comes from. A plaintext password is never accepted: either an
 * environment variable name or a machine-bound blob from `secret encrypt`.
 */
export const SecretRefSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
  z.object({ secret: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRefSchema>;
