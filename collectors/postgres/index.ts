import type { Target } from '../target.js';
import type { EngineCollector } from '../core/engine.js';
import { postgresCatalog } from './catalog.js';
import { mapPgSignalError } from './errors.js';
import { PG_OPTIONAL_GRANTS, pgChecklist, pgGrantScript, pgIdentity } from './grants.js';
import { PgSession } from './session.js';

export const postgresCollector: EngineCollector<PgSession, Target> = {
  engine: 'postgres',
  catalog: postgresCatalog,
  optionalGrants: PG_OPTIONAL_GRANTS,
  connect: (target, password, ctx) => PgSession.open(target, password, ctx),
  mapSignalError: mapPgSignalError,
  identity: pgIdentity,
  checklist: pgChecklist,
  grantScript: pgGrantScript,
};
