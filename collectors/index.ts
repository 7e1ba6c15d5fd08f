import type { ClosableSession, EngineCollector } from './core/engine.js';
import type { Engine } from './core/target.js';
import { oracleCollector } from './oracle/index.js';
import { mssqlCollector } from './mssql/index.js';
import { mongodbCollector } from './mongodb/index.js';
import { postgresCollector } from './postgres/index.js';
import { redisCollector } from './redis/index.js';

/** Engines whose collector is built. The others answer "not implemented yet", never a fake result. */
const COLLECTORS: Partial<Record<Engine, EngineCollector<ClosableSession>>> = {
  postgres: postgresCollector as unknown as EngineCollector<ClosableSession>,
  oracle: oracleCollector as unknown as EngineCollector<ClosableSession>,
  mssql: mssqlCollector as unknown as EngineCollector<ClosableSession>,
  redis: redisCollector as unknown as EngineCollector<ClosableSession>,
  mongodb: mongodbCollector as unknown as EngineCollector<ClosableSession>,
};

export function collectorFor(engine: Engine): EngineCollector<ClosableSession> | undefined {
  return COLLECTORS[engine];
}
