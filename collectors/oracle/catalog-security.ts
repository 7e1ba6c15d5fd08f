import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { OracleSession } from './session.js';
import { literalList, utcOfDate, utcOfTimestampTz } from './sql.js';
import { needsAllContainers } from './visibility.js';

/** Roles that make a grantee an administrator (or able to read or change any data). */
export const POWERFUL_ROLES = [
  'DBA',
  'PDB_DBA',
  'IMP_FULL_DATABASE',
  'EXP_FULL_DATABASE',
  'DATAPUMP_IMP_FULL_DATABASE',
  'DATAPUMP_EXP_FULL_DATABASE',
  'EXECUTE_CATALOG_ROLE',
  'AUDIT_ADMIN',
  'DV_OWNER',
  'DV_ADMIN',
  'DV_ACCTMGR',
] as const;

/** System privileges that are powerful without "ANY" in their name. */
export const POWERFUL_PRIVILEGES = [
  'ALTER SYSTEM',
  'ALTER DATABASE',
  'CREATE USER',
  'ALTER USER',
  'DROP USER',
  'BECOME USER',
  'ALTER PROFILE',
  'DROP PROFILE',
  'AUDIT SYSTEM',
  'EXEMPT ACCESS POLICY',
  'EXEMPT REDACTION POLICY',
  'ADMINISTER DATABASE TRIGGER',
  'ADMINISTER KEY MANAGEMENT',
  'CREATE PLUGGABLE DATABASE',
  'SYSDBA',
  'SYSOPER',
  'SYSBACKUP',
  'SYSDG',
  'SYSKM',
  'SYSRAC',
] as const;

/** Read-only dictionary access: broad but not administrative, so not flagged on its own. */
export const DICTIONARY_ONLY_PRIVILEGES = ['SELECT ANY DICTIONARY'] as const;

interface UserRow {
  con_id: number;
  username: string;
  account_status: string;
  locked_at: string | null;
  expires_at: string | null;
  profile: string;
  authentication_type: string;
  password_versions: string | null;
  common: string;
  oracle_maintained: string;
  last_login_at: string | null;
}
const users = defineSignal<OracleSession, UserRow>({
  id: 'oracle.users',
  family: 'security_posture',
  description: 'Accounts with status, lock and expiry dates, profile, authentication type and password verifier versions (CDB_USERS; never password hashes)',
  requires: ['CDB_USERS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'users');
    return s.query<UserRow>(
      `SELECT con_id, username, account_status, ${utcOfDate('lock_date')} AS locked_at, ${utcOfDate('expiry_date')} AS expires_at,
              profile, authentication_type, password_versions, common, oracle_maintained,
              ${utcOfTimestampTz('last_login')} AS last_login_at
         FROM cdb_users
        ORDER BY con_id, username
        FETCH FIRST 5000 ROWS ONLY`,
    );
  },
  fields: {
    con_id: null,
    username: 'identity_metadata',
    account_status: 'identity_metadata',
    locked_at: 'identity_metadata',
    expires_at: 'identity_metadata',
    profile: 'identity_metadata',
    authentication_type: 'config_posture',
    password_versions: 'config_posture',
    common: 'identity_metadata',
    oracle_maintained: 'identity_metadata',
    last_login_at: 'identity_metadata',
  },
});

interface DefaultPasswordRow {
  con_id: number;
  username: string;
}
const defaultPasswords = defineSignal<OracleSession, DefaultPasswordRow>({
  id: 'oracle.default_passwords',
  family: 'security_posture',
  description: 'Accounts still using a default password (CDB_USERS_WITH_DEFPWD; SELECT_CATALOG_ROLE does not include it)',
  requires: ['CDB_USERS_WITH_DEFPWD'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'default passwords');
    return s.query<DefaultPasswordRow>('SELECT con_id, username FROM cdb_users_with_defpwd ORDER BY con_id, username');
  },
  fields: { con_id: null, username: 'identity_metadata' },
});

interface ProfileRow {
  con_id: number;
  profile: string;
  resource_name: string;
  limit_value: string;
}
const profiles = defineSignal<OracleSession, ProfileRow>({
  id: 'oracle.password_profiles',
  family: 'security_posture',
  description: 'Password limits of every profile (failed logins, lifetime, reuse, lock time, verify function) from CDB_PROFILES',
  requires: ['CDB_PROFILES'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'profiles');
    return s.query<ProfileRow>(
      `SELECT con_id, profile, resource_name, limit AS limit_value
         FROM cdb_profiles
        WHERE resource_type = 'PASSWORD'
        ORDER BY con_id, profile, resource_name`,
    );
  },
  fields: { con_id: null, profile: 'identity_metadata', resource_name: null, limit_value: 'config_posture' },
});

