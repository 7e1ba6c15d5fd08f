import type { ChecklistItem, IdentityReport } from '../core/engine.js';
import type { AnySignalSpec } from '../core/signal.js';
import type { Target } from '../target.js';
import { oracleCatalog } from './catalog.js';
import { DIAGNOSTICS_PACK } from './catalog-diagnostics.js';
import { DICTIONARY_ONLY_PRIVILEGES, POWERFUL_PRIVILEGES, POWERFUL_ROLES } from './catalog-security.js';
import { grantableObject, grantSelect, OraclePermissionError, oracleIdent } from './errors.js';
import { diagnosticsPackConfirmed, type OracleSession } from './session.js';
import { containerDataFix } from './visibility.js';

/** The user the full script creates: common (C##) so one identity covers CDB$ROOT and every PDB. */
export const DEDICATED_USER = 'C##LOGSTAG_MONITOR';

/** Object → the signals that read it, from the catalog's `requires` (one list drives collection, checklist and script). */
function objectsOf(catalog: readonly AnySignalSpec<OracleSession>[], licensed: boolean): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const spec of catalog) {
    if ((spec.optIn === 'license') !== licensed) continue;
    for (const ref of spec.requires) {
      if (ref === DIAGNOSTICS_PACK) continue;
      map.set(ref, [...(map.get(ref) ?? []), spec.id]);
    }
  }
  return map;
}

export const NARROW_OBJECTS = objectsOf(oracleCatalog, false);
export const LICENSED_OBJECTS = objectsOf(oracleCatalog, true);
const LICENSED_SIGNALS = oracleCatalog.filter((s) => s.optIn === 'license').map((s) => s.id);
const ALL_SIGNALS = oracleCatalog.filter((s) => s.optIn === undefined).map((s) => s.id);

const isPowerfulPrivilege = (p: string): boolean =>
  !(DICTIONARY_ONLY_PRIVILEGES as readonly string[]).includes(p) && (/ ANY /.test(` ${p} `) || (POWERFUL_PRIVILEGES as readonly string[]).includes(p));

/** Names the worst privileges first so a long list still says what matters. */
const PRIVILEGE_ORDER = ['SYSDBA', 'ALTER SYSTEM', 'GRANT ANY PRIVILEGE', 'GRANT ANY ROLE', 'SELECT ANY TABLE', 'ALTER USER', 'CREATE USER'];

