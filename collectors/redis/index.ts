import type { Target } from '../target.js';
import type { EngineCollector } from '../core/engine.js';
import { redisCatalog } from './catalog.js';
import { mapRedisSignalError } from './errors.js';
import { redisChecklist, redisGrantScript, redisIdentity } from './grants.js';
import { RedisSession } from './session.js';

export const redisCollector: EngineCollector<RedisSession, Target> = {
  engine: 'redis',
  catalog: redisCatalog,
  connect: (target, password, ctx) => RedisSession.open(target, password, ctx),
  mapSignalError: mapRedisSignalError,
  identity: redisIdentity,
  checklist: redisChecklist,
  grantScript: redisGrantScript,
};
