import { describe, expect, it } from 'vitest';
import { hasAction, parsePrivileges } from '../../collectors/mongodb/privileges.js';

const p = (resource: Record<string, unknown>, ...actions: string[]) => ({ resource, actions });

describe('MongoDB privilege matching (resource patterns as the server matches them)', () => {
  it('{ db: "", collection: "" } is every database but local and config, and no system collection', () => {
    const any = [p({ db: '', collection: '' }, 'dbStats', 'collStats')];
    expect(hasAction(any, 'dbStats', { db: 'shop' })).toBe(true);
    expect(hasAction(any, 'dbStats', { db: 'admin' })).toBe(true);
    expect(hasAction(any, 'dbStats', { db: 'local' })).toBe(false);
    expect(hasAction(any, 'dbStats', { db: 'config' })).toBe(false);
    expect(hasAction(any, 'collStats', { db: 'shop', collection: 'orders' })).toBe(true);
    expect(hasAction(any, 'collStats', { db: 'shop', collection: 'system.profile' })).toBe(false);
    expect(hasAction(any, 'collStats', { db: 'local', collection: 'oplog.rs' })).toBe(false);
    expect(hasAction(any, 'collStats', { cluster: true })).toBe(false);
    expect(hasAction(any, 'find', { db: 'shop', collection: 'orders' })).toBe(false);
  });

  it('database, collection-in-any-database and exact namespace patterns', () => {
    const privs = [
      p({ db: 'local', collection: '' }, 'dbStats'),
      p({ db: '', collection: 'system.profile' }, 'find'),
      p({ db: 'local', collection: 'oplog.rs' }, 'find'),
    ];
    expect(hasAction(privs, 'dbStats', { db: 'local' })).toBe(true);
    expect(hasAction(privs, 'dbStats', { db: 'shop' })).toBe(false);
    expect(hasAction(privs, 'find', { db: 'shop', collection: 'system.profile' })).toBe(true);
    expect(hasAction(privs, 'find', { db: 'local', collection: 'oplog.rs' })).toBe(true);
    expect(hasAction(privs, 'find', { db: 'local', collection: 'startup_log' })).toBe(false);
    // A grant on one database is not a grant on every database.
    expect(hasAction([p({ db: 'shop', collection: '' }, 'listCollections')], 'listCollections', { db: '' })).toBe(false);
  });

  it('cluster, anyResource and anyAction', () => {
    expect(hasAction([p({ cluster: true }, 'serverStatus')], 'serverStatus', { cluster: true })).toBe(true);
    expect(hasAction([p({ cluster: true }, 'serverStatus')], 'inprog', { cluster: true })).toBe(false);
    expect(hasAction([p({ anyResource: true }, 'listCollections')], 'listCollections', { db: 'local' })).toBe(true);
    expect(hasAction([p({ anyResource: true }, 'anyAction')], 'shutdown', { cluster: true })).toBe(true);
  });

  it('ignores malformed privilege entries instead of granting anything', () => {
    expect(
      parsePrivileges([null, 'x', { resource: { cluster: true } }, { actions: ['serverStatus'] }, { resource: { cluster: true }, actions: ['top', 7] }]),
    ).toEqual([{ resource: { cluster: true }, actions: ['top'] }]);
    expect(parsePrivileges(undefined)).toEqual([]);
  });
});
