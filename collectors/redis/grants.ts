import type { ChecklistItem, IdentityReport } from '../core/engine.js';
import type { Target } from '../target.js';
import { signalsNeeding } from './catalog.js';
import { aclFix, RedisCommandError } from './errors.js';
import { aclPosture, type AclRules, parseAclGetUser, parseAclListLine } from './parse.js';
import { productLabel, type RedisSession, type ServerFacts } from './session.js';

/** The dedicated identity the full script creates. */
export const MONITOR_USER = 'logstag_monitor';

/**
 * What the agent needs, as subcommands only. Categories cannot separate SLOWLOG
 * GET from SLOWLOG RESET (same flags), and +@connection / +client would allow
 * CLIENT KILL and CLIENT PAUSE, so no rule here names a category or a whole
 * container command. +hello is the connection handshake of RESP3 clients
 * (harmless, like AUTH); the agent itself speaks RESP2.
 */
export const BASE_GRANTS = [
  'ping',
  'hello',
  'client|setname',
  'info',
  'client|list',
  'slowlog|get',
  'slowlog|len',
  'latency|latest',
  'config|get',
  'memory|stats',
  'acl|whoami',
  'cluster|info',
] as const;

/** How ioredis discovers a cluster's nodes (cluster mode targets). */
const CLUSTER_MODE_GRANTS = ['cluster|slots'] as const;
/** Optional: ACL posture of every user. ACL LIST shows the password hashes to the identity (never shipped). */
const OPTIONAL_GRANTS = ['acl|list'] as const;

const isValkey81 = (f: ServerFacts | undefined): boolean => f !== undefined && f.product === 'valkey' && (f.major > 8 || (f.major === 8 && f.minor >= 1));

const code = (err: unknown): string | undefined => (err instanceof RedisCommandError ? err.code : undefined);

async function attempt<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string | undefined }> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, code: code(err) };
  }
}

/** Reasons an identity is more than a monitoring identity, from its rules. */
function ruleReasons(r: AclRules): string[] {
  const p = aclPosture(r);
  const reasons: string[] = [];
  if (p.nopass) reasons.push('has nopass: any password logs in as this user');
  if (p.all_commands) reasons.push('has +@all (allcommands): can run every command, CONFIG SET and SHUTDOWN included');
  else if (p.admin_commands) reasons.push('holds @admin or @dangerous commands');
  if (p.writes_all_keys) reasons.push('can write every key (~* with write categories)');
  return reasons;
}

export async function redisIdentity(s: RedisSession): Promise<IdentityReport> {
  const facts = await s.facts();
  const whoami = await attempt(() => s.command('ACL', 'WHOAMI'));
  const user = whoami.ok ? String(whoami.value) : s.user;
  const reasons: string[] = [];
  if (user === 'default') {
    reasons.push('is the default user: every client that connects without AUTH, or with only the server password, is this user');
  }
  const getuser = await attempt(() => s.command('ACL', 'GETUSER', user));
  if (getuser.ok) {
    reasons.push('can run ACL GETUSER: holds @admin (ACL SETUSER and CONFIG SET are in the same category)');
    reasons.push(...ruleReasons(parseAclGetUser(user, getuser.value)));
  } else {
    // Without @admin the identity cannot read its own rules, unless ACL LIST was granted (opt-in).
    const list = await attempt(() => s.command('ACL', 'LIST'));
    const own = list.ok && Array.isArray(list.value) ? list.value.map((l) => parseAclListLine(String(l))).find((r) => r?.user === user) : undefined;
    if (own !== undefined) reasons.push(...ruleReasons(own));
  }
  return {
    user,
    isAdministrator: reasons.length > 0,
    reasons,
    serverVersion: facts === undefined ? 'unknown (INFO is not allowed)' : productLabel(facts),
  };
}

interface Probe {
  grant: string;
  /** What the grant lets the agent read, for the checklist. */
  what: string;
  run(s: RedisSession): Promise<unknown>;
  optional?: boolean;
}

const PROBES: Probe[] = [
  { grant: 'ping', what: 'proves the login after connecting', run: (s) => s.command('PING') },
  {
    grant: 'client|setname',
    what: 'names the agent connection in CLIENT LIST (logstag-agent/<version>)',
    run: (s) => s.command('CLIENT', 'SETNAME', s.applicationName),
  },
  {
    grant: 'info',
    what: 'INFO sections: server, clients, memory, persistence, stats, replication, cpu, keyspace, commandstats, errorstats',
    run: (s) => s.command('INFO', 'server'),
  },
  // ID filter with an id no client has: proves the permission without listing every client.
  { grant: 'client|list', what: 'connected clients', run: (s) => s.command('CLIENT', 'LIST', 'ID', '9223372036854775807') },
  { grant: 'slowlog|get', what: 'slow-log entries (read only; never SLOWLOG RESET)', run: (s) => s.command('SLOWLOG', 'GET', 0) },
  { grant: 'slowlog|len', what: 'slow-log length', run: (s) => s.command('SLOWLOG', 'LEN') },
  { grant: 'latency|latest', what: 'latency spikes', run: (s) => s.command('LATENCY', 'LATEST') },
  { grant: 'config|get', what: 'vetted settings (never CONFIG SET)', run: (s) => s.command('CONFIG', 'GET', 'maxmemory') },
  { grant: 'memory|stats', what: 'memory breakdown', run: (s) => s.command('MEMORY', 'STATS') },
  { grant: 'acl|whoami', what: 'which user the agent is', run: (s) => s.command('ACL', 'WHOAMI') },
  {
    grant: 'acl|list',
    what: 'posture of every ACL user (nopass, +@all, default user enabled); shows password hashes to the identity, which the agent never ships',
    run: (s) => s.command('ACL', 'LIST'),
    optional: true,
  },
];

