// The replication signal reads the server's role with its one statement: on a primary
// nothing else is asked; on a standby the WAL receiver's details need pg_read_all_stats,
// which the transaction's first statement already answered (session.readAllStats), so a
// role without it gets `permission` with the grant, and the masked details never ship.
// The session is a stand-in shaped as PgSession answers (rows as node-postgres returns them).
import { describe, expect, it } from 'vitest';
import { SignalUnavailable } from '../../collectors/core/signal.js';
import type { ReadContext } from '../../collectors/core/policy.js';
import { replicationSignals } from '../../collectors/postgres/catalog-replication.js';
import type { PgSession } from '../../collectors/postgres/session.js';

const replication = replicationSignals.find((s) => s.id === 'postgres.replication')!;
const ctx: ReadContext = { policy: {} as ReadContext['policy'], excluded: () => false };

function session(role: 'primary' | 'standby', allStats: boolean) {
  const sent: string[] = [];
  const s = {
    versionNum: 150000,
    readAllStats: { full: allStats, user: 'monitor' },
    async query(sql: string) {
      sent.push(sql);
      return [
        {
          role,
          current_lsn: '0/3000060',
          replay_lsn: role === 'standby' ? '0/3000060' : null,
          replay_delay_seconds: role === 'standby' ? 0.5 : null,
          receiver_status: role === 'standby' ? (allStats ? 'streaming' : null) : null,
          sender_host: null,
          sender_port: null,
          receiver_slot: null,
        },
      ];
    },
  };
  return { s: s as unknown as PgSession, sent };
}

describe('postgres.replication reads the role with its one statement', () => {
  it('a primary: one statement, the role and WAL position', async () => {
    const { s, sent } = session('primary', false);
    await expect(replication.read(s, ctx)).resolves.toMatchObject([{ role: 'primary', current_lsn: '0/3000060' }]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/AS role/);
  });

  it('a standby with pg_read_all_stats: one statement, the receiver details', async () => {
    const { s, sent } = session('standby', true);
    await expect(replication.read(s, ctx)).resolves.toMatchObject([{ role: 'standby', receiver_status: 'streaming' }]);
    expect(sent).toHaveLength(1);
  });

  it('a standby without pg_read_all_stats: unavailable for permission with the grant, nothing of the masked row returned', async () => {
    const { s, sent } = session('standby', false);
    const err = await replication.read(s, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SignalUnavailable);
    expect(err).toMatchObject({ reason: 'permission' });
    expect((err as SignalUnavailable).fix).toMatch(/GRANT pg_read_all_stats TO/);
    expect(sent).toHaveLength(1);
  });
});
