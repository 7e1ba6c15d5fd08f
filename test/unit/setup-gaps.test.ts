// Honest status (issue 22): which unavailable signals make a setup incomplete. One rule
// (setupGaps) feeds the target's state, the tray's permission gaps and the status file.
import { describe, expect, it } from 'vitest';
import { markOptional } from '../../collectors/core/engine.js';
import { optionalSignalsOf, setupGaps } from '../../collectors/core/signal.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { PG_OPTIONAL_GRANTS } from '../../collectors/postgres/grants.js';
import { postgresCollector } from '../../collectors/postgres/index.js';

const unavailable = (id: string, reason: 'permission' | 'disabled' | 'unsupported' | 'error' | 'not_enabled') => ({
  id,
  status: 'unavailable' as const,
  reason,
});
const okSignal = (id: string) => ({ id, status: 'ok' as const });

describe('setup gaps', () => {
  const optional = optionalSignalsOf(postgresCatalog, postgresCollector.optionalGrants ?? []);

  it('PostgreSQL: the superuser-only pg_hba_file_rules is optional, and only its signal', () => {
    expect(PG_OPTIONAL_GRANTS).toEqual(['pg_hba_file_rules']);
    expect(optional).toEqual(['postgres.hba_rules']);
  });

  it('a pg_monitor setup (only pg_hba_file_rules missing) has no gap', () => {
    const signals = postgresCatalog.map((s) => (s.id === 'postgres.hba_rules' ? unavailable(s.id, 'permission') : okSignal(s.id)));
    expect(setupGaps(signals, optional)).toEqual([]);
    // Without the engine's list the same cycle would count it: the list is what decides.
    expect(setupGaps(signals).map((s) => s.id)).toEqual(['postgres.hba_rules']);
  });

  it('opt-ins left off and views this server lacks are not gaps; a missing required grant, an error, an extension not enabled are', () => {
    const signals = [
      unavailable('postgres.activity', 'permission'),
      unavailable('postgres.io', 'unsupported'),
      unavailable('postgres.wal', 'disabled'),
      unavailable('postgres.query_stats', 'not_enabled'),
      unavailable('postgres.vacuum', 'error'),
      okSignal('postgres.settings'),
    ];
    expect(setupGaps(signals, optional).map((s) => s.id)).toEqual(['postgres.activity', 'postgres.query_stats', 'postgres.vacuum']);
  });

  it('checklist items: optional grants, opt-ins and not applicable are marked; nothing else', () => {
    const items = markOptional(
      [
        { grant: 'pg_hba_file_rules', status: 'missing', signals: [], detail: 'x' },
        { grant: 'pg_read_all_stats', status: 'missing', signals: [], detail: 'x' },
        { grant: 'licence', status: 'opt_in', signals: [], detail: 'x' },
        { grant: 'pg_stat_wal_receiver', status: 'not_applicable', signals: [], detail: 'x' },
      ],
      PG_OPTIONAL_GRANTS,
    );
    expect(items.map((i) => [i.grant, i.optional === true])).toEqual([
      ['pg_hba_file_rules', true],
      ['pg_read_all_stats', false],
      ['licence', true],
      ['pg_stat_wal_receiver', true],
    ]);
  });
});
