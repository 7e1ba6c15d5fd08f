import { z } from 'zod';
import { PayloadV1Schema } from './payload.js';

/**
 * The envelope the shipper POSTs: v1 payloads, unchanged, each with its
 * idempotency key, plus what the payloads cannot say themselves (payloads lost
 * to the spool cap). Documented in docs/batch-v1.md; change both together.
 *
 * Why an envelope rather than a new payload field: payload v1 is strict and
 * consumed as is (preview, spool, tests, the service); loss and idempotency are
 * facts about delivery, not about one target's cycle, so they travel beside the
 * payloads and v1 stays byte-for-byte what the operator previews.
 */
export const BATCH_SCHEMA = 'logstag.batch/v1' as const;

const iso = z.iso.datetime({ offset: true });

export const BatchEntrySchema = z
  .object({
    /** `<spool id>:<seq>`: the service counts each key once, however often it arrives. */
    key: z.string().min(1).max(128),
    /** When the payload was written to the agent's spool. */
    spooledAt: iso,
    payload: PayloadV1Schema,
  })
  .strict();

export const BatchV1Schema = z
  .object({
    schema: z.literal(BATCH_SCHEMA),
    agent: z.object({ id: z.string().min(1), version: z.string().min(1), host: z.string().min(1) }).strict(),
    sentAt: iso,
    dropped: z
      .object({
        /** Payloads lost (spool cap, damage, refused by the service) and not yet acknowledged as reported. */
        count: z.number().int().min(0),
        /** All payloads lost since the spool was created: never lower than an acknowledged report, so a repeated report is harmless. */
        total: z.number().int().min(0),
        /** When the first unreported loss happened. */
        since: iso.nullable(),
      })
      .strict(),
    /**
     * Present (true) only on a test send from the agent's Settings: no entries, nothing to
     * store; the service answers it like any batch (authentication, limits) and keeps nothing.
     */
    test: z.literal(true).optional(),
    entries: z.array(BatchEntrySchema),
  })
  .strict()
  // A real batch carries at least one payload; a test batch carries none.
  .refine((b) => (b.test === true ? b.entries.length === 0 : b.entries.length >= 1), {
    message: 'a batch has at least one entry; a test batch (test: true) has none',
    path: ['entries'],
  });

export type BatchV1 = z.infer<typeof BatchV1Schema>;
