/**
 * SQL fragments shared by the catalog. Oracle DATE columns hold the database
 * host's local time without a zone; SYSTIMESTAMP carries that host's offset, so
 * the two together give an unambiguous UTC instant for the payload.
 */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS"Z"'`;

export const utcOfDate = (column: string): string =>
  `TO_CHAR(SYS_EXTRACT_UTC(FROM_TZ(CAST(${column} AS TIMESTAMP), TO_CHAR(SYSTIMESTAMP, 'TZH:TZM'))), ${ISO})`;

/**
 * A TIMESTAMP without time zone (e.g. V$CONTAINERS.OPEN_TIME, TIMESTAMP(3)) is the
 * host's wall clock like a DATE. SYS_EXTRACT_UTC alone would convert it implicitly
 * in the SESSION time zone, which node-oracledb takes from the agent machine.
 */
export const utcOfTimestamp = utcOfDate;

/** Only for TIMESTAMP WITH TIME ZONE columns, which carry their own offset. */
export const utcOfTimestampTz = (column: string): string => `TO_CHAR(SYS_EXTRACT_UTC(${column}), ${ISO})`;

/** A literal IN-list of vetted constants (checked, so the statement stays a plain literal anyone can re-run). */
export function literalList(values: readonly string[]): string {
  return values
    .map((v) => {
      if (!/^[A-Za-z0-9_ ()%+/.-]+$/.test(v)) throw new Error(`not a vetted constant: ${v}`);
      return `'${v}'`;
    })
    .join(', ');
}
