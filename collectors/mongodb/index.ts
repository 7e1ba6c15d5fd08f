import type { Target } from '../target.js';
import type { EngineCollector } from '../core/engine.js';
import { mongodbCatalog } from './catalog.js';
import { mapMongoSignalError } from './errors.js';
import { mongoChecklist, mongoGrantScript, mongoIdentity } from './grants.js';
import { MongoSession } from './session.js';

export const mongodbCollector: EngineCollector<MongoSession, Target> = {
  engine: 'mongodb',
  catalog: mongodbCatalog,
  connect: (target, password, ctx) => MongoSession.open(target, password, ctx),
  mapSignalError: mapMongoSignalError,
  identity: mongoIdentity,
  checklist: mongoChecklist,
  grantScript: mongoGrantScript,
  // Current operations carry live command documents: collected only when the operator turned them on.
  optedIn: (target, spec) => spec.id === 'mongodb.current_ops' && target.mongodb?.currentOps === true,
};
