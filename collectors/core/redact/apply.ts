import { createHash } from 'node:crypto';
import type { Category } from '../category.js';
import type { Action, EffectivePolicy } from '../policy.js';
import type { AnySignalSpec } from '../signal.js';
import type { Engine } from '../target.js';
import { redactMongoDocument, VALUE_MARKER } from './mongo.js';
import type { NameHasher } from './names.js';
import { reduceRedisArgs } from './redis.js';
import { normalizeSql, type SqlDialect } from './sql.js';

/**
 * Applies a cycle's policy to one signal's value, field by field, using the
 * categories the catalog declares. What each action means per category is the
 * table in docs/policy.md; in short:
 *
 * | category | redact |
 * |---|---|
 * | query_text | SQL normalised for the engine's dialect (documents: values replaced); untokenisable → null |
 * | slowlog_args | `{command, arg_count, arg_lengths}` |
 * | current_ops | document values replaced, keys and operators kept |
 * | object_names, identity_metadata, client_metadata | `h:` + HMAC-SHA-256 under the agent's key |
 * | config_posture | the value replaced by `"?"`; the setting's name is another field and stays |
 *
 * `exclude` removes the key; `collect` passes the value as read. A key the catalog
 * does not tag is dropped (fail closed: an untagged field is never shipped).
 */
/** `{count, byte_lengths}` as the Redis collector reads a slow-log entry's arguments. */
function isArgSummary(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const o = v as { count?: unknown; byte_lengths?: unknown };
  return keys.length === 2 && typeof o.count === 'number' && Array.isArray(o.byte_lengths) && o.byte_lengths.every((n) => n === null || typeof n === 'number');
}

export interface RedactionContext {
  policy: EffectivePolicy;
  engine: Engine;
  /** Needed when a name category is redacted; applyPolicy throws without it rather than ship names. */
  names?: NameHasher;
}

export interface FieldAnnotation {
  signalId: string;
  field: string;
  category: Category | null;
  action: Action;
}

/** Per ok signal in the payload: the fields that were not shipped as read. */
export type SignalPolicy = Record<string, 'redact' | 'exclude'>;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const DIALECT: Partial<Record<Engine, SqlDialect>> = { postgres: 'postgres', mssql: 'tsql', oracle: 'oracle' };
const NAME_CATEGORIES: readonly Category[] = ['object_names', 'identity_metadata', 'client_metadata'];

export const needsNameKey = (policy: EffectivePolicy): boolean => NAME_CATEGORIES.some((c) => policy[c] === 'redact');

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * normalizeSql's answers by a digest of (dialect, text): a statement's text is normalised
 * once, not once per cycle (pg_stat_statements returns the same texts every cycle). The
 * key is a digest, so no raw text is kept beyond its cycle; the oldest entries go first
 * past `max`.
 */
const normalized = new Map<string, string | null>();
export const normalizedTextCache = {
  max: 20_000,
  size: (): number => normalized.size,
  keys: (): IterableIterator<string> => normalized.keys(),
  values: (): IterableIterator<string | null> => normalized.values(),
};

function normalizeCached(text: string, dialect: SqlDialect): string | null {
  const key = createHash('sha256').update(`${dialect}\0`).update(text).digest('base64');
  const hit = normalized.get(key);
  if (hit !== undefined || normalized.has(key)) return hit ?? null;
  const out = normalizeSql(text, dialect);
  normalized.set(key, out);
  if (normalized.size > normalizedTextCache.max) normalized.delete(normalized.keys().next().value!);
  return out;
}

function redactText(v: unknown, engine: Engine): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const dialect = DIALECT[engine];
    return dialect === undefined ? null : normalizeCached(v, dialect);
  }
  if (typeof v === 'object' && !(v instanceof Uint8Array)) return redactMongoDocument(v);
  return VALUE_MARKER;
}

