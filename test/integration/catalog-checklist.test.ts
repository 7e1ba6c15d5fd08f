// The permission checklist of every engine is derived from the catalog's `requires`:
// a signal that needs a grant is named by the checklist item for that grant, and an
// item names exactly the signals that need it. Each engine's real checklist code runs
// (PostgreSQL on the harness server; the others against their recorded fakes), so a
// hand-kept list that drifts from the catalog fails here.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChecklistItem } from '../../collectors/core/engine.js';
import type { AnySignalSpec } from '../../collectors/core/signal.js';
import { signalsRequiring } from '../../collectors/core/signal.js';
import { mongodbCatalog } from '../../collectors/mongodb/catalog.js';
import { mssqlCatalog } from '../../collectors/mssql/catalog.js';
import { oracleCatalog } from '../../collectors/oracle/catalog.js';
import { postgresCatalog } from '../../collectors/postgres/catalog.js';
import { type FakeMongod, startFakeMongod } from '../fixtures/mongodb/fake-mongod.js';
import { LEAST, LOWPRIV } from '../fixtures/mongodb/identities.js';
import { SQL2019, SQL2022 } from '../fixtures/mssql/servers.js';
import { mongoTarget } from '../helpers/mongo.js';
import { FakeSqlServer, type Identity as SqlIdentity } from '../helpers/mssql-fake.js';
import { runAgainst } from '../helpers/mssql.js';
import { createSessionOnly, leastPrivileged, runOracle } from '../helpers/oracle.js';
import { agentOps, pgTarget } from '../helpers/pg.js';

/** Every requirement of every signal is covered by an item that names that signal. */
function expectCovers(catalog: readonly AnySignalSpec<never>[], items: readonly ChecklistItem[], skip: (ref: string) => boolean = () => false): void {
  const known = new Set(catalog.map((s) => s.id));
  for (const item of items) for (const id of item.signals) expect(known, `${item.grant} names unknown signal ${id}`).toContain(id);
  for (const spec of catalog) {
    for (const ref of spec.requires) {
      if (skip(ref)) continue;
      expect(
        items.some((i) => i.signals.includes(spec.id)),
        `${spec.id} requires ${ref}, but no checklist item names ${spec.id}`,
      ).toBe(true);
    }
  }
}

describe('PostgreSQL: checklist items are the catalog’s requirements (real server)', () => {
  const pg = inject('pg');
  for (const role of ['monitor', 'lowpriv'] as const) {
    it(`${role}: every item is a grant the catalog names, listing exactly the signals that require it`, async () => {
      const { ops } = agentOps(pg.users[role].password);
      const { items } = await ops.checkPermissions(pgTarget(pg, pg.users[role].user));
      const refs = new Set(postgresCatalog.flatMap((s) => s.requires));
      for (const item of items) {
        expect(refs, `checklist item ${item.grant} is required by no signal`).toContain(item.grant);
        expect(item.signals, item.grant).toEqual(signalsRequiring(postgresCatalog, item.grant));
      }
      for (const ref of refs)
        expect(
          items.map((i) => i.grant),
          `requirement ${ref} has no checklist item`,
        ).toContain(ref);
      expectCovers(postgresCatalog, items);
    });
  }

  it('pg_read_all_stats lists every signal PostgreSQL masks without it', async () => {
    const { ops } = agentOps(pg.users.lowpriv.password);
    const { items } = await ops.checkPermissions(pgTarget(pg, pg.users.lowpriv.user));
    const stats = items.find((i) => i.grant === 'pg_read_all_stats')!;
    expect(stats.status).toBe('missing');
    for (const id of ['postgres.activity', 'postgres.blocking', 'postgres.query_stats', 'postgres.replication_standbys']) expect(stats.signals).toContain(id);
  });
});

describe('SQL Server: checklist covers every requirement (recorded fake)', () => {
  const identities: SqlIdentity[] = [
    { login: 'monitor', user: 'monitor', serverPerms: [] },
    { login: 'monitor', user: 'monitor', serverPerms: ['CONNECT ANY DATABASE', 'VIEW SERVER STATE', 'VIEW ANY DEFINITION'], msdbLogShipping: true },
  ];
  for (const [i, identity] of identities.entries()) {
    for (const model of [SQL2019, SQL2022]) {
      it(`identity ${i} on ${model === SQL2019 ? 'SQL Server 2019' : 'SQL Server 2022'}`, async () => {
        const run = await runAgainst(new FakeSqlServer({ model, identity }));
        expectCovers(mssqlCatalog, run.items);
      });
    }
  }
});

describe('Oracle: checklist covers every requirement (recorded fake)', () => {
  for (const [name, who] of [
    ['CREATE SESSION only', createSessionOnly],
    ['least privileged', leastPrivileged()],
    ['least privileged, Diagnostics Pack', leastPrivileged(true)],
  ] as const) {
    it(name, async () => {
      const run = await runOracle(who, who === createSessionOnly ? {} : name.includes('Pack') ? { oracle: { diagnosticsPack: true } } : {});
      // Without the operator's licence confirmation the licensed views are not even probed: one item covers them.
      expectCovers(oracleCatalog, run.items);
    });
  }
});

describe('MongoDB: checklist covers every requirement (fake mongod)', () => {
  let fake: FakeMongod;
  beforeAll(async () => {
    fake = await startFakeMongod();
  });
  afterAll(async () => {
    await fake.stop();
  });
  for (const who of [LEAST, LOWPRIV]) {
    it(who.user, async () => {
      const { ops } = agentOps(who.password);
      const report = await ops.checkPermissions(mongoTarget(fake.port, who, { mongodb: { currentOps: true } }));
      expectCovers(mongodbCatalog, report.items);
    });
  }
});
