/**
 * The configuration parameters the agent reads with CONFIG GET: posture and
 * capacity settings only. Never `*` or a glob, and never a parameter that holds
 * a secret or a path (requirepass, masterauth, masteruser, tls-key-file-pass,
 * aclfile, dir, dbfilename, logfile, unixsocket, ...). The session's allowlist
 * refuses any name that is not in this list.
 */
export const VETTED_CONFIG = [
  // exposure
  'bind',
  'port',
  'tls-port',
  'protected-mode',
  'tls-auth-clients',
  'tls-protocols',
  'tls-replication',
  'tls-cluster',
  'enable-debug-command',
  'enable-module-command',
  'enable-protected-configs',
  'acllog-max-len',
  // capacity and eviction
  'maxmemory',
  'maxmemory-policy',
  'maxmemory-samples',
  'maxmemory-clients',
  'maxclients',
  'timeout',
  'tcp-keepalive',
  'tcp-backlog',
  'databases',
  'client-output-buffer-limit',
  'io-threads',
  'hz',
  'busy-reply-threshold',
  'activedefrag',
  'lazyfree-lazy-eviction',
  'lazyfree-lazy-expire',
  'notify-keyspace-events',
  // persistence
  'save',
  'appendonly',
  'appendfsync',
  // replication and cluster
  'replica-read-only',
  'replica-serve-stale-data',
  'repl-backlog-size',
  'repl-diskless-sync',
  'min-replicas-to-write',
  'min-replicas-max-lag',
  'cluster-enabled',
  'cluster-node-timeout',
  // the agent's own signals: thresholds that decide what the logs hold
  'slowlog-log-slower-than',
  'slowlog-max-len',
  'latency-monitor-threshold',
  'latency-tracking',
  // Valkey 8.1+ command log
  'commandlog-execution-slower-than',
  'commandlog-slow-execution-max-len',
  'commandlog-request-larger-than',
  'commandlog-large-request-max-len',
  'commandlog-reply-larger-than',
  'commandlog-large-reply-max-len',
] as const;

export type VettedConfig = (typeof VETTED_CONFIG)[number];

const VETTED = new Set<string>(VETTED_CONFIG);
export const isVettedConfig = (name: string): boolean => VETTED.has(name.toLowerCase());
