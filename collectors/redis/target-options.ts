import { z } from 'zod';
import { EndpointSchema } from '../core/target.js';

/**
 * How a Redis/Valkey target is reached. `standalone` (the default) talks to
 * host:port. `sentinel`: host:port is a Sentinel (more in `sentinels`) and the
 * target is whichever server is the current master of `masterName`.
 * `cluster`: host:port is a cluster node (more seeds in `nodes`); the node's own
 * signals are read from host:port and the cluster's topology is reported.
 */
export const RedisOptionsSchema = z.discriminatedUnion(
  'mode',
  [
    z.object({ mode: z.literal('standalone') }).strict(),
    z
      .object({
        mode: z.literal('sentinel'),
        masterName: z.string().min(1).max(128),
        sentinels: z.array(EndpointSchema).max(16).optional(),
        /** `target`: authenticate to the Sentinels with the target's user and password; `none`: Sentinels need no password. */
        sentinelAuth: z.enum(['none', 'target']).default('none'),
        /** Use the target's TLS settings for the Sentinel connections too. */
        sentinelTls: z.boolean().default(false),
      })
      .strict(),
    z.object({ mode: z.literal('cluster'), nodes: z.array(EndpointSchema).max(64).optional() }).strict(),
  ],
  { error: 'must be "standalone", "sentinel" or "cluster"' },
);
export type RedisOptions = z.infer<typeof RedisOptionsSchema>;
