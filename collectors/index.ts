import type { ClosableSession, EngineCollector } from './core/engine.js';
import type { Engine, Target } from './target.js';

type AnyCollector = EngineCollector<ClosableSession, Target>;

/**
 * Each engine's collector is loaded when a target of that engine is first used:
 * a PostgreSQL-only agent never loads the SQL Server, MongoDB or Oracle drivers
 * (tens of MB of resident memory each).
 */
const LOADERS: Record<Engine, () => Promise<AnyCollector>> = {
  postgres: async () => (await import('./postgres/index.js')).postgresCollector as unknown as AnyCollector,
  mssql: async () => (await import('./mssql/index.js')).mssqlCollector as unknown as AnyCollector,
  mongodb: async () => (await import('./mongodb/index.js')).mongodbCollector as unknown as AnyCollector,
  redis: async () => (await import('./redis/index.js')).redisCollector as unknown as AnyCollector,
  oracle: async () => (await import('./oracle/index.js')).oracleCollector as unknown as AnyCollector,
};

const loaded = new Map<Engine, AnyCollector>();

/** The engine's collector; after its first load, without going through the module loader again (every cycle asks). */
export async function collectorFor(engine: Engine): Promise<AnyCollector> {
  const known = loaded.get(engine);
  if (known !== undefined) return known;
  const collector = await LOADERS[engine]();
  loaded.set(engine, collector);
  return collector;
}
