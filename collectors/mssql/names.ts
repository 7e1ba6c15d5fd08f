/** Delimits an identifier the way T-SQL's QUOTENAME does: [name], with ] doubled. */
export function quoteName(name: string): string {
  return `[${name.replace(/\]/g, ']]')}]`;
}

/** A Unicode string literal, quotes doubled: for names compared in SQL text the agent builds itself. */
export function nString(value: string): string {
  return `N'${value.replace(/'/g, "''")}'`;
}
