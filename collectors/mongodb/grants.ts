/**
 * What the MongoDB monitoring identity needs, expressed as privileges of one
 * custom role ("logstagMonitor"): exactly the actions the catalog's commands
 * check, and nothing that reads or writes application data. The built-in
 * clusterMonitor role covers most of them but also reads every system.profile
 * collection (query documents with their values) and the whole local database
 * (oplog entries), and lacks listCollections, viewUser and viewRole; the grant
 * script therefore creates the narrower custom role. readAnyDatabase is never
 * suggested: it reads data.
 */
import type { ChecklistItem, IdentityReport } from '../core/engine.js';
import type { Target } from '../target.js';
import type { FixUser } from './errors.js';
import { hasAction, parsePrivileges, type Privilege, type Resource, resourceLiteral, resourceWords } from './privileges.js';
import type { MongoSession, ServerInfo } from './session.js';
import { list, str, sub } from './values.js';
import { signalsRequiring } from '../core/signal.js';
import { mongodbCatalog } from './catalog.js';

/** The signals that need a grant: from the catalog's `requires`, never a hand-kept list. */
export const signalsOfGrant = (id: GrantId): string[] => signalsRequiring(mongodbCatalog, id);

export const ROLE_NAME = 'logstagMonitor';
const ANY_DB: Resource = { db: '' };
const CLUSTER: Resource = { cluster: true };

export interface GrantSpec {
  privileges: ReadonlyArray<{ resource: Resource; actions: readonly string[] }>;
  /** What the privilege lets the agent read, for the checklist. */
  purpose: string;
  /** Also part of the built-in clusterMonitor role. */
  inClusterMonitor: boolean;
  /** A caution the DBA should read before granting. */
  caution?: string;
  /** Why the grant is moot on this server (no replica set, a mongos), if it is. */
  notApplicable?(server: ServerInfo): string | undefined;
}

const notReplicaMember = (s: ServerInfo): string | undefined =>
  s.topology === 'sharded'
    ? 'a mongos has no replica set state of its own: add the members of each shard as targets'
    : s.topology === 'standalone'
      ? 'this server is not a replica set member'
      : undefined;

/** Grant id → privileges. Ids are what SignalSpec.requires names. */
export const GRANTS = {
  serverStatus: {
    privileges: [{ resource: CLUSTER, actions: ['serverStatus'] }],
    purpose: 'server counters: connections, operations, memory, cache, locks and tickets',
    inClusterMonitor: true,
  },
  top: {
    privileges: [{ resource: CLUSTER, actions: ['top'] }],
    purpose: 'time spent per collection, by operation type',
    inClusterMonitor: true,
    notApplicable: (s) => (s.topology === 'sharded' ? 'a mongos does not keep per-collection usage: add the shard members as targets' : undefined),
  },
  inprog: {
    privileges: [{ resource: CLUSTER, actions: ['inprog'] }],
    purpose: "every user's current operations (the agent redacts their command documents)",
    inClusterMonitor: true,
  },
  replSetGetStatus: {
    privileges: [{ resource: CLUSTER, actions: ['replSetGetStatus'] }],
    purpose: 'replica set member states, optimes and lag',
    inClusterMonitor: true,
    notApplicable: notReplicaMember,
  },
  oplog: {
    privileges: [{ resource: { db: 'local', collection: 'oplog.rs' }, actions: ['find', 'collStats'] }],
    purpose: 'the oplog size and the time span it covers (first and last timestamps only)',
    inClusterMonitor: true,
    caution: 'find on local.oplog.rs could read oplog entries (recent changes to data); the agent reads only their timestamps',
    notApplicable: notReplicaMember,
  },
  listDatabases: {
    privileges: [{ resource: CLUSTER, actions: ['listDatabases'] }],
    purpose: 'the list of databases',
    inClusterMonitor: true,
  },
  dbStats: {
    privileges: [
      { resource: ANY_DB, actions: ['dbStats'] },
      { resource: { db: 'local' }, actions: ['dbStats'] },
      { resource: { db: 'config' }, actions: ['dbStats'] },
    ],
    purpose: 'database sizes and object counts',
    inClusterMonitor: true,
  },
  listCollections: {
    privileges: [{ resource: ANY_DB, actions: ['listCollections'] }],
    purpose: 'collection names and types',
    inClusterMonitor: false,
  },
  collStats: {
    privileges: [{ resource: ANY_DB, actions: ['collStats'] }],
    purpose: 'collection sizes and document counts',
    inClusterMonitor: true,
  },
  indexStats: {
    privileges: [{ resource: ANY_DB, actions: ['indexStats'] }],
    purpose: 'index definitions (keys and options) and how often each index is used',
    inClusterMonitor: true,
  },
  viewUser: {
    privileges: [{ resource: CLUSTER, actions: ['viewUser'] }],
    purpose: 'users, their roles and authentication mechanisms (never credentials)',
    inClusterMonitor: false,
  },
  viewRole: {
    privileges: [{ resource: ANY_DB, actions: ['viewRole'] }],
    purpose: 'custom roles and their privileges',
    inClusterMonitor: false,
  },
  getCmdLineOpts: {
    privileges: [{ resource: CLUSTER, actions: ['getCmdLineOpts'] }],
    purpose: 'startup options: authorization, TLS mode, bind addresses, audit log',
    inClusterMonitor: true,
  },
  getParameter: {
    privileges: [{ resource: CLUSTER, actions: ['getParameter'] }],
    purpose: 'runtime parameters: authentication mechanisms, feature compatibility, limits',
    inClusterMonitor: true,
  },
} as const satisfies Record<string, GrantSpec>;

