/**
 * Writes docs/signals.md from the catalogs: every signal's id, family, what it
 * reads, the grant it needs and the category of each field. `npm test` fails when
 * the committed file differs from what the catalogs say (test/unit/signal-reference.test.ts).
 *
 *   npm run docs:signals     rewrite docs/signals.md
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AnySignalSpec, FAMILY_SCHEDULE, periodLabel } from '../collectors/core/signal.js';
import { CLOUD_SIGNALS, cloudCatalog, type MetricQuery } from '../collectors/cloud/metrics.js';
import { mongodbCatalog } from '../collectors/mongodb/catalog.js';
import { mssqlCatalog } from '../collectors/mssql/catalog.js';
import { oracleCatalog } from '../collectors/oracle/catalog.js';
import { postgresCatalog } from '../collectors/postgres/catalog.js';
import { redisCatalog } from '../collectors/redis/catalog.js';

export const SIGNALS_DOC = fileURLToPath(new URL('../docs/signals.md', import.meta.url));

const SECTIONS: ReadonlyArray<{ title: string; versions: string; catalog: readonly AnySignalSpec<never>[] }> = [
  {
    title: 'PostgreSQL',
    versions: 'PostgreSQL 14 to 18 (views and columns a version lacks: see postgres-versions.md)',
    catalog: postgresCatalog as readonly AnySignalSpec<never>[],
  },
  {
    title: 'SQL Server',
    versions: 'SQL Server 2016 and later, Azure SQL Database, Azure SQL Managed Instance',
    catalog: mssqlCatalog as readonly AnySignalSpec<never>[],
  },
  { title: 'MongoDB', versions: 'MongoDB 5.0 to 8.0', catalog: mongodbCatalog as readonly AnySignalSpec<never>[] },
  {
    title: 'Redis and Valkey',
    versions: 'Redis 6.2 and later (ACL selectors: 7.0), Valkey 7.2 and later',
    catalog: redisCatalog as readonly AnySignalSpec<never>[],
  },
  { title: 'Oracle', versions: 'Oracle Database 19c, 21c and 23ai (thin mode)', catalog: oracleCatalog as readonly AnySignalSpec<never>[] },
  {
    title: 'Cloud provider metrics',
    versions: 'AWS CloudWatch, Azure Monitor, Google Cloud Monitoring (when a target has a cloud binding)',
    catalog: cloudCatalog(CLOUD_SIGNALS.map((signal) => ({ signal }) as MetricQuery)) as readonly AnySignalSpec<never>[],
  },
];

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

function fieldsLine(spec: AnySignalSpec<never>): string {
  const byCategory = new Map<string, string[]>();
  for (const [field, category] of Object.entries(spec.fields as Record<string, string | null>)) {
    const key = category ?? 'not sensitive';
    byCategory.set(key, [...(byCategory.get(key) ?? []), field]);
  }
  const sensitive = [...byCategory.entries()].filter(([k]) => k !== 'not sensitive');
  const plain = byCategory.get('not sensitive') ?? [];
  const parts = sensitive.map(([k, fs]) => `**${k}**: ${fs.map((f) => `\`${f}\``).join(', ')}`);
  if (plain.length > 0) parts.push(`not sensitive: ${plain.map((f) => `\`${f}\``).join(', ')}`);
  return parts.join('; ');
}

/** The family's default period and how the signal ships a value that did not change (payload-v2.md). */
function periodCell(spec: AnySignalSpec<never>): string {
  const { period, digest } = FAMILY_SCHEDULE[spec.family];
  const how = spec.delta !== undefined ? '; deltas' : (spec.digest ?? digest) ? '; unchanged: digest' : '';
  return `${periodLabel(period)}${how}`;
}

export function renderSignalReference(): string {
  const lines = [
    '# Signal reference',
    '',
    '<!-- Generated from the catalogs by `npm run docs:signals`; `npm test` fails when it is stale. Do not edit by hand. -->',
    '',
    'Every signal the agent can collect, per engine: its id (as it appears in the payload), its family, what it reads,',
    'the grant or prerequisite it needs (the permission checklist derives its items from this column), whether the',
    'operator must opt in, and the sensitive-metadata category of each field (see [the security model](security.md)).',
    'A field with no category is operational metadata and is always collected.',
    "The period is the default of the signal's family (a target may override it: see [payload-v2.md](payload-v2.md));",
    '"deltas": only changed rows ship, counters as differences; "unchanged: digest": a value equal to the last shipped one ships as its digest.',
    '',
  ];
  for (const { title, versions, catalog } of SECTIONS) {
    lines.push(
      `## ${title}`,
      '',
      `Versions: ${versions}. ${catalog.length} signals.`,
      '',
      '| Signal | Family | Period | Reads | Needs | Opt-in | Fields |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const spec of catalog) {
      const needs = spec.requires.length === 0 ? 'login only' : spec.requires.map((r) => `\`${r}\``).join(', ');
      lines.push(
        `| \`${spec.id}\` | ${spec.family} | ${periodCell(spec)} | ${cell(spec.description)} | ${needs} | ${spec.optIn ?? ''} | ${fieldsLine(spec)} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SIGNALS_DOC, renderSignalReference());
  process.stdout.write(`wrote ${SIGNALS_DOC}\n`);
}
