import fc from 'fast-check';
import { Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ALLOWED_COMMANDS, assertReadOnlyCommand, ReadOnlyViolation } from '../../collectors/mongodb/guard.js';

const ok = (db: string, cmd: unknown, opts = {}) => expect(() => assertReadOnlyCommand(db, cmd, opts)).not.toThrow();
const refused = (db: string, cmd: unknown, why: RegExp, opts = {}) => {
  expect(() => assertReadOnlyCommand(db, cmd, opts)).toThrow(ReadOnlyViolation);
  expect(() => assertReadOnlyCommand(db, cmd, opts)).toThrow(why);
};

/** Every command document the catalog sends, as it sends it (maxTimeMS added by the session). */
const CATALOG_COMMANDS: Array<[string, Record<string, unknown>]> = [
  ['admin', { hello: 1 }],
  ['admin', { buildInfo: 1, maxTimeMS: 5000 }],
  ['admin', { connectionStatus: 1, showPrivileges: true, maxTimeMS: 5000 }],
  ['admin', { serverStatus: 1, maxTimeMS: 5000 }],
  ['admin', { top: 1, maxTimeMS: 5000 }],
  ['admin', { replSetGetStatus: 1, maxTimeMS: 5000 }],
  ['admin', { listDatabases: 1, nameOnly: false, authorizedDatabases: false, maxTimeMS: 5000 }],
  ['shop', { dbStats: 1, maxTimeMS: 5000 }],
  ['shop', { listCollections: 1, nameOnly: true, authorizedCollections: false, cursor: { batchSize: 301 }, maxTimeMS: 5000 }],
  ['shop', { aggregate: 'orders', pipeline: [{ $collStats: { storageStats: {} } }], cursor: {}, maxTimeMS: 5000 }],
  ['shop', { aggregate: 'orders', pipeline: [{ $indexStats: {} }], cursor: {}, maxTimeMS: 5000 }],
  ['local', { aggregate: 'oplog.rs', pipeline: [{ $collStats: { storageStats: {} } }], cursor: {}, maxTimeMS: 5000 }],
  ['local', { find: 'oplog.rs', filter: {}, sort: { $natural: -1 }, projection: { ts: 1, _id: 0 }, limit: 1, singleBatch: true, maxTimeMS: 5000 }],
  [
    'admin',
    {
      aggregate: 1,
      pipeline: [{ $currentOp: { allUsers: true, idleConnections: false, idleCursors: false, idleSessions: false } }, { $limit: 500 }],
      cursor: { batchSize: 501 },
      maxTimeMS: 5000,
    },
  ],
  ['admin', { usersInfo: { forAllDBs: true }, maxTimeMS: 5000 }],
  ['shop', { rolesInfo: 1, showPrivileges: true, showBuiltinRoles: false, maxTimeMS: 5000 }],
  ['admin', { getCmdLineOpts: 1, maxTimeMS: 5000 }],
  ['admin', { getParameter: '*', maxTimeMS: 5000 }],
];