export type GrantId = keyof typeof GRANTS;
export const GRANT_IDS = Object.keys(GRANTS) as GrantId[];

const q = (s: string): string => JSON.stringify(s);
/** The checklist's name for a grant: its actions and resources, as a DBA reads them. */
export const grantLabel = (id: GrantId): string =>
  (GRANTS[id] as GrantSpec).privileges.map((p) => `${p.actions.join(', ')} on ${resourceWords(p.resource)}`).join('; ');

const privilegeLiteral = (p: { resource: Resource; actions: readonly string[] }): string =>
  `{ resource: ${resourceLiteral(p.resource)}, actions: [${p.actions.map(q).join(', ')}] }`;

/** Merges the privileges of several grants: one entry per resource. */
function mergedPrivileges(ids: readonly GrantId[]): Array<{ resource: Resource; actions: string[] }> {
  const byResource = new Map<string, { resource: Resource; actions: string[] }>();
  for (const id of ids) {
    for (const p of (GRANTS[id] as GrantSpec).privileges) {
      const key = resourceLiteral(p.resource);
      const entry: { resource: Resource; actions: string[] } = byResource.get(key) ?? { resource: p.resource, actions: [] };
      for (const a of p.actions) if (!entry.actions.includes(a)) entry.actions.push(a);
      byResource.set(key, entry);
    }
  }
  return [...byResource.values()];
}

/**
 * The exact mongosh statements that give `who` the privileges of `ids` through
 * the logstagMonitor role; safe to run more than once (the role is created only
 * if missing, granting what is already held changes nothing).
 */
export function grantFix(ids: readonly GrantId[], who: FixUser): string {
  const privileges = mergedPrivileges(ids).map(privilegeLiteral).join(', ');
  return [
    `db.getSiblingDB("admin").getRole(${q(ROLE_NAME)}) ?? db.getSiblingDB("admin").createRole({ role: ${q(ROLE_NAME)}, privileges: [], roles: [] });`,
    `db.getSiblingDB("admin").grantPrivilegesToRole(${q(ROLE_NAME)}, [${privileges}]);`,
    `db.getSiblingDB(${q(who.authDb)}).grantRolesToUser(${q(who.user)}, [{ role: ${q(ROLE_NAME)}, db: "admin" }]);`,
  ].join('\n');
}

interface AuthInfo {
  users: Array<{ user: string; db: string }>;
  roles: Array<{ role: string; db: string }>;
  privileges: Privilege[];
}

/** connectionStatus with privileges, read once per session. */
export function authInfo(s: MongoSession): Promise<AuthInfo> {
  return s.memo('connectionStatus', async () => {
    const res = await s.command('admin', { connectionStatus: 1, showPrivileges: true });
    const info = sub(res, 'authInfo');
    const pairs = (raw: unknown, key: 'user' | 'role'): Array<{ name: string; db: string }> =>
      list(raw).flatMap((x) => {
        const name = str(sub(x)[key]);
        const db = str(sub(x)['db']);
        return name !== null && db !== null ? [{ name, db }] : [];
      });
    return {
      users: pairs(info['authenticatedUsers'], 'user').map(({ name, db }) => ({ user: name, db })),
      roles: pairs(info['authenticatedUserRoles'], 'role').map(({ name, db }) => ({ role: name, db })),
      privileges: parsePrivileges(info['authenticatedUserPrivileges']),
    };
  });
}

/**
 * Whether the server enforces access control. A connection with no authenticated
 * user that may still read getCmdLineOpts proves it does not.
 */
