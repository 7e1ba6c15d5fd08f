import { z } from 'zod';

/**
 * Where a password comes from. A plaintext password is never accepted: either an
 * environment variable name or a machine-bound blob from `secret encrypt`.
 */
export const SECRET_REF_FORMS =
  'must be {"env": "VAR_NAME"} (an environment variable name: letters, digits and "_", not starting with a digit) or {"secret": "<blob from `logstag-agent secret encrypt`>"}; a plaintext password is refused';

export const SecretRefSchema = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
    z.object({ secret: z.string().min(1) }).strict(),
  ],
  { error: SECRET_REF_FORMS },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;
