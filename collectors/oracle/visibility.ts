import { SignalUnavailable } from '../core/signal.js';
import { oracleIdent } from './errors.js';
import type { OracleSession } from './session.js';

/** The statement a DBA runs so a common user sees every container's rows from CDB$ROOT. */
export const containerDataFix = (user: string): string => `ALTER USER ${oracleIdent(user)} SET CONTAINER_DATA=ALL CONTAINER=CURRENT;`;

/**
 * In CDB$ROOT, Oracle does not refuse V$ and CDB_ views to a common user without
 * CONTAINER_DATA=ALL: it silently returns the root's rows only. So signals that
 * read them check positively (DBA_CONTAINER_DATA, once per session) and report
 * permission instead of passing a partial answer as the whole database.
 */
export async function needsAllContainers(s: OracleSession, what: string): Promise<void> {
  if (s.container !== 'root') return;
  const all = await s.memo('container_data_all', async () => {
    const rows = await s.query<{ all_containers: string }>(
      `SELECT all_containers FROM dba_container_data
        WHERE username = SYS_CONTEXT('USERENV', 'SESSION_USER') AND owner IS NULL AND all_containers = 'Y'`,
    );
    return rows.length > 0;
  });
  if (!all) {
    throw new SignalUnavailable(
      'permission',
      `${what}: in CDB$ROOT this user sees only the root container's rows (its CONTAINER_DATA is not ALL)`,
      containerDataFix(s.user),
    );
  }
}
