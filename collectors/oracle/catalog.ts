import type { AnySignalSpec } from '../core/signal.js';
import { activitySignals } from './catalog-activity.js';
import { configSignals, dataGuardSignals } from './catalog-config.js';
import { diagnosticsSignals } from './catalog-diagnostics.js';
import { instanceSignals } from './catalog-instance.js';
import { securitySignals } from './catalog-security.js';
import { storageSignals } from './catalog-storage.js';
import type { OracleSession } from './session.js';

export const oracleCatalog: readonly AnySignalSpec<OracleSession>[] = [
  ...instanceSignals,
  ...activitySignals,
  ...dataGuardSignals,
  ...storageSignals,
  ...securitySignals,
  ...configSignals,
  ...diagnosticsSignals,
];
