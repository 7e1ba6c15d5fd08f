// What each PostgreSQL major lacks, written out from the release notes (not derived from the
// collector): the expectations the version-matrix suites check every signal against.

/** The release that added each view a version-dependent signal reads. */
export const VIEW_SINCE: Readonly<Record<string, { view: string; since: number }>> = {
  'postgres.wal': { view: 'pg_stat_wal', since: 14 },
  'postgres.statements_info': { view: 'pg_stat_statements_info', since: 14 },
  'postgres.subscription_stats': { view: 'pg_stat_subscription_stats', since: 15 },
  'postgres.io': { view: 'pg_stat_io', since: 16 },
};

/** Signals a server of this major cannot have: each must be `unsupported`, naming the version. */
export const unsupportedOn = (major: number): string[] =>
  Object.entries(VIEW_SINCE)
    .filter(([, v]) => v.since > major)
    .map(([id]) => id)
    .sort();
