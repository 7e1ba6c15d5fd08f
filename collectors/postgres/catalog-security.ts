import { defineSignal, type AnySignalSpec } from '../core/signal.js';
import type { PgSession } from './session.js';

interface RoleRow {
  name: string;
  superuser: boolean;
  inherit: boolean;
  create_role: boolean;
  create_db: boolean;
  can_login: boolean;
  replication: boolean;
  bypass_rls: boolean;
  connection_limit: number;
  valid_until: string | null;
  member_of: string[];
}
const roles = defineSignal<PgSession, RoleRow>({
  id: 'postgres.roles',
  family: 'security_posture',
  description: 'Roles with their attributes and memberships (pg_roles; passwords are never read)',
  requires: [],
  shape: 'rows',
  // pg_roles, never pg_authid: the password hashes stay out of reach by construction.
  read: (s) =>
    s.query<RoleRow>(
      `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolinherit AS inherit, r.rolcreaterole AS create_role,
              r.rolcreatedb AS create_db, r.rolcanlogin AS can_login, r.rolreplication AS replication,
              r.rolbypassrls AS bypass_rls, r.rolconnlimit AS connection_limit,
              to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS valid_until,
              COALESCE(ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                              WHERE m.member = r.oid ORDER BY g.rolname), '{}') AS member_of
         FROM pg_roles r
        WHERE r.rolname !~ '^pg_'
        ORDER BY r.rolname`,
    ),
  fields: {
    name: 'identity_metadata',
    superuser: 'identity_metadata',
    inherit: 'identity_metadata',
    create_role: 'identity_metadata',
    create_db: 'identity_metadata',
    can_login: 'identity_metadata',
    replication: 'identity_metadata',
    bypass_rls: 'identity_metadata',
    connection_limit: 'identity_metadata',
    valid_until: 'identity_metadata',
    member_of: 'identity_metadata',
  },
});

interface SecurityRow {
  ssl: string;
  ssl_in_use: boolean;
  ssl_version: string | null;
  password_encryption: string;
  superusers: string[];
  login_roles_without_expiry: number;
}
const security = defineSignal<PgSession, SecurityRow>({
  id: 'postgres.security',
  family: 'security_posture',
  description: "TLS on the server and on the agent's own connection, password hashing, and who is superuser",
  requires: [],
  shape: 'object',
  read: (s) =>
    s.query<SecurityRow>(
      `SELECT current_setting('ssl') AS ssl,
              COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl_in_use,
              (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl) AS ssl_version,
              current_setting('password_encryption') AS password_encryption,
              COALESCE(ARRAY(SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY rolname), '{}') AS superusers,
              (SELECT count(*)::int FROM pg_roles WHERE rolcanlogin AND rolvaliduntil IS NULL) AS login_roles_without_expiry`,
    ),
  fields: {
    ssl: 'config_posture',
    ssl_in_use: 'config_posture',
    ssl_version: 'config_posture',
    password_encryption: 'config_posture',
    superusers: 'identity_metadata',
    login_roles_without_expiry: 'config_posture',
  },
});

export const securitySignals: readonly AnySignalSpec<PgSession>[] = [roles, security];
