/** Delivery status as the API, the tray and `logstag-agent status` show it. Pure (zod only). */
import { z } from 'zod';

export const DELIVERY_STATES = [
  /** No destination configured: payloads stay in the spool for the operator to read. */
  'spool_only',
  /** Everything spooled has been delivered. */
  'idle',
  'sending',
  /** The last attempt failed; the next one is scheduled (see lastError). */
  'retrying',
  /** The service answered 401/403: sending stopped until the key is fixed (one slow retry). */
  'credentials_rejected',
  'stopped',
] as const;

export const DeliveryStatusSchema = z
  .object({
    /** Scheme, host and path of the destination (never credentials); null when spool only. */
    destination: z.string().nullable(),
    state: z.enum(DELIVERY_STATES),
    lastSuccessAt: z.string().nullable(),
    backlog: z.object({ payloads: z.number().int().min(0), bytes: z.number().int().min(0) }).strict(),
    /** Age of the oldest payload not yet acknowledged by the service. */
    oldestUnsentAgeSeconds: z.number().min(0).nullable(),
    /** Payloads lost: `count` not yet reported to the service, `total` ever, `since` the first unreported loss. */
    dropped: z.object({ count: z.number().int().min(0), total: z.number().int().min(0), since: z.string().nullable() }).strict(),
    /** The last problem in plain words (no secrets), null once delivery works again. */
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    /** Connections the egress guard refused (another host, a redirect, a suspicious DNS answer). */
    egressRefusals: z.number().int().min(0),
    /** Payloads the service refused (too large, malformed), kept for the operator: `logstag-agent spool --quarantine`. */
    quarantined: z.number().int().min(0).optional(),
    /** The most recent losses, each with its cause in plain words (what `dropped` counted). */
    losses: z.array(z.object({ at: z.string(), count: z.number().int().min(1), seqs: z.string(), cause: z.string() }).strict()).optional(),
    /**
     * The payloads this process handed to delivery most recently (bounded), each with where it is:
     * `spooled` (waiting; see state and lastError for why), `sent` (acknowledged by the service, `at`),
     * `local` (no destination: kept in the spool, nothing leaves), `refused` (the service refused it for
     * good: quarantine or counted lost), `dropped` (left the spool undelivered, counted in `dropped`).
     * A payload is named by its target id and collection time, as the feed shows it.
     */
    payloads: z
      .array(
        z
          .object({
            targetId: z.string(),
            collectedAt: z.string(),
            seq: z.number().int().min(0),
            spooledAt: z.string(),
            state: z.enum(['spooled', 'sent', 'local', 'refused', 'dropped']),
            at: z.string().nullable(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;
export type DeliveryState = DeliveryStatus['state'];
