import { z } from 'zod';
import { ipVersion } from '../core/host.js';

/**
 * MongoDB-only connection options. The target's `database` is the authentication
 * database; `tls` carries the CA and verification mode as for every engine.
 */
export const MongoOptionsSchema = z
  .object({
    /** `host` is a DNS SRV name (mongodb+srv://host): the members and ports come from DNS, `port` is not used. */
    srv: z.boolean().default(false),
    /** Connect to the whole replica set through discovery; without it the agent talks to `host:port` only. */
    replicaSet: z.string().min(1).max(128).optional(),
    /** Pins the mechanism; by default the driver negotiates SCRAM-SHA-256 or SCRAM-SHA-1 with the server. */
    authMechanism: z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'MONGODB-X509']).optional(),
    /** PEM file holding the client certificate and its key (mutual TLS, MONGODB-X509). */
    tlsCertificateKeyFile: z.string().min(1).optional(),
    /** The operator's opt-in for current operations ($currentOp); command documents are always redacted. */
    currentOps: z.boolean().default(false),
  })
  .strict();

/** MongoDB's own rules for a target: no opportunistic TLS; X.509 users in $external with a client certificate. */
export function checkMongoTarget(
  t: {
    host?: string | undefined;
    database?: string | undefined;
    password?: unknown;
    tls?: { mode?: string | undefined } | undefined;
    mongodb?: z.infer<typeof MongoOptionsSchema> | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (t.tls?.mode === 'prefer') {
    ctx.addIssue({
      code: 'custom',
      path: ['tls', 'mode'],
      message: 'MongoDB has no opportunistic TLS ("prefer"): choose disable, require, verify-ca or verify-full',
    });
  }
  const m = t.mongodb;
  if (m === undefined) return;
  // mongodb+srv:// looks the members up under _mongodb._tcp.<host>: an IP address has no SRV records.
  if (m.srv && t.host !== undefined && ipVersion(t.host) !== 0) {
    ctx.addIssue({ code: 'custom', path: ['host'], message: 'must be a DNS name with mongodb.srv (an IP address has no SRV records)' });
  }
  if (m.authMechanism === 'MONGODB-X509') {
    // X.509 users live in $external and prove themselves with the client certificate, never a password.
    if (m.tlsCertificateKeyFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['mongodb', 'tlsCertificateKeyFile'], message: 'is required for MONGODB-X509' });
    if (t.database !== undefined && t.database !== '$external')
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'must be "$external" for MONGODB-X509' });
    if (t.password !== undefined)
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'is not used with MONGODB-X509 (the client certificate authenticates)' });
  }
  // mongodb+srv turns TLS on by default; otherwise a client certificate needs TLS asked for explicitly.
  if (m.tlsCertificateKeyFile !== undefined && ((t.tls === undefined && !m.srv) || t.tls?.mode === 'disable')) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls', 'mode'],
      message: 'must enable TLS (require, verify-ca or verify-full) to present mongodb.tlsCertificateKeyFile',
    });
  }
}