function redactName(category: Category, v: unknown, names: NameHasher, depth = 0): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return names.hash(category, String(v));
  // Lists of names (pg_hba databases/users, blocking pids) keep their length and order.
  if (Array.isArray(v) && depth < 4) return v.map((x) => redactName(category, x, names, depth + 1));
  return VALUE_MARKER;
}

function redactValue(category: Category, v: unknown, ctx: RedactionContext): Json {
  switch (category) {
    case 'query_text':
      return redactText(v, ctx.engine);
    case 'slowlog_args':
      // The Redis collector reduces arguments at the source and never holds them raw: its summary is already the redacted form.
      if (isArgSummary(v)) return v as Json;
      if (!Array.isArray(v) || !v.every((a) => typeof a === 'string' || a instanceof Uint8Array)) return null;
      return { ...reduceRedisArgs(v as Array<string | Uint8Array>) };
    case 'current_ops':
      if (v === null || v === undefined) return null;
      if (typeof v === 'string') return redactText(v, ctx.engine);
      return redactMongoDocument(v);
    case 'object_names':
    case 'identity_metadata':
    case 'client_metadata':
      if (ctx.names === undefined) throw new Error(`policy redacts ${category} but no name key was loaded`);
      return redactName(category, v, ctx.names);
    case 'config_posture':
      return v === null || v === undefined ? null : VALUE_MARKER;
  }
}

type Fields = Readonly<Record<string, Category | null>>;

function applyToRow(row: unknown, fields: Fields, ctx: RedactionContext): unknown {
  if (!isObject(row)) return null;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(row)) {
    if (!Object.hasOwn(fields, key)) continue;
    const category = fields[key] ?? null;
    const value = row[key];
    if (category === null) {
      out[key] = value;
      continue;
    }
    const action = ctx.policy[category];
    if (action === 'exclude') continue;
    out[key] = action === 'collect' ? value : redactValue(category, value, ctx);
  }
  return out;
}

/**
 * A row the policy leaves as it is: a plain object each of whose own keys the catalog tags
 * (and every tagged field of the signal is collected as read). Such a row is shipped as the
 * very object that was read, not a copy: on a 30,000-table database that is 90,000 rows the
 * cycle holds once instead of twice.
 */
function asRead(row: unknown, fields: Fields): boolean {
  if (!isObject(row) || Object.getPrototypeOf(row) !== Object.prototype) return false;
  for (const key in row) if (!Object.hasOwn(fields, key)) return false;
  return true;
}

export function applyPolicy(spec: AnySignalSpec<unknown>, value: unknown, ctx: RedactionContext): { value: unknown; policy?: SignalPolicy } {
  const fields = spec.fields as Fields;
  const policy: SignalPolicy = {};
  for (const [field, category] of Object.entries(fields)) {
    if (category === null) continue;
    const action = ctx.policy[category];
    if (action !== 'collect') policy[field] = action;
  }
  // Nothing to redact or exclude: rows pass as read unless they carry a key the catalog does not tag (dropped, on a copy).
  const collectAll = Object.keys(policy).length === 0;
  const shape = (r: unknown): unknown => (collectAll && asRead(r, fields) ? r : applyToRow(r, fields, ctx));
  let shaped: unknown;
  if (!Array.isArray(value)) shaped = shape(value);
  else if (collectAll && value.every((r) => asRead(r, fields))) shaped = value;
  else shaped = value.map(shape);
  return collectAll ? { value: shaped } : { value: shaped, policy };
}

/** Every field of every signal with its category and what the policy does to it: the preview's annotations. */
export function annotate(catalog: readonly AnySignalSpec<unknown>[], policy: EffectivePolicy): FieldAnnotation[] {
  const out: FieldAnnotation[] = [];
  for (const spec of catalog) {
    for (const [field, category] of Object.entries(spec.fields as Fields)) {
      out.push({ signalId: spec.id, field, category, action: category === null ? 'collect' : policy[category] });
    }
  }
  return out;
}