const isCluster = async (s: RedisSession): Promise<boolean | undefined> => {
  const sec = await s.info('cluster').catch(() => undefined);
  const v = sec?.get('cluster_enabled');
  return v === undefined ? undefined : v === '1';
};

export async function redisChecklist(s: RedisSession): Promise<ChecklistItem[]> {
  const facts = await s.facts();
  const probes = [...PROBES];
  const cluster = await isCluster(s);
  if (cluster !== false) probes.push({ grant: 'cluster|info', what: 'cluster state and slots', run: (x) => x.command('CLUSTER', 'INFO') });
  if (s.target.redis?.mode === 'cluster')
    probes.push({ grant: 'cluster|slots', what: 'how the agent finds the cluster nodes', run: (x) => x.command('CLUSTER', 'SLOTS') });
  if (isValkey81(facts)) {
    probes.push({
      grant: 'commandlog|get',
      what: 'Valkey command log: large requests and replies',
      run: (x) => x.command('COMMANDLOG', 'GET', 0, 'large-request'),
    });
    probes.push({ grant: 'commandlog|len', what: 'Valkey command log length', run: (x) => x.command('COMMANDLOG', 'LEN', 'large-request') });
  }
  const items: ChecklistItem[] = [];
  for (const p of probes) {
    const signals = signalsNeeding(p.grant);
    const r = await attempt(() => p.run(s));
    const base = { grant: `+${p.grant}`, signals: signals.length > 0 ? signals : ['session'] };
    if (r.ok || (r.code !== 'NOPERM' && r.code !== 'UNKNOWN_COMMAND')) {
      items.push({ ...base, status: 'granted', detail: p.what });
    } else if (r.code === 'UNKNOWN_COMMAND') {
      items.push({ ...base, status: 'not_enabled', detail: `${p.grant.split('|')[0]!.toUpperCase()} is renamed or disabled on this server (rename-command)` });
    } else {
      items.push({
        ...base,
        status: p.optional ? 'opt_in' : 'missing',
        detail: `${p.optional ? 'optional: ' : ''}${p.what}`,
        fix: aclFix(s.user, p.grant),
      });
    }
  }
  if (cluster === false) {
    items.push({
      grant: '+cluster|info',
      status: 'not_applicable',
      signals: signalsNeeding('cluster|info'),
      detail: 'not a cluster node (cluster-enabled no)',
    });
  }
  return items;
}

/**
 * One reviewable script: the full dedicated identity ('all'), or exactly the
 * missing subcommands for the configured user, as one ACL SETUSER line.
 */
export function redisGrantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string {
  const lines = [
    `# Logstag monitoring identity for target "${target.id}" (${target.host}:${target.port})`,
    '# Review, then run the ACL lines with redis-cli as an administrator. Only read-only subcommands,',
    '# no key and no channel access: never SLOWLOG RESET, CONFIG SET, CLIENT KILL or MONITOR.',
  ];
  const persist = [
    '# Make it permanent: ACL SAVE (users in an aclfile) or CONFIG REWRITE (users in the server configuration).',
    '# With replicas, Sentinel or a cluster: run it on every server (ACLs are per server).',
  ];
  if (items === 'all') {
    const grants = [...BASE_GRANTS, ...(target.redis?.mode === 'cluster' ? CLUSTER_MODE_GRANTS : [])];
    lines.push(
      `ACL SETUSER ${MONITOR_USER} on >CHOOSE-A-STRONG-PASSWORD resetkeys resetchannels -@all ${grants.map((g) => `+${g}`).join(' ')}`,
      '# Valkey 8.1 and later (command log): append  +commandlog|get +commandlog|len',
      '# Redis 6.0 (no channel permissions yet): leave out  resetchannels',
      `# Optional, ACL posture of every user (shows the identity the password hashes; the agent never ships them):`,
      `# ACL SETUSER ${MONITOR_USER} ${OPTIONAL_GRANTS.map((g) => `+${g}`).join(' ')}`,
      ...persist,
    );
    return `${lines.join('\n')}\n`;
  }
  const missing = items.filter((i) => i.status === 'missing' && i.fix !== undefined);
  const optional = items.filter((i) => i.status === 'opt_in' && i.fix !== undefined);
  if (missing.length === 0) lines.push('# Nothing is missing: every signal this server supports is readable.');
  else {
    for (const i of missing) lines.push(`# ${i.grant}: ${i.detail} (${i.signals.join(', ')})`);
    lines.push(`ACL SETUSER ${target.user} ${missing.map((i) => i.grant).join(' ')}`);
  }
  for (const i of optional) lines.push(`# Optional, ${i.detail}:`, `# ${i.fix!}`);
  lines.push(...persist);
  return `${lines.join('\n')}\n`;
}