describe('MongoDB read-only guard', () => {
  it.each(CATALOG_COMMANDS)('allows what the catalog sends (%s %j)', (db, cmd) => ok(db, cmd));

  it.each([
    ['shop', { insert: 'orders', documents: [{ a: 1 }] }, /"insert" is not on the read-only allowlist/],
    ['shop', { update: 'orders', updates: [] }, /"update"/],
    ['shop', { delete: 'orders', deletes: [] }, /"delete"/],
    ['shop', { findAndModify: 'orders', query: {}, remove: true }, /"findAndModify"/],
    ['shop', { drop: 'orders' }, /"drop"/],
    ['shop', { dropDatabase: 1 }, /"dropDatabase"/],
    ['shop', { createIndexes: 'orders', indexes: [] }, /"createIndexes"/],
    ['shop', { collMod: 'orders' }, /"collMod"/],
    ['admin', { renameCollection: 'shop.a', to: 'shop.b' }, /"renameCollection"/],
    ['shop', { profile: 2 }, /"profile"/],
    ['shop', { profile: -1 }, /"profile"/],
    ['admin', { killOp: 1, op: 12 }, /"killOp"/],
    ['admin', { setParameter: 1, logLevel: 5 }, /"setParameter"/],
    ['admin', { createUser: 'x', pwd: 'y', roles: [] }, /"createUser"/],
    ['admin', { grantRolesToUser: 'x', roles: ['root'] }, /"grantRolesToUser"/],
    ['admin', { shutdown: 1 }, /"shutdown"/],
    ['admin', { fsync: 1, lock: true }, /"fsync"/],
    ['admin', { replSetStepDown: 60 }, /"replSetStepDown"/],
    ['admin', { replSetReconfig: {} }, /"replSetReconfig"/],
    ['admin', { applyOps: [] }, /"applyOps"/],
    ['shop', { eval: 'db.dropDatabase()' }, /"eval"/],
    ['shop', { mapReduce: 'orders', map: 'function(){}', reduce: 'function(){}', out: 'x' }, /"mapReduce"/],
    ['shop', { isMaster: 1 }, /"isMaster"/],
    ['shop', { getMore: Long.fromNumber(1), collection: 'orders' }, /"getMore"/],
    ['shop', { aggregate: 'orders', pipeline: [{ $collStats: { storageStats: {} } }, { $out: 'copy' }], cursor: {} }, /only \$limit may follow/],
    ['shop', { aggregate: 'orders', pipeline: [{ $collStats: { storageStats: {} } }, { $merge: { into: 'copy' } }], cursor: {} }, /only \$limit may follow/],
    ['shop', { aggregate: 'orders', pipeline: [{ $match: { $where: 'sleep(1000)' } }], cursor: {} }, /stage \$match is not allowed/],
    ['shop', { aggregate: 'orders', pipeline: [{ $out: 'copy' }], cursor: {} }, /stage \$out is not allowed/],
    ['shop', { aggregate: 'orders', pipeline: [{ $collStats: { storageStats: {} } }], cursor: {}, writeConcern: { w: 1 } }, /field "writeConcern"/],
    ['shop', { aggregate: 'orders', pipeline: [{ $indexStats: {} }] }, /a cursor document is required/],
    ['shop', { aggregate: 1, pipeline: [{ $currentOp: {} }], cursor: {} }, /\$currentOp runs only .* on admin/],
    ['shop', { find: 'orders', filter: {} }, /only local.oplog.rs/],
    ['local', { find: 'oplog.rs', filter: {}, limit: 1 }, /projection of \{ ts: 1, _id: 0 \} is required/],
    ['local', { find: 'oplog.rs', filter: { op: 'u' }, projection: { ts: 1, _id: 0 } }, /unexpected value for "filter"/],
    ['local', { find: 'oplog.rs', projection: { o: 1, ts: 1 } }, /unexpected value for "projection"/],
    ['admin', { usersInfo: { forAllDBs: true }, showCredentials: true }, /field "showCredentials"/],
    ['admin', { usersInfo: { forAllDBs: true }, showCustomData: true }, /field "showCustomData"/],
    ['admin', { listDatabases: 1, filter: { name: 'x' } }, /field "filter"/],
    ['admin', { listDatabases: 1, authorizedDatabases: true }, /unexpected value for "authorizedDatabases"/],
    ['admin', { getParameter: 1, logLevel: 1 }, /unexpected value for "getParameter"|field "logLevel"/],
    ['shop', { getCmdLineOpts: 1 }, /runs only on admin/],
    ['admin', { serverStatus: 1, $readPreference: { mode: 'secondary' } }, /field "\$readPreference"/],
    ['admin', { serverStatus: 1, maxTimeMS: -1 }, /unexpected value for "maxTimeMS"/],
  ])('refuses %s %j before anything is sent', (db, cmd, why) => refused(db, cmd, why));

  it('killCursors closes only the cursors this session opened', () => {
    const mine = Long.fromString('8000000001');
    const owns = (id: unknown) => String(id) === '8000000001';
    ok('shop', { killCursors: 'orders', cursors: [mine] }, { ownsCursor: owns });
    refused('shop', { killCursors: 'orders', cursors: [Long.fromString('42')] }, /only cursors this session opened/, { ownsCursor: owns });
    refused('shop', { killCursors: 'orders', cursors: [mine] }, /only cursors this session opened/);
  });

  it('refuses anything that is not a plain command document', () => {
    refused('admin', null, /plain document/);
    refused('admin', [{ serverStatus: 1 }], /plain document/);
    refused('', { serverStatus: 1 }, /database name/);
    refused('admin', {}, /"" is not on the read-only allowlist/);
  });

  it('property: no command name outside the allowlist ever passes, whatever its fields', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((n) => !ALLOWED_COMMANDS.includes(n)),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue()),
        fc.constantFrom('admin', 'local', 'shop', 'config'),
        (name, rest, db) => {
          expect(() => assertReadOnlyCommand(db, { [name]: 1, ...rest })).toThrow(ReadOnlyViolation);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: an allowed command with any extra field is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CATALOG_COMMANDS),
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter(
            (k) =>
              ![
                'maxTimeMS',
                'cursor',
                'pipeline',
                'nameOnly',
                'showPrivileges',
                'showBuiltinRoles',
                'authorizedDatabases',
                'authorizedCollections',
                'filter',
                'sort',
                'projection',
                'limit',
                'singleBatch',
                '__proto__',
              ].includes(k),
          ),
        fc.jsonValue(),
        ([db, cmd], key, value) => {
          if (key in cmd) return;
          expect(() => assertReadOnlyCommand(db, { ...cmd, [key]: value })).toThrow(ReadOnlyViolation);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: only the three statistics stages may start a pipeline', () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 20 })
          .map((s) => `$${s}`)
          .filter((s) => !['$collStats', '$indexStats', '$currentOp'].includes(s)),
        (stage) => {
          expect(() => assertReadOnlyCommand('shop', { aggregate: 'orders', pipeline: [{ [stage]: {} }], cursor: {} })).toThrow(ReadOnlyViolation);
        },
      ),
      { numRuns: 300 },
    );
  });
});