async function accessControlDisabled(s: MongoSession, auth: AuthInfo): Promise<boolean> {
  if (auth.users.length > 0) return false;
  return s.memo('accessControlDisabled', async () => {
    try {
      await s.command('admin', { getCmdLineOpts: 1 });
      return true;
    } catch {
      return false;
    }
  });
}

/** Who fixes should name: the authenticated user, else the target's. */
export function fixUserOf(target: Target, auth?: AuthInfo): FixUser {
  const u = auth?.users[0];
  return u !== undefined ? { user: u.user, authDb: u.db } : { user: target.user, authDb: target.database ?? 'admin' };
}

const FULL_CONTROL = new Set(['root', '__system']);
const CLUSTER_ADMIN = new Set(['clusterAdmin', 'clusterManager', 'hostManager']);
const ANY_DATABASE: Readonly<Record<string, string>> = {
  readAnyDatabase: 'reads every database',
  readWriteAnyDatabase: 'reads and writes every database',
  dbAdminAnyDatabase: 'administers every database',
  userAdminAnyDatabase: 'can grant itself any privilege',
  backup: 'reads all data',
  restore: 'writes all data',
  __queryableBackup: 'reads all data',
  enableSharding: 'changes sharding',
};
const PER_DB: Readonly<Record<string, string>> = {
  dbOwner: 'owns',
  userAdmin: 'manages users of',
  dbAdmin: 'administers',
  readWrite: 'writes',
  read: 'reads application data in',
};

function roleReasons(roles: AuthInfo['roles']): string[] {
  const out: string[] = [];
  for (const { role, db } of roles) {
    if (FULL_CONTROL.has(role)) out.push(`has the ${role} role (full control of the deployment)`);
    else if (CLUSTER_ADMIN.has(role)) out.push(`has the ${role} role (manages the cluster: shutdown, setParameter, killOp, …)`);
    else if (ANY_DATABASE[role] !== undefined) out.push(`has the ${role} role (${ANY_DATABASE[role]})`);
    else if ((role === 'dbOwner' || role === 'userAdmin') && db === 'admin') out.push(`has ${role} on admin (can grant itself any privilege)`);
    else if (PER_DB[role] !== undefined && !(role === 'read' && (db === 'local' || db === 'config'))) out.push(`has ${role} on ${db} (${PER_DB[role]} ${db})`);
  }
  return out;
}

/** Actions that make any identity more than a monitor, whatever role carries them. */
const POWERFUL_ACTIONS: ReadonlyArray<{ actions: readonly string[]; words: string }> = [
  { actions: ['insert', 'update', 'remove'], words: 'may write data' },
  { actions: ['createUser', 'dropUser', 'grantRole', 'revokeRole', 'createRole', 'dropRole', 'changePassword'], words: 'may manage users and roles' },
  {
    actions: ['shutdown', 'setParameter', 'killop', 'killAnySession', 'fsync', 'replSetConfigure', 'applyOps', 'dropDatabase', 'enableProfiler', 'anyAction'],
    words: 'may change the server',
  },
];

function privilegeReasons(privileges: readonly Privilege[]): string[] {
  const out: string[] = [];
  for (const group of POWERFUL_ACTIONS) {
    const held = group.actions.filter((a) => privileges.some((p) => p.actions.includes(a)));
    if (held.length > 0) out.push(`${group.words} (${held.join(', ')})`);
  }
  // find on application data (not local, config or system.profile, which monitoring roles read).
  const readsData = privileges.some((p) => {
    if (!p.actions.includes('find')) return false;
    if (p.resource['anyResource'] === true) return true;
    const db = p.resource['db'];
    const coll = p.resource['collection'];
    return typeof db === 'string' && typeof coll === 'string' && db !== 'local' && db !== 'config' && !coll.startsWith('system.');
  });
  if (readsData) out.push('may read application data (find)');
  return out;
}

export async function mongoIdentity(s: MongoSession): Promise<IdentityReport> {
  const auth = await authInfo(s);
  const serverVersion = `${s.server.version} (${s.server.process}, ${s.server.topology.replace('_', ' ')})`;
  if (auth.users.length === 0) {
    const open = await accessControlDisabled(s, auth);
    return {
      user: '(not authenticated)',
      serverVersion,
      isAdministrator: open,
      reasons: open ? ['the server does not enforce access control: every connection can do anything'] : [],
    };
  }
  const reasons = [...new Set([...roleReasons(auth.roles), ...privilegeReasons(auth.privileges)])];
  const user = auth.users.map((u) => `${u.user}@${u.db}`).join(', ');
  return { user, serverVersion, isAdministrator: reasons.length > 0, reasons };
}

