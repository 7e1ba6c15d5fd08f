import { type AnySignalSpec, defineSignal, SignalUnavailable } from '../core/signal.js';
import { MongoCommandFailure } from './errors.js';
import type { MongoSession } from './session.js';
import { bool, iso, num, str, sub } from './values.js';

/** Databases read per cycle (the largest first). */
export const DATABASE_LIMIT = 200;
/** Collections read per cycle (by database, then name). */
export const COLLECTION_LIMIT = 300;

/** Internal databases: their collections are the server's, not the application's. */
const INTERNAL_DBS = new Set(['local', 'config']);

/**
 * Runs one command per item, and stops when the signal's time budget
 * (statementTimeoutMs) is spent: a partial list is reported as a timeout, never
 * shipped as if it were the whole.
 */
export async function eachWithinBudget<T, R>(s: MongoSession, items: readonly T[], what: string, read: (item: T) => Promise<R[]>): Promise<R[]> {
  const budget = s.target.statementTimeoutMs;
  const deadline = performance.now() + budget;
  const out: R[] = [];
  for (const [i, item] of items.entries()) {
    if (performance.now() > deadline) {
      throw new SignalUnavailable(
        'timeout',
        `read ${i} of ${items.length} ${what} within the time budget (statementTimeoutMs ${budget}); raise statementTimeoutMs for this target`,
      );
    }
    out.push(...(await read(item)));
  }
  return out;
}

interface DatabaseEntry {
  name: string;
  size_on_disk: number | null;
  empty: boolean | null;
}

/** listDatabases once per session; authorizedDatabases:false turns a missing privilege into an error, not a shorter list. */
export function databaseList(s: MongoSession): Promise<DatabaseEntry[]> {
  return s.memo('listDatabases', async () => {
    const res = await s.command('admin', { listDatabases: 1, nameOnly: false, authorizedDatabases: false });
    return (Array.isArray(res['databases']) ? res['databases'] : [])
      .map((d: unknown) => sub(d))
      .flatMap((d) => {
        const name = str(d['name']);
        return name === null ? [] : [{ name, size_on_disk: num(d['sizeOnDisk']), empty: bool(d['empty']) }];
      });
  });
}

interface DatabaseRow {
  name: string;
  size_on_disk: number | null;
  empty: boolean | null;
  collections: number | null;
  views: number | null;
  objects: number | null;
  data_size: number | null;
  storage_size: number | null;
  indexes: number | null;
  index_size: number | null;
  total_size: number | null;
}
const databases = defineSignal<MongoSession, DatabaseRow>({
  id: 'mongodb.databases',
  family: 'server_stats',
  description: `Databases with their sizes and object counts (listDatabases, dbStats; the ${DATABASE_LIMIT} largest)`,
  requires: ['listDatabases', 'dbStats'],
  shape: 'rows',
  read: async (s) => {
    const list = [...(await databaseList(s))]
      .sort((a, b) => (b.size_on_disk ?? 0) - (a.size_on_disk ?? 0) || a.name.localeCompare(b.name))
      .slice(0, DATABASE_LIMIT);
    return eachWithinBudget(s, list, 'databases', async (d): Promise<DatabaseRow[]> => {
      const st = await s.command(d.name, { dbStats: 1 });
      return [
        {
          ...d,
          collections: num(st['collections']),
          views: num(st['views']),
          objects: num(st['objects']),
          data_size: num(st['dataSize']),
          storage_size: num(st['storageSize']),
          indexes: num(st['indexes']),
          index_size: num(st['indexSize']),
          total_size: num(st['totalSize']),
        },
      ];
    });
  },
  fields: {
    name: 'object_names',
    size_on_disk: null,
    empty: null,
    collections: null,
    views: null,
    objects: null,
    data_size: null,
    storage_size: null,
    indexes: null,
    index_size: null,
    total_size: null,
  },
});

interface CollectionRef {
  db: string;
  name: string;
  type: string;
}

/** Application collections (no views, no system.*), shared by the collection and index signals. */
function collectionSet(s: MongoSession): Promise<CollectionRef[]> {
  return s.memo('collectionSet', async () => {
    const dbs = (await databaseList(s))
      .map((d) => d.name)
      .filter((n) => !INTERNAL_DBS.has(n))
      .sort();
    const all = await eachWithinBudget(s, dbs, 'databases', async (db): Promise<CollectionRef[]> => {
      const batch = await s.firstBatch(db, { listCollections: 1, nameOnly: true, authorizedCollections: false, cursor: { batchSize: COLLECTION_LIMIT + 1 } });
      return batch.flatMap((c) => {
        const name = str(c['name']);
        const type = str(c['type']) ?? 'collection';
        return name !== null && !name.startsWith('system.') && (type === 'collection' || type === 'timeseries') ? [{ db, name, type }] : [];
      });
    });
    return all.sort((a, b) => a.db.localeCompare(b.db) || a.name.localeCompare(b.name)).slice(0, COLLECTION_LIMIT);
  });
}