interface PrivilegedRow {
  con_id: number;
  grantee: string;
  kind: 'ROLE' | 'SYSTEM PRIVILEGE';
  granted: string;
  admin_option: string;
}
const privilegedGrantees = defineSignal<OracleSession, PrivilegedRow>({
  id: 'oracle.privileged_grantees',
  family: 'security_posture',
  description: 'Users and roles (Oracle-maintained roles excluded) holding DBA-like roles or powerful system privileges (any "ANY" privilege, ALTER SYSTEM, …)',
  requires: ['CDB_ROLE_PRIVS', 'CDB_SYS_PRIVS', 'CDB_ROLES'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'privileged grantees');
    return s.query<PrivilegedRow>(
      `SELECT con_id, grantee, kind, granted, admin_option FROM (
         SELECT r.con_id, r.grantee, 'ROLE' AS kind, r.granted_role AS granted, r.admin_option
           FROM cdb_role_privs r
          WHERE r.granted_role IN (${literalList(POWERFUL_ROLES)})
         UNION ALL
         SELECT p.con_id, p.grantee, 'SYSTEM PRIVILEGE' AS kind, p.privilege AS granted, p.admin_option
           FROM cdb_sys_privs p
          WHERE (p.privilege LIKE '% ANY %' OR p.privilege IN (${literalList(POWERFUL_PRIVILEGES)}))
            AND p.privilege NOT IN (${literalList(DICTIONARY_ONLY_PRIVILEGES)})
       ) g
        WHERE NOT EXISTS (SELECT 1 FROM cdb_roles o WHERE o.role = g.grantee AND o.con_id = g.con_id AND o.oracle_maintained = 'Y')
        ORDER BY con_id, grantee, kind, granted
        FETCH FIRST 5000 ROWS ONLY`,
    );
  },
  fields: { con_id: null, grantee: 'identity_metadata', kind: null, granted: 'identity_metadata', admin_option: 'identity_metadata' },
});

interface PwfileRow {
  con_id: number;
  username: string;
  sysdba: string;
  sysoper: string;
  sysbackup: string;
  sysdg: string;
  syskm: string;
}
const pwfileUsers = defineSignal<OracleSession, PwfileRow>({
  id: 'oracle.administrative_users',
  family: 'security_posture',
  description: 'Users granted SYSDBA, SYSOPER, SYSBACKUP, SYSDG or SYSKM (V$PWFILE_USERS)',
  requires: ['V$PWFILE_USERS'],
  shape: 'rows',
  read: async (s) => {
    await needsAllContainers(s, 'administrative users');
    return s.query<PwfileRow>('SELECT con_id, username, sysdba, sysoper, sysbackup, sysdg, syskm FROM v$pwfile_users ORDER BY con_id, username');
  },
  fields: {
    con_id: null,
    username: 'identity_metadata',
    sysdba: 'identity_metadata',
    sysoper: 'identity_metadata',
    sysbackup: 'identity_metadata',
    sysdg: 'identity_metadata',
    syskm: 'identity_metadata',
  },
});

interface AuditRow {
  unified_auditing: string | null;
  audit_trail: string | null;
  audit_sys_operations: string | null;
  unified_policies_enabled: number;
}
const auditSettings = defineSignal<OracleSession, AuditRow>({
  id: 'oracle.audit_settings',
  family: 'security_posture',
  description: 'Audit configuration: pure unified auditing or mixed mode, traditional audit_trail, auditing of SYS, and how many unified policies are enabled',
  requires: ['V$OPTION', 'V$PARAMETER', 'AUDIT_UNIFIED_ENABLED_POLICIES'],
  shape: 'object',
  read: (s) =>
    s.query<AuditRow>(
      `SELECT (SELECT value FROM v$option WHERE parameter = 'Unified Auditing') AS unified_auditing,
              (SELECT value FROM v$parameter WHERE name = 'audit_trail') AS audit_trail,
              (SELECT value FROM v$parameter WHERE name = 'audit_sys_operations') AS audit_sys_operations,
              (SELECT COUNT(*) FROM audit_unified_enabled_policies) AS unified_policies_enabled
         FROM dual`,
    ),
  fields: {
    unified_auditing: 'config_posture',
    audit_trail: 'config_posture',
    audit_sys_operations: 'config_posture',
    unified_policies_enabled: 'config_posture',
  },
});

export const securitySignals: readonly AnySignalSpec<OracleSession>[] = [users, defaultPasswords, profiles, privilegedGrantees, pwfileUsers, auditSettings];
