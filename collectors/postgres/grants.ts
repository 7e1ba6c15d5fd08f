import { type ChecklistItem, type IdentityReport, markOptional } from '../core/engine.js';
import { signalsRequiring } from '../core/signal.js';
import { postgresCatalog } from './catalog.js';
import type { Target } from '../target.js';
import type { PgSession } from './session.js';

import { quoteIdent } from './quote.js';

export { quoteIdent };

/** Roles whose membership turns a monitoring identity into something more. */
const POWERFUL_ROLES = [
  'pg_read_all_data',
  'pg_write_all_data',
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_signal_backend',
  'pg_database_owner',
] as const;

export async function pgIdentity(s: PgSession): Promise<IdentityReport> {
  const [me] = await s.query<{
    user: string;
    version: string;
    rolsuper: boolean;
    rolbypassrls: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolreplication: boolean;
  }>(
    `SELECT r.rolname AS user, current_setting('server_version') AS version, r.rolsuper, r.rolbypassrls,
            r.rolcreaterole, r.rolcreatedb, r.rolreplication
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (me === undefined) throw new Error('current_user is not visible in pg_roles');
  const members = await s.query<{ rolname: string }>(
    `SELECT r.rolname FROM pg_roles r
      WHERE r.rolname = ANY($1) AND r.rolname <> 'pg_database_owner' AND pg_has_role(current_user, r.oid, 'MEMBER')
      ORDER BY r.rolname`,
    [POWERFUL_ROLES],
  );
  const reasons: string[] = [];
  if (me.rolsuper) reasons.push('is a superuser');
  if (me.rolbypassrls) reasons.push('has BYPASSRLS');
  if (me.rolcreaterole) reasons.push('has CREATEROLE');
  if (me.rolcreatedb) reasons.push('has CREATEDB');
  if (me.rolreplication) reasons.push('has REPLICATION');
  for (const m of members) reasons.push(`is a member of ${m.rolname}`);
  return { user: me.user, serverVersion: me.version, isAdministrator: reasons.length > 0, reasons };
}

/**
 * Grants a least-privilege monitoring role is not expected to hold: pg_hba_file_rules is
 * readable only by superusers unless granted one by one, and pg_monitor does not include
 * it. Its item stays in the checklist (with its fix) but a setup without it is complete.
 */
export const PG_OPTIONAL_GRANTS = ['pg_hba_file_rules'] as const;

export async function pgChecklist(s: PgSession): Promise<ChecklistItem[]> {
  const [p] = await s.query<{
    user: string;
    stats: boolean;
    settings: boolean;
    hba: boolean;
    preloaded: boolean | null;
    ext: boolean;
    available: boolean;
    in_recovery: boolean;
  }>(
    `SELECT current_user AS user,
            pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS stats,
            pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS settings,
            has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE')
              AND has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT') AS hba,
            (SELECT 'pg_stat_statements' = ANY(string_to_array(replace(setting, ' ', ''), ','))
               FROM pg_settings WHERE name = 'shared_preload_libraries') AS preloaded,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS ext,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
            pg_is_in_recovery() AS in_recovery`,
  );
  if (p === undefined) throw new Error('permission probe returned no row');
  const role = quoteIdent(p.user);
  // Each item's signals come from the catalog's `requires`, never from a hand-kept list.
  const needs = (ref: string): string[] => signalsRequiring(postgresCatalog, ref);
  const items: ChecklistItem[] = [
    p.stats
      ? { grant: 'pg_read_all_stats', status: 'granted', signals: needs('pg_read_all_stats'), detail: 'sees every session and statement statistic' }
      : {
          grant: 'pg_read_all_stats',
          status: 'missing',
          signals: needs('pg_read_all_stats'),
          detail: "other users' sessions and statements are masked",
          fix: `GRANT pg_read_all_stats TO ${role};  -- or GRANT pg_monitor, which includes it`,
        },
    p.settings
      ? { grant: 'pg_read_all_settings', status: 'granted', signals: needs('pg_read_all_settings'), detail: 'sees every setting' }
      : {
          grant: 'pg_read_all_settings',
          status: 'missing',
          signals: needs('pg_read_all_settings'),
          detail: 'superuser-only settings are hidden',
          fix: `GRANT pg_read_all_settings TO ${role};  -- or GRANT pg_monitor, which includes it`,
        },
    p.hba
      ? { grant: 'pg_hba_file_rules', status: 'granted', signals: needs('pg_hba_file_rules'), detail: 'can read client authentication rules' }
      : {
          grant: 'pg_hba_file_rules',
          status: 'missing',
          signals: needs('pg_hba_file_rules'),
          detail: 'pg_hba_file_rules is readable only by superusers unless granted',
          fix: `GRANT SELECT ON pg_catalog.pg_hba_file_rules TO ${role};\nGRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO ${role};`,
        },
  ];
  // Standby-only views: on a primary there is nothing to grant.
  items.push(
    !p.in_recovery
      ? {
          grant: 'pg_stat_wal_receiver',
          status: 'not_applicable',
          signals: needs('pg_stat_wal_receiver'),
          detail: 'this server is a primary; WAL receiver details exist only on standbys',
        }
      : p.stats
        ? { grant: 'pg_stat_wal_receiver', status: 'granted', signals: needs('pg_stat_wal_receiver'), detail: 'sees the WAL receiver (pg_read_all_stats)' }
        : {
            grant: 'pg_stat_wal_receiver',
            status: 'missing',
            signals: needs('pg_stat_wal_receiver'),
            detail: 'WAL receiver details are masked without pg_read_all_stats',
            fix: `GRANT pg_read_all_stats TO ${role};`,
          },
  );
  if (p.ext) {
    items.push({ grant: 'pg_stat_statements', status: 'granted', signals: needs('pg_stat_statements'), detail: 'extension created in this database' });
  } else {
    const preload =
      p.preloaded === false ? "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';  -- append to any existing list, then restart\n" : '';
    items.push({
      grant: 'pg_stat_statements',
      status: 'not_enabled',
      signals: needs('pg_stat_statements'),
      detail: p.available
        ? `the extension is ${p.preloaded === false ? 'not in shared_preload_libraries and ' : ''}not created in this database`
        : 'the extension is not installed on the server (contrib package)',
      fix: `${preload}CREATE EXTENSION pg_stat_statements;  -- run as a superuser in the monitored database`,
    });
  }
  return markOptional(items, PG_OPTIONAL_GRANTS);
}

/** One reviewable script: create the dedicated role, then exactly the missing grants. */
export function pgGrantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string {
  const dedicated = items === 'all';
  const role = quoteIdent(dedicated ? 'logstag_monitor' : target.user);
  const lines = [
    `-- Logstag monitoring identity for target "${target.id}" (${target.host}:${target.port}/${target.database ?? ''})`,
    '-- Review, then run as a superuser. Nothing here grants write access to any data.',
  ];
  if (dedicated) {
    lines.push(
      `CREATE ROLE ${role} LOGIN PASSWORD '<choose a strong password>';`,
      `ALTER ROLE ${role} SET default_transaction_read_only = on;`,
      `GRANT CONNECT ON DATABASE ${quoteIdent(target.database ?? 'postgres')} TO ${role};`,
      `GRANT pg_monitor TO ${role};  -- pg_read_all_settings + pg_read_all_stats + pg_stat_scan_tables`,
      `GRANT SELECT ON pg_catalog.pg_hba_file_rules TO ${role};`,
      `GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO ${role};`,
      '-- pg_stat_statements (query statistics): needs shared_preload_libraries and, in the monitored database:',
      '-- CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
    );
    return `${lines.join('\n')}\n`;
  }
  const todo = items.filter((i) => (i.status === 'missing' || i.status === 'not_enabled') && i.fix !== undefined);
  if (todo.length === 0) lines.push('-- Nothing is missing: every enabled signal is readable.');
  for (const i of todo) lines.push(`-- ${i.optional === true ? 'optional, ' : ''}${i.grant}: ${i.detail} (${i.signals.join(', ')})`, i.fix!);
  return `${lines.join('\n')}\n`;
}
