// A corpus of real-world PostgreSQL query shapes (ORM SELECTs with joins and
// IN-lists, multi-row INSERTs, UPDATEs with literals, CTEs, dollar-quoted
// function bodies, comments), generated from a fixed seed so every run measures
// the same text. Every statement is valid PostgreSQL (libpg-query must parse it).

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['alpha', 'Bravo', "o'neil", 'café', 'naïve résumé', '東京', 'emoji 🚀', 'x"y', 'back\\slash', 'percent%', 'tab\there'];
const TABLES = ['users', 'orders', 'order_items', 'products', 'accounts', 'sessions', 'audit_events', 'invoices'];

export function buildCorpus(n, seed = 42) {
  const r = rng(seed);
  const int = (max) => Math.floor(r() * max);
  const pick = (xs) => xs[int(xs.length)];
  const str = () => `'${pick(WORDS).replaceAll("'", "''")}${int(1000)}'`;
  const num = () => (r() < 0.3 ? `${int(100000)}.${int(100)}` : r() < 0.1 ? `-${int(500)}` : String(int(10_000_000)));
  const list = (k, f) => Array.from({ length: k }, f).join(', ');
  const shapes = [
    // ORM-style SELECT with joins, aliases, IN-list, ORDER/LIMIT.
    () => `SELECT "u"."id", "u"."email", "u"."created_at", "o"."id" AS "order_id", "o"."total_cents"
  FROM "users" AS "u"
  INNER JOIN "orders" AS "o" ON "o"."user_id" = "u"."id"
  LEFT OUTER JOIN "order_items" AS "oi" ON "oi"."order_id" = "o"."id"
 WHERE "u"."tenant_id" = ${int(500)} AND "o"."status" IN (${list(2 + int(30), str)})
   AND "o"."created_at" >= '2026-0${1 + int(9)}-1${int(9)}T00:00:00Z'::timestamptz
 ORDER BY "o"."created_at" DESC LIMIT ${1 + int(100)} OFFSET ${int(1000)}`,
    // Primary-key lookup with a numeric IN-list (Django/Rails prefetch).
    () => `SELECT ${pick(TABLES)}.* FROM ${pick(TABLES)} WHERE ${pick(TABLES)}.id IN (${list(5 + int(200), () => String(int(1e7)))})`,
    // Multi-row INSERT.
    () =>
      `INSERT INTO ${pick(TABLES)} (id, name, price, active, note, created_at) VALUES ${list(2 + int(40), () => `(${int(1e9)}, ${str()}, ${num()}, ${r() < 0.5 ? 'true' : 'false'}, ${str()}, now())`)} ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price`,
    // UPDATE with literals and an E'' string.
    () =>
      `UPDATE accounts SET balance = balance - ${num()}, note = E'transfer\\n${int(1000)}\\'s', updated_at = now() WHERE id = ${int(1e6)} AND version = ${int(50)} RETURNING id, balance`,
    // CTE with aggregates, CASE, casts.
    () => `WITH recent AS (
  SELECT user_id, sum(total_cents) AS spend, count(*) AS n
    FROM orders WHERE created_at > now() - interval '${1 + int(90)} days' AND status <> ${str()}
   GROUP BY user_id HAVING count(*) > ${int(10)}
), ranked AS (
  SELECT user_id, spend, rank() OVER (ORDER BY spend DESC) AS r FROM recent
)
SELECT u.email, r.spend, CASE WHEN r.spend > ${num()} THEN 'gold' WHEN r.spend > ${num()} THEN 'silver' ELSE 'bronze' END AS tier
  FROM ranked r JOIN users u ON u.id = r.user_id WHERE r.r <= ${int(100)}`,
    // Dollar-quoted function body.
    () => `CREATE OR REPLACE FUNCTION bump_${int(100)}(p_id bigint) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  -- keep the counter in step
  UPDATE counters SET n = n + ${int(10)} WHERE id = p_id AND label = 'k${int(99)}';
  IF NOT FOUND THEN INSERT INTO counters (id, n, label) VALUES (p_id, 1, 'new'); END IF;
END
$fn$`,
    // Comments, JSON operators, hex/bit strings, arrays.
    () => `/* app=billing request_id=${int(1e9)} */ SELECT id, payload->>'kind' AS kind, flags & B'1010' AS f, X'1F${int(9)}' AS h
  FROM audit_events -- hot path
 WHERE payload @> '{"tenant": ${int(900)}, "tags": ["a", "b"]}'::jsonb AND ids && ARRAY[${list(3 + int(8), () => String(int(1e5)))}]
   AND note ILIKE '%${pick(WORDS).replaceAll("'", "''")}%'`,
    // Prepared-style statement with bind parameters (pg_stat_statements text).
    () => `SELECT p.id, p.name FROM products p WHERE p.category_id = $1 AND p.price BETWEEN $2 AND $3 AND p.sku = ANY($4) ORDER BY p.name LIMIT ${int(50) + 1}`,
    // DELETE with subquery and a quoted identifier holding quotes.
    () =>
      `DELETE FROM "sessions ""old""" WHERE expires_at < now() - interval '${int(30)} minutes' AND user_id NOT IN (SELECT id FROM users WHERE role = ${str()})`,
  ];
  const out = [];
  // Flat strings, as a database driver hands them over (template literals build ropes).
  for (let i = 0; i < n; i++) out.push(Buffer.from(pick(shapes)(), 'utf8').toString('utf8'));
  return out;
}
