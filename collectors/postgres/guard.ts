/**
 * The statement allowlist of the PostgreSQL session. The server already runs every
 * statement in a read-only transaction (default_transaction_read_only=on at
 * startup); this guard refuses anything that is not a single plain read before it
 * reaches the network, including the functions that write or reset state even in
 * a read-only transaction (pg_stat_reset*, pg_stat_statements_reset, set_config,
 * pg_terminate_backend, ...).
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

const FORBIDDEN_WORDS =
  /\b(insert|update|delete|merge|create|alter|drop|grant|revoke|truncate|copy|call|do|lock|vacuum|analyze|reindex|cluster|refresh|set|reset|notify|listen|unlisten|prepare|execute|deallocate|discard|begin|commit|rollback|savepoint|release|checkpoint|load|import|security|comment|into)\b/i;

const FORBIDDEN_FUNCTIONS =
  /\b(pg_stat_reset\w*|pg_stat_statements_reset|set_config|pg_reload_conf|pg_rotate_logfile\w*|pg_switch_wal|pg_create_\w+|pg_drop_replication_slot|pg_replication_origin_\w+|pg_terminate_backend|pg_cancel_backend|pg_promote|pg_wal_replay_\w+|pg_start_backup|pg_stop_backup|pg_backup_\w+|pg_log_backend_memory_contexts|pg_advisory\w*|pg_try_advisory\w*|pg_notify|pg_sleep\w*|pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_file_\w+|lo_\w+|dblink\w*|nextval|setval|txid_current|pg_current_xact_id|pg_logical_emit_message|pg_import_system_collations|pg_truncate_visibility_map|query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*)\s*\(/i;

/** Blanks string literals, quoted identifiers and comments so the checks see only SQL words. */
function skeleton(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, "''")
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '"x"');
}

export function assertReadOnlySql(sql: string): void {
  const s = skeleton(sql).trim();
  if (!/^(select|with|show|table|values)\b/i.test(s)) throw new ReadOnlyViolation('only SELECT, WITH, SHOW, TABLE or VALUES may run');
  const body = s.replace(/;\s*$/, '');
  if (body.includes(';')) throw new ReadOnlyViolation('one statement at a time');
  if (/^show\b/i.test(body)) {
    if (!/^show\s+[a-z_][a-z0-9_.]*$/i.test(body)) throw new ReadOnlyViolation('SHOW takes one setting name');
    return;
  }
  const word = FORBIDDEN_WORDS.exec(body);
  if (word) throw new ReadOnlyViolation(`"${word[1]!.toUpperCase()}" is not allowed`);
  const fn = FORBIDDEN_FUNCTIONS.exec(body);
  if (fn) throw new ReadOnlyViolation(`function ${fn[1]!.toLowerCase()}() is not allowed`);
  if (/\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/i.test(body)) throw new ReadOnlyViolation('row locks are not allowed');
}
