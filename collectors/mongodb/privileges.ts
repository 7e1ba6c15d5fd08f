/**
 * Answers "may this identity run action A on resource R?" from the privileges
 * `connectionStatus { showPrivileges: true }` reports, the way the server matches
 * resource patterns: `{ anyResource }` matches everything, `{ cluster }` the
 * cluster, `{ db: "", collection: "" }` any database or non-system collection
 * except in `local` and `config`, `{ db: "x", collection: "" }` database x and
 * its non-system collections, `{ db: "", collection: "c" }` collection c in any
 * database, `{ db, collection }` exactly that namespace. `anyAction` grants every action.
 */
export type Resource = { cluster: true } | { db: string; collection?: string };

export interface Privilege {
  resource: Record<string, unknown>;
  actions: string[];
}

const SPECIAL_DBS = new Set(['local', 'config']);
const isSystem = (collection: string): boolean => collection.startsWith('system.');

function matches(pattern: Record<string, unknown>, want: Resource): boolean {
  if (pattern['anyResource'] === true) return true;
  if ('cluster' in want) return pattern['cluster'] === true;
  if (typeof pattern['db'] !== 'string' || typeof pattern['collection'] !== 'string') return false;
  const pdb = pattern['db'];
  const pcoll = pattern['collection'];
  const coll = want.collection ?? '';
  const normal = !SPECIAL_DBS.has(want.db) && !isSystem(coll);
  if (pdb === '' && pcoll === '') return normal;
  if (pcoll === '') return pdb === want.db && !isSystem(coll);
  if (pdb === '') return coll !== '' && pcoll === coll;
  return pdb === want.db && pcoll === coll;
}

export function hasAction(privileges: readonly Privilege[], action: string, resource: Resource): boolean {
  return privileges.some((p) => (p.actions.includes(action) || p.actions.includes('anyAction')) && matches(p.resource, resource));
}

/** Reads the privileges array of a connectionStatus answer, ignoring anything malformed. */
export function parsePrivileges(raw: unknown): Privilege[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((p: unknown) => {
    if (typeof p !== 'object' || p === null) return [];
    const { resource, actions } = p as { resource?: unknown; actions?: unknown };
    if (typeof resource !== 'object' || resource === null || !Array.isArray(actions)) return [];
    return [{ resource: resource as Record<string, unknown>, actions: actions.filter((a): a is string => typeof a === 'string') }];
  });
}

/** A resource the way a DBA writes it in a privilege document, for scripts and messages. */
export function resourceLiteral(r: Resource): string {
  if ('cluster' in r) return '{ cluster: true }';
  return `{ db: ${JSON.stringify(r.db)}, collection: ${JSON.stringify(r.collection ?? '')} }`;
}

/** Short human form: "the cluster", "every database", "local.oplog.rs". */
export function resourceWords(r: Resource): string {
  if ('cluster' in r) return 'the cluster';
  if (r.db === '' && (r.collection ?? '') === '') return 'every database';
  if ((r.collection ?? '') === '') return `database ${r.db}`;
  return `${r.db === '' ? '*' : r.db}.${r.collection}`;
}