export async function oracleIdentity(s: OracleSession): Promise<IdentityReport> {
  // SESSION_ROLES, SESSION_PRIVS and SYS_CONTEXT need no grant: identity works for a user with CREATE SESSION only.
  const [me] = await s.query<{ user_name: string; is_dba: string }>(
    `SELECT SYS_CONTEXT('USERENV', 'SESSION_USER') AS user_name, SYS_CONTEXT('USERENV', 'ISDBA') AS is_dba FROM dual`,
  );
  if (me === undefined) throw new Error('SYS_CONTEXT returned no row');
  const roles = (await s.query<{ role: string }>('SELECT role FROM session_roles ORDER BY role')).map((r) => r.role);
  const privileges = (await s.query<{ privilege: string }>('SELECT privilege FROM session_privs ORDER BY privilege')).map((r) => r.privilege);
  const reasons: string[] = [];
  if (/^(SYS|SYSTEM)$/.test(me.user_name)) reasons.push(`is ${me.user_name}, a built-in administrator`);
  if (me.is_dba === 'TRUE') reasons.push('is connected AS SYSDBA');
  for (const r of roles.filter((r) => (POWERFUL_ROLES as readonly string[]).includes(r))) reasons.push(`has role ${r}`);
  const powerful = privileges
    .filter(isPowerfulPrivilege)
    .sort((a, b) => (PRIVILEGE_ORDER.indexOf(a) + 1 || 99) - (PRIVILEGE_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  if (powerful.length > 0) {
    const shown = powerful.slice(0, 5).join(', ');
    reasons.push(`has system privilege${powerful.length > 1 ? 's' : ''} ${shown}${powerful.length > 5 ? ` and ${powerful.length - 5} more` : ''}`);
  }
  const where = s.container === 'root' ? 'CDB$ROOT' : s.container === 'pdb' ? `PDB ${s.containerName}` : 'non-CDB';
  return { user: me.user_name, isAdministrator: reasons.length > 0, reasons, serverVersion: `Oracle ${s.serverVersion} (${where})` };
}

/** True when the user can SELECT from the object; Oracle checks privileges at parse time, so no row is read. */
async function canSelect(s: OracleSession, object: string): Promise<boolean> {
  try {
    await s.query(`SELECT 1 AS ok FROM ${object} WHERE ROWNUM < 1`);
    return true;
  } catch (err) {
    if (err instanceof OraclePermissionError) return false;
    throw err;
  }
}

async function objectItems(s: OracleSession, objects: Map<string, string[]>): Promise<ChecklistItem[]> {
  const items: ChecklistItem[] = [];
  for (const [object, signals] of objects) {
    const grant = `SELECT ON ${grantableObject(object)}`;
    items.push(
      (await canSelect(s, object))
        ? { grant, status: 'granted', signals, detail: `can read ${object}` }
        : { grant, status: 'missing', signals, detail: `${object} is not readable (ORA-00942)`, fix: grantSelect(object, s.user, s.container === 'root') },
    );
  }
  return items;
}

async function containerDataItem(s: OracleSession): Promise<ChecklistItem> {
  const signals = ALL_SIGNALS;
  const grant = 'CONTAINER_DATA=ALL';
  if (!(await canSelect(s, 'DBA_CONTAINER_DATA'))) {
    return {
      grant,
      status: 'missing',
      signals,
      detail: 'in CDB$ROOT the agent must verify that this common user sees every container, and DBA_CONTAINER_DATA is not readable',
      fix: `${grantSelect('DBA_CONTAINER_DATA', s.user, true)}\n${containerDataFix(s.user)}`,
    };
  }
  const rows = await s.query<{ all_containers: string }>(
    `SELECT all_containers FROM dba_container_data
      WHERE username = SYS_CONTEXT('USERENV', 'SESSION_USER') AND owner IS NULL AND all_containers = 'Y'`,
  );
  return rows.length > 0
    ? { grant, status: 'granted', signals, detail: 'V$ and CDB_ views show every container' }
    : { grant, status: 'missing', signals, detail: "only CDB$ROOT's rows are visible to this common user", fix: containerDataFix(s.user) };
}

async function licenceItems(s: OracleSession): Promise<ChecklistItem[]> {
  const grant = 'Oracle Diagnostics Pack licence';
  if (!s.diagnosticsPack) {
    // Not even probed: selecting from ASH/AWR views is itself use of the pack.
    return [
      {
        grant,
        status: 'not_licensed',
        signals: LICENSED_SIGNALS,
        detail: 'ASH and AWR need the Diagnostics Pack licence; the agent never touches them until the operator confirms it for this target',
        fix: 'Only if this database is licensed: add "oracle": { "diagnosticsPack": true } to the target file',
      },
    ];
  }
  const items: ChecklistItem[] = [{ grant, status: 'granted', signals: LICENSED_SIGNALS, detail: 'confirmed by the operator for this target' }];
  const rows = await s.query<{ value: string | null }>(`SELECT value FROM v$parameter WHERE name = 'control_management_pack_access'`).catch(() => undefined);
  const value = rows?.[0]?.value;
  if (value != null && !/DIAGNOSTIC/i.test(value)) {
    items.push({
      grant: 'control_management_pack_access',
      status: 'not_enabled',
      signals: LICENSED_SIGNALS,
      detail: `is ${value}: the pack is switched off on this database`,
      fix: "ALTER SYSTEM SET control_management_pack_access = 'DIAGNOSTIC+TUNING';",
    });
  }
  return [...items, ...(await objectItems(s, LICENSED_OBJECTS))];
}

export async function oracleChecklist(s: OracleSession): Promise<ChecklistItem[]> {
  return [
    { grant: 'CREATE SESSION', status: 'granted', signals: ALL_SIGNALS, detail: 'the user can log in' },
    ...(s.container === 'root' ? [await containerDataItem(s)] : []),
    ...(await objectItems(s, NARROW_OBJECTS)),
    ...(await licenceItems(s)),
  ];
}

/** One reviewable script: the dedicated identity ('all'), or exactly what this identity is missing. */
export function oracleGrantScript(target: Target, items: readonly ChecklistItem[] | 'all'): string {
  const licensed = diagnosticsPackConfirmed(target);
  const lines = [
    `-- Logstag monitoring identity for target "${target.id}" (${target.host}:${target.port}/${target.service ?? ''})`,
    '-- Review, then run as a DBA. Only SELECT on dictionary and performance views: no access to application data.',
  ];
  if (items === 'all') {
    const u = DEDICATED_USER;
    lines.push(
      '-- In a CDB run this in CDB$ROOT: a common user (C## prefix) with CONTAINER=ALL sees every PDB.',
      '-- In a PDB or a non-CDB: call the user LOGSTAG_MONITOR and leave out "CONTAINER=ALL" and the CONTAINER_DATA lines.',
      `CREATE USER ${u} IDENTIFIED BY "<choose a strong password>" CONTAINER=ALL;`,
      `GRANT CREATE SESSION TO ${u} CONTAINER=ALL;`,
      `${containerDataFix(u)}  -- V$ and CDB_ views then show every container`,
      grantSelect('DBA_CONTAINER_DATA', u, true) + '  -- lets the agent verify CONTAINER_DATA',
      '',
      '-- Recommended: SELECT on exactly the views the agent reads (grants name SYS.V_$…: the V$ names are synonyms).',
      ...[...NARROW_OBJECTS.keys()].map((o) => grantSelect(o, u, true)),
      '',
      '-- Alternative, broader (CIS rates it high-risk: the whole data dictionary becomes readable):',
      `-- GRANT SELECT_CATALOG_ROLE TO ${u} CONTAINER=ALL;`,
      `-- ${grantSelect('CDB_USERS_WITH_DEFPWD', u, true)}  -- not part of SELECT_CATALOG_ROLE`,
      '',
      licensed
        ? '-- Diagnostics Pack (confirmed for this target): ASH and AWR.'
        : '-- ASH/AWR: only if this database is licensed for the Oracle Diagnostics Pack (then set "oracle": { "diagnosticsPack": true }).',
      ...[...LICENSED_OBJECTS.keys()].map((o) => `${licensed ? '' : '-- '}${grantSelect(o, u, true)}`),
    );
    return `${lines.join('\n')}\n`;
  }
  const todo = items.filter((i) => (i.status === 'missing' || i.status === 'not_enabled') && i.fix !== undefined);
  if (todo.length === 0) lines.push('-- Nothing is missing: every enabled signal is readable.');
  for (const i of todo) lines.push(`-- ${i.grant}: ${i.detail} (${i.signals.join(', ')})`, i.fix!);
  if (todo.some((i) => i.grant.startsWith('SELECT ON '))) {
    lines.push(
      '-- Alternative to the SELECT grants above, broader (CIS rates it high-risk):',
      `-- GRANT SELECT_CATALOG_ROLE TO ${oracleIdent(target.user)};  -- then log in again; CDB_USERS_WITH_DEFPWD still needs its own grant`,
    );
  }
  if (items.some((i) => i.status === 'not_licensed')) {
    lines.push('-- ASH/AWR: not confirmed as licensed for this target, so they stay off (no grant needed).');
  }
  return `${lines.join('\n')}\n`;
}