/** A collection dropped between listing and reading is skipped, not an error. */
async function unlessDropped<R>(read: () => Promise<R[]>): Promise<R[]> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof MongoCommandFailure && err.code === 26) return [];
    throw err;
  }
}

interface CollectionRow {
  db: string;
  collection: string;
  type: string;
  shard: string | null;
  count: number | null;
  size: number | null;
  storage_size: number | null;
  free_storage_size: number | null;
  avg_obj_size: number | null;
  nindexes: number | null;
  total_index_size: number | null;
  capped: boolean | null;
}
const collections = defineSignal<MongoSession, CollectionRow>({
  id: 'mongodb.collections',
  family: 'schema',
  description: `Collections with document counts and sizes ($collStats storageStats; one row per shard through a mongos; up to ${COLLECTION_LIMIT})`,
  requires: ['listDatabases', 'listCollections', 'collStats'],
  shape: 'rows',
  read: async (s) =>
    eachWithinBudget(s, await collectionSet(s), 'collections', (c) =>
      unlessDropped(async () => {
        const docs = await s.firstBatch(c.db, { aggregate: c.name, pipeline: [{ $collStats: { storageStats: {} } }], cursor: {} });
        return docs.map((d): CollectionRow => {
          const st = sub(d, 'storageStats');
          return {
            db: c.db,
            collection: c.name,
            type: c.type,
            shard: str(d['shard']),
            count: num(st['count']),
            size: num(st['size']),
            storage_size: num(st['storageSize']),
            free_storage_size: num(st['freeStorageSize']),
            avg_obj_size: num(st['avgObjSize']),
            nindexes: num(st['nindexes']),
            total_index_size: num(st['totalIndexSize']),
            capped: bool(st['capped']),
          };
        });
      }),
    ),
  fields: {
    db: 'object_names',
    collection: 'object_names',
    type: null,
    shard: null,
    count: null,
    size: null,
    storage_size: null,
    free_storage_size: null,
    avg_obj_size: null,
    nindexes: null,
    total_index_size: null,
    capped: null,
  },
});

interface IndexRow {
  db: string;
  collection: string;
  name: string | null;
  shard: string | null;
  /** Field → index type (1, -1, "text", "2dsphere", "hashed"): the definition, no data. */
  key: Record<string, number | string>;
  unique: boolean;
  sparse: boolean;
  partial: boolean;
  hidden: boolean;
  ttl_seconds: number | null;
  building: boolean;
  ops: number | null;
  since: string | null;
}

/** Index key patterns carry field names and index types only; anything else is dropped. */
function keyPattern(raw: unknown): Record<string, number | string> {
  return Object.fromEntries(
    Object.entries(sub(raw)).flatMap(([field, t]): Array<[string, number | string]> => {
      const n = num(t);
      return n !== null ? [[field, n]] : typeof t === 'string' ? [[field, t]] : [];
    }),
  );
}

const indexes = defineSignal<MongoSession, IndexRow>({
  id: 'mongodb.indexes',
  family: 'schema',
  description: 'Indexes with their key pattern, options and use since the last restart ($indexStats); partial-filter expressions are not read',
  requires: ['listDatabases', 'listCollections', 'indexStats'],
  shape: 'rows',
  read: async (s) =>
    eachWithinBudget(s, await collectionSet(s), 'collections', (c) =>
      unlessDropped(async () => {
        const docs = await s.firstBatch(c.db, { aggregate: c.name, pipeline: [{ $indexStats: {} }], cursor: {} });
        return docs.map((d): IndexRow => {
          const spec = sub(d, 'spec');
          return {
            db: c.db,
            collection: c.name,
            name: str(d['name']),
            shard: str(d['shard']),
            key: keyPattern(d['key']),
            unique: bool(spec['unique']) ?? false,
            sparse: bool(spec['sparse']) ?? false,
            // Only whether there is a filter: the expression holds literal values.
            partial: spec['partialFilterExpression'] !== undefined,
            hidden: bool(spec['hidden']) ?? false,
            ttl_seconds: num(spec['expireAfterSeconds']),
            building: bool(d['building']) ?? false,
            ops: num(sub(d, 'accesses')['ops']),
            since: iso(sub(d, 'accesses')['since']),
          };
        });
      }),
    ),
  fields: {
    db: 'object_names',
    collection: 'object_names',
    name: 'object_names',
    shard: null,
    key: 'object_names',
    unique: null,
    sparse: null,
    partial: null,
    hidden: null,
    ttl_seconds: null,
    building: null,
    ops: null,
    since: null,
  },
});

export const schemaSignals: readonly AnySignalSpec<MongoSession>[] = [databases, collections, indexes];
