import { type GrantRef, SignalUnavailable } from '../core/signal.js';
import { GRANTS, PLATFORM_LABEL, type ServerFacts } from './model.js';
import { quoteName } from './names.js';
import type { MssqlSession } from './session.js';
import { requireGrants } from './visibility.js';

/**
 * What a view needs beyond the grant the signal already checks, by version and
 * platform, as the "Permissions" section of its Microsoft Learn page states it.
 * A signal names the views it reads and `requireViews` applies every rule, so a
 * view's requirement is written once, here, not remembered per signal.
 * The documented table the rules are checked against is
 * test/fixtures/vendor-schemas/mssql.ts.
 */
export interface ViewRule {
  /** Grant references the view needs on this server (empty: public). */
  grants?: (f: ServerFacts) => GrantRef[];
  /**
   * Azure SQL Database cannot show other sessions' rows at all (e.g. sys.dm_exec_requests:
   * "VIEW SERVER STATE can't be granted in Azure SQL Database so sys.dm_exec_requests is
   * always limited to the current connection").
   */
  azureOwnConnectionOnly?: true;
  /**
   * Azure SQL Database Basic, S0, S1 and elastic pools: "the server admin account, the
   * Microsoft Entra admin account, or membership in the ##MS_ServerStateReader## server
   * role is required"; VIEW DATABASE STATE suffices only on the other service objectives.
   */
  azureRestrictedTiers?: true;
}

export const VIEW_RULES: Readonly<Record<string, ViewRule>> = {
  // Public up to 2019; "SQL Server 2022 (16.x) and later versions require VIEW SERVER PERFORMANCE STATE".
  'sys.configurations': { grants: (f) => (f.platform !== 'azure_sql_database' && f.serverPerformanceState ? [GRANTS.serverState] : []) },
  'sys.dm_exec_requests': { azureOwnConnectionOnly: true },
  'sys.dm_exec_connections': { azureRestrictedTiers: true },
  'sys.dm_db_missing_index_details': { azureRestrictedTiers: true },
  'sys.dm_db_missing_index_groups': { azureRestrictedTiers: true },
  'sys.dm_db_missing_index_group_stats': { azureRestrictedTiers: true },
};

/** DATABASEPROPERTYEX ServiceObjective values of the restricted tiers ('ElasticPool' for any pooled database). */
export const RESTRICTED_SERVICE_OBJECTIVES = ['Basic', 'S0', 'S1', 'ElasticPool'] as const;

interface TierRow {
  service_objective: string | null;
  is_dbo: number | null;
  server_state_reader: number | null;
}
const tiers = new WeakMap<MssqlSession, TierRow>();

/** The database's service objective and whether the identity is exempt from the tier restriction (read once per session). */
async function tierOf(s: MssqlSession): Promise<TierRow> {
  let t = tiers.get(s);
  if (t === undefined) {
    // The server admin and the Entra admin are dbo in every database; IS_SRVROLEMEMBER answers for the ##MS_…## roles.
    const [row] = await s.query<TierRow>(
      `SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'ServiceObjective') AS nvarchar(128)) AS service_objective,
              CASE WHEN USER_NAME() = N'dbo' OR IS_ROLEMEMBER(N'db_owner') = 1 THEN 1 ELSE 0 END AS is_dbo,
              IS_SRVROLEMEMBER(N'##MS_ServerStateReader##') AS server_state_reader`,
    );
    t = row ?? { service_objective: null, is_dbo: 0, server_state_reader: null };
    tiers.set(s, t);
  }
  return t;
}

const tierLabel = (objective: string): string => (objective === 'ElasticPool' ? 'a database in an elastic pool' : `service objective ${objective}`);

/**
 * Applies the documented rule of every view a signal reads, before it reads them:
 * `unsupported` where the platform cannot show the data, `permission` (with the
 * grant, the tier and the fix) where the identity cannot, never a partial answer.
 */
export async function requireViews(s: MssqlSession, views: readonly string[], what: string): Promise<void> {
  const rules = views.map((v) => {
    const r = VIEW_RULES[v];
    return { view: v, rule: r ?? {} };
  });
  const f = s.facts;
  if (f.platform === 'azure_sql_database') {
    const own = rules.filter((r) => r.rule.azureOwnConnectionOnly);
    if (own.length > 0) {
      throw new SignalUnavailable(
        'unsupported',
        `${what}: not available on ${PLATFORM_LABEL[f.platform]} (every service tier): ${own.map((r) => r.view).join(', ')} shows only the agent's own connection there, so an empty answer would read as healthy`,
      );
    }
    const tiered = rules.filter((r) => r.rule.azureRestrictedTiers);
    if (tiered.length > 0) {
      const t = await tierOf(s);
      const objective = t.service_objective ?? '';
      if ((RESTRICTED_SERVICE_OBJECTIVES as readonly string[]).includes(objective) && t.is_dbo !== 1 && t.server_state_reader !== 1) {
        throw new SignalUnavailable(
          'permission',
          `${what}: on ${PLATFORM_LABEL[f.platform]} ${tierLabel(objective)}, ${tiered.map((r) => r.view).join(', ')} need the server admin, the Microsoft Entra admin or membership in ##MS_ServerStateReader##; VIEW DATABASE STATE is not enough on Basic, S0, S1 and elastic pools`,
          `-- in the master database of the logical server (the identity needs a login there):\nALTER SERVER ROLE ##MS_ServerStateReader## ADD MEMBER ${quoteName(f.login)};`,
        );
      }
    }
  }
  const grants = [...new Set(rules.flatMap((r) => r.rule.grants?.(f) ?? []))];
  if (grants.length > 0) await requireGrants(s, grants, what);
}
