import { z } from 'zod';

/**
 * Oracle-only options. `diagnosticsPack` is the operator's statement that this
 * database is licensed for the Oracle Diagnostics Pack; without it the agent never
 * touches ASH/AWR views (their mere use requires the licence).
 */
export const OracleOptionsSchema = z.object({ diagnosticsPack: z.boolean().default(false) }).strict();
