import type { AnySignalSpec } from '../core/signal.js';
import { activitySignals } from './catalog-activity.js';
import { replicationSignals } from './catalog-replication.js';
import { schemaSignals } from './catalog-schema.js';
import { securitySignals } from './catalog-security.js';
import { serverSignals } from './catalog-server.js';
import type { MongoSession } from './session.js';

/** Every MongoDB signal, in collection order (cheap server-wide reads first, per-collection reads last). */
export const mongodbCatalog: readonly AnySignalSpec<MongoSession>[] = [
  ...serverSignals,
  ...activitySignals,
  ...replicationSignals,
  ...schemaSignals,
  ...securitySignals,
];
