// The schema signals read their catalogs in keyset pages (collectors/postgres/catalog-schema.ts):
// the pages stitched together are exactly what one statement reads, each page is its own
// statement in the audit ledger, and the sizes come from the planner's page counts without
// locking or opening any relation.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { DEFAULT_POLICY, readContext } from '../../collectors/core/policy.js';
import type { SignalSpec } from '../../collectors/core/signal.js';
import { readPaged, schemaSignalsWith } from '../../collectors/postgres/catalog-schema.js';
import { PgSession } from '../../collectors/postgres/session.js';
import { pgTarget, superClient } from '../helpers/pg.js';

const shared = inject('pg');
const DB = 'schemapages';
const TABLES = 23;
const ctx = readContext(DEFAULT_POLICY);

async function session(entries: AuditEntry[], extra: Record<string, unknown> = {}): Promise<PgSession> {
  const target = pgTarget({ ...shared, database: DB }, shared.users.monitor.user, extra);
  return PgSession.open(target, shared.users.monitor.password, { audit: { record: (e) => entries.push(e) }, applicationName: 'logstag-agent/test' });
}

const squash = (sql: string): string => sql.replace(/\s+/g, ' ').trim();

describe('PostgreSQL schema signals: keyset pages', () => {
  beforeAll(async () => {
    const su = await superClient(shared, 'postgres');
    await su.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await su.query(`CREATE DATABASE ${DB}`);
    await su.end();
    const db = await superClient(shared, DB);
    try {
      await db.query(`CREATE SCHEMA app; CREATE SCHEMA "Odd ""Schema"""; CREATE SCHEMA empty_one`);
      await db.query(`DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
          EXECUTE format('CREATE TABLE app.t_%s (id int PRIMARY KEY, body text, n int)', i);
          EXECUTE format('CREATE INDEX t_%s_n ON app.t_%s (n)', i, i);
          EXECUTE format('INSERT INTO app.t_%s SELECT g, repeat(md5(g::text), %s), g FROM generate_series(1, 40 * %s) g', i, i * 10, i);
        END LOOP; END $$`);
      // TOAST: values too big to stay in the row.
      await db.query(
        `INSERT INTO app.t_1 SELECT 100000 + g, string_agg(md5(random()::text), '') , 0 FROM generate_series(1, 3) g, generate_series(1, 400) h GROUP BY g`,
      );
      await db.query(`CREATE TABLE "Odd ""Schema""".parted (id int, at date) PARTITION BY RANGE (at)`);
      await db.query(`CREATE TABLE "Odd ""Schema""".parted_2026 PARTITION OF "Odd ""Schema""".parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`);
      await db.query('CREATE MATERIALIZED VIEW app.mv AS SELECT id, n FROM app.t_2');
      await db.query(`CREATE FUNCTION app.f_sql(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1'`);
      await db.query(`CREATE FUNCTION app.f_definer() RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN RETURN 1; END'`);
      await db.query(`CREATE PROCEDURE app.p() LANGUAGE sql AS 'SELECT 1'`);
      // Extension functions are not the application's: left out of postgres.functions.
      await db.query('CREATE EXTENSION pg_stat_statements');
      await db.query('VACUUM ANALYZE');
    } finally {
      await db.end();
    }
  }, 120_000);
  afterAll(async () => {
    const su = await superClient(shared, 'postgres');
    await su.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await su.end();
  });

  const pick = (signals: ReturnType<typeof schemaSignalsWith>, id: string): SignalSpec<PgSession, object> =>
    Object.values(signals).find((s) => s.id === id) as SignalSpec<PgSession, object>;

  for (const [id, pageRows, atLeast] of [
    ['postgres.tables', 4, TABLES + 3],
    ['postgres.indexes', 5, 2 * TABLES],
    ['postgres.functions', 1, 3],
    ['postgres.schemas', 2, 3],
  ] as const) {
    it(`${id}: pages of ${pageRows} stitched are the single-statement read; each page is one audited statement`, async () => {
      const paged: AuditEntry[] = [];
      const whole: AuditEntry[] = [];
      const s1 = await session(paged);
      const s2 = await session(whole);
      try {
        const small = await pick(schemaSignalsWith({ pageRows }), id).read(s1, ctx);
        const one = await pick(schemaSignalsWith({ pageRows: 1_000_000 }), id).read(s2, ctx);
        expect(one.length).toBeGreaterThanOrEqual(atLeast);
        expect(small).toEqual(one);
        // The cursor is the read's own: it is not a field of the signal and is never shipped.
        for (const row of small) expect(Object.keys(row).sort()).toEqual(Object.keys(pick(schemaSignalsWith(), id).fields).sort());

        const pageSql = (entries: AuditEntry[]) => entries.filter((e) => /LIMIT \$2/.test(e.statement));
        const pages = pageSql(paged);
        // A page shorter than asked ends the read: n rows take floor(n / size) + 1 statements.
        expect(pages).toHaveLength(Math.floor(one.length / pageRows) + 1);
        expect(new Set(pages.map((e) => e.statement)).size).toBe(1);
        for (const e of pages) {
          expect(e.outcome).toBe('ok');
          expect(e.rows).toBeLessThanOrEqual(pageRows);
        }
        expect(pages.reduce((n, e) => n + (e.rows ?? 0), 0)).toBe(one.length);
        expect(pageSql(whole)).toHaveLength(1);
        expect(squash(pageSql(whole)[0]!.statement)).toBe(squash(pages[0]!.statement));
      } finally {
        await s1.close();
        await s2.close();
      }
    });
  }

  it('postgres.tables sizes are the planner page counts in bytes (TOAST and indexes summed right, close to the files after VACUUM), kinds and odd names intact', async () => {
    const entries: AuditEntry[] = [];
    const s = await session(entries);
    let rows: Array<{ schema: string; name: string; kind: string; total_bytes: number; table_bytes: number; index_bytes: number; rows_estimate: number }>;
    try {
      rows = (await pick(schemaSignalsWith({ pageRows: 3 }), 'postgres.tables').read(s, ctx)) as typeof rows;
    } finally {
      await s.close();
    }
    const su = await superClient(shared, DB);
    try {
      // The same page counts summed another way (joins and GROUP BY instead of the agent's subqueries),
      // and the server's own measure of the files (what the agent no longer calls on every table).
      const { rows: ref } = await su.query<{ schema: string; name: string; kind: string; main: number; idx: number; toast: number; file: number }>(
        `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, bs.b * c.relpages AS main,
                bs.b * coalesce(sum(ic.relpages), 0) AS idx,
                bs.b * (coalesce(max(t.relpages), 0) + coalesce((SELECT sum(tic.relpages) FROM pg_index tx JOIN pg_class tic ON tic.oid = tx.indexrelid
                                                                 WHERE tx.indrelid = c.reltoastrelid), 0)) AS toast,
                pg_relation_size(c.oid, 'main')::float8 AS file
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN (SELECT current_setting('block_size')::float8 AS b) bs
           LEFT JOIN pg_index x ON x.indrelid = c.oid LEFT JOIN pg_class ic ON ic.oid = x.indexrelid
           LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
          WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname IN ('app', 'Odd "Schema"')
          GROUP BY c.oid, n.nspname, bs.b
          ORDER BY c.oid`,
      );
      expect(rows.map((r) => [r.schema, r.name, r.kind])).toEqual(ref.map((r) => [r.schema, r.name, r.kind]));
      for (const [i, r] of rows.entries()) {
        const want = ref[i]!;
        expect(r.table_bytes, r.name).toBe(want.main);
        expect(r.index_bytes, r.name).toBe(want.idx);
        expect(r.total_bytes, r.name).toBe(want.main + want.idx + want.toast);
        // As of the VACUUM a moment ago: within a page of the file itself.
        expect(Math.abs(r.table_bytes - want.file), r.name).toBeLessThanOrEqual(8192);
        if (r.name.startsWith('t_')) expect(r.index_bytes, r.name).toBeGreaterThan(0);
      }
      const t1 = rows.find((r) => r.name === 't_1')!;
      const t1ref = ref.find((r) => r.name === 't_1')!;
      expect(t1ref.toast).toBeGreaterThan(0);
      expect(t1.total_bytes).toBe(t1.table_bytes + t1.index_bytes + t1ref.toast);
      expect(rows.find((r) => r.name === 'parted')).toMatchObject({ schema: 'Odd "Schema"', kind: 'p' });
      expect(rows.find((r) => r.name === 'mv')).toMatchObject({ kind: 'm' });
      expect(rows.find((r) => r.name === 't_23')!.rows_estimate).toBe(40 * 23);
    } finally {
      await su.end();
    }
  });

  it('the schema read takes no lock: a table held ACCESS EXCLUSIVE by DDL does not hold it up', async () => {
    const locker = await superClient(shared, DB);
    const entries: AuditEntry[] = [];
    const s = await session(entries, { lockTimeoutMs: 0, statementTimeoutMs: 2000 });
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE app.t_5 IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const { tables, indexes } = schemaSignalsWith({ pageRows: 7 });
      const t = (await tables.read(s, ctx)) as Array<{ name: string }>;
      const i = (await indexes.read(s, ctx)) as Array<{ name: string }>;
      expect(Date.now() - started).toBeLessThan(2000);
      expect(t.some((r) => r.name === 't_5')).toBe(true);
      expect(i.some((r) => r.name === 't_5_n')).toBe(true);
      expect(entries.every((e) => e.outcome === 'ok')).toBe(true);
    } finally {
      await s.close();
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('a catalog answer whose cursor does not advance ends the read with an error, never a loop', async () => {
    let calls = 0;
    const fake = {
      query: async () => {
        calls += 1;
        return [
          { cursor: 7, a: 1 },
          { cursor: 7, a: 2 },
        ];
      },
    } as unknown as PgSession;
    await expect(readPaged(fake, 'SELECT 1', 2)).rejects.toThrow(/did not advance/);
    expect(calls).toBe(1);
    const backwards = { query: async () => [{ cursor: 5 }, { cursor: 3 }] } as unknown as PgSession;
    await expect(readPaged(backwards, 'SELECT 1', 2)).rejects.toThrow(/did not advance/);
    await expect(readPaged(backwards, 'SELECT 1', 0)).rejects.toThrow(/page size/);
  });
});
