import envPaths from 'env-paths';
import { join } from 'node:path';

/** Where the CLI keeps its state. LOGSTAG_HOME overrides (tests, service accounts). */
export function agentHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['LOGSTAG_HOME'] ?? envPaths('logstag-agent', { suffix: '' }).data;
}

export const auditDir = (home: string): string => join(home, 'audit');

/** Collectors' per-target state between cycles (slow-log cursors), one file per target. */
export const targetStateDir = (home: string): string => join(home, 'target-state');