export async function mongoChecklist(s: MongoSession): Promise<ChecklistItem[]> {
  const auth = await authInfo(s);
  const open = await accessControlDisabled(s, auth);
  const who = fixUserOf(s.target, auth);
  return GRANT_IDS.map((id): ChecklistItem => {
    const g: GrantSpec = GRANTS[id];
    const grant = grantLabel(id);
    const signals = signalsOfGrant(id);
    const na = g.notApplicable?.(s.server);
    if (na !== undefined) return { grant, status: 'not_applicable', signals, detail: na };
    const held = open || g.privileges.every((p) => p.actions.every((a) => hasAction(auth.privileges, a, p.resource)));
    const also = g.inClusterMonitor ? ' (also in the built-in clusterMonitor role)' : '';
    const caution = g.caution === undefined ? '' : `; note: ${g.caution}`;
    if (id === 'inprog' && s.target.mongodb?.currentOps !== true) {
      return {
        grant,
        status: 'opt_in',
        signals,
        detail: `current operations are off for this target; to collect them set "mongodb": { "currentOps": true } and grant ${grant}${held ? ' (already held)' : ''}`,
        ...(held ? {} : { fix: grantFix([id], who) }),
      };
    }
    if (held) return { grant, status: 'granted', signals, detail: open ? 'access control is disabled on this server' : `reads ${g.purpose}` };
    return { grant, status: 'missing', signals, detail: `needed for ${g.purpose}${also}${caution}`, fix: grantFix([id], who) };
  });
}

/** The privileges the grant script gives a dedicated identity: everything the catalog reads on this target. */
function wantedGrants(target: Target): GrantId[] {
  return GRANT_IDS.filter((id) => id !== 'inprog' || target.mongodb?.currentOps === true);
}

export function mongoGrantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string {
  const where = `${target.mongodb?.srv === true ? 'mongodb+srv://' : ''}${target.host}${target.mongodb?.srv === true ? '' : `:${target.port}`}`;
  const authDb = target.database ?? 'admin';
  const lines = [`// Logstag monitoring identity for target "${target.id}" (${where}, authentication database ${authDb})`];
  if (items !== 'all') {
    const missing = GRANT_IDS.filter((id) => items.some((i) => i.grant === grantLabel(id) && i.status === 'missing'));
    lines.push('// Review, then run in mongosh as a user administrator. Nothing here reads or writes application data.');
    if (missing.length === 0) {
      lines.push('// Nothing is missing: every enabled signal is readable.');
      return `${lines.join('\n')}\n`;
    }
    for (const id of missing) lines.push(`// ${id}: ${GRANTS[id].purpose} (${signalsOfGrant(id).join(', ')})`);
    lines.push(grantFix(missing, { user: target.user, authDb }));
    return `${lines.join('\n')}\n`;
  }
  const wanted = wantedGrants(target);
  lines.push(
    '// Review, then run in mongosh as a user administrator. The role grants statistics and metadata only:',
    '// no find on application data, no writes, no user administration.',
    `db.getSiblingDB("admin").createRole({`,
    `  role: ${q(ROLE_NAME)},`,
    '  privileges: [',
  );
  const privileges = mergedPrivileges(wanted);
  privileges.forEach((p, i) => {
    const comment = 'db' in p.resource && p.resource.db === 'local' && p.resource.collection === 'oplog.rs' ? `  // ${GRANTS.oplog.caution}` : '';
    lines.push(`    ${privilegeLiteral(p)}${i < privileges.length - 1 ? ',' : ''}${comment}`);
  });
  lines.push('  ],', '  roles: []', '});');
  if (!wanted.includes('inprog')) {
    lines.push(
      '// Current operations are opt-in: after setting "mongodb": { "currentOps": true } on the target, also run',
      `// db.getSiblingDB("admin").grantPrivilegesToRole(${q(ROLE_NAME)}, [${privilegeLiteral(GRANTS.inprog.privileges[0])}]);`,
    );
  }
  if (target.mongodb?.authMechanism === 'MONGODB-X509') {
    lines.push(`db.getSiblingDB("$external").createUser({ user: ${q(target.user)}, roles: [{ role: ${q(ROLE_NAME)}, db: "admin" }] });`);
  } else {
    lines.push(
      `db.getSiblingDB(${q(authDb)}).createUser({ user: "logstag_monitor", pwd: passwordPrompt(), roles: [{ role: ${q(ROLE_NAME)}, db: "admin" }] });`,
    );
  }
  return `${lines.join('\n')}\n`;
}
