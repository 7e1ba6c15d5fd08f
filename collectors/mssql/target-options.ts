import { z } from 'zod';

/**
 * SQL Server connection options with no PostgreSQL equivalent. Secrets never go
 * here: a SQL, NTLM or Entra password (or a service principal's client secret)
 * is the target's `password` reference.
 */
export const MssqlOptionsSchema = z
  .object({
    /** sql: SQL login · ntlm: Windows account (user "DOMAIN\\name" or `domain`) · entra-*: Microsoft Entra ID. */
    authentication: z.enum(['sql', 'ntlm', 'entra-password', 'entra-service-principal', 'entra-managed-identity', 'entra-default']).default('sql'),
    domain: z.string().min(1).max(255).optional(),
    /** Entra: application (client) id; for entra-managed-identity, a user-assigned identity's client id. */
    clientId: z.string().min(1).max(128).optional(),
    tenantId: z.string().min(1).max(128).optional(),
    /** ApplicationIntent=ReadOnly: lets the agent connect to readable AG secondaries; through a listener with read-only routing it lands on a secondary. */
    readOnlyIntent: z.boolean().default(true),
    /** TDS 8.0 strict encryption (SQL Server 2022+, Azure SQL): TLS before any TDS traffic, certificate always validated. */
    strictEncryption: z.boolean().default(false),
  })
  .strict();
export type MssqlOptions = z.infer<typeof MssqlOptionsSchema>;
