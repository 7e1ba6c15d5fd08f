import type { ReadContext } from '../core/policy.js';
import type { FieldCategories } from '../core/signal.js';

/** The SQL expression that reads each field of a row. */
export type Columns<Row> = { readonly [K in keyof Row]-?: string };

/**
 * A SELECT list of the fields the policy lets leave: a field whose category is
 * excluded is not even read from the server. The field name is the alias, so
 * the row keys match the catalog's fields.
 */
export function selectColumns<Row>(columns: Columns<Row>, fields: FieldCategories<Row>, ctx: ReadContext): string {
  const list: string[] = [];
  for (const key of Object.keys(columns) as Array<keyof Row & string>) {
    const category = fields[key];
    if (category !== null && ctx.excluded(category)) continue;
    list.push(columns[key] === key ? key : `${columns[key]} AS ${key}`);
  }
  return list.join(', ');
}
