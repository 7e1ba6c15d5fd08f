import type { AnySignalSpec } from '../core/signal.js';
import { activitySignals } from './catalog-activity.js';
import { availabilitySignals } from './catalog-availability.js';
import { querySignals } from './catalog-query.js';
import { schemaSignals } from './catalog-schema.js';
import { securitySignals } from './catalog-security.js';
import { serverSignals } from './catalog-server.js';
import { storageSignals } from './catalog-storage.js';
import type { MssqlSession } from './session.js';

export const mssqlCatalog: readonly AnySignalSpec<MssqlSession>[] = [
  ...serverSignals,
  ...activitySignals,
  ...querySignals,
  ...storageSignals,
  ...schemaSignals,
  ...securitySignals,
  ...availabilitySignals,
];
