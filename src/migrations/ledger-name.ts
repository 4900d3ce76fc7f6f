/**
 * The ledger (XYN_LEDGER_SCHEMA.XYN_LEDGER_TABLE) as migration files name it: what `new` writes
 * into a file's own ledger insert, and what lint compares a file's insert with.
 */

/** Where the ledger lives: XYN_LEDGER_SCHEMA.XYN_LEDGER_TABLE (for a fleet's tenant, its schema). */
export interface LedgerName {
  readonly schema: string;
  readonly table: string;
}

/**
 * What the configuration accepts as a ledger's schema or table name, and a fleet as a tenant
 * schema: a plain lower-case identifier (letters, digits, _), at most 63 bytes, never quoted.
 */
export const isPlainIdentifier = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name);

/**
 * Words PostgreSQL reserves (its "reserved" and "reserved (can be function or type)" keywords):
 * as a table or schema name they must be quoted. Every other name the configuration accepts
 * (plain lower-case letters, digits, _) is written as is.
 */
const RESERVED: ReadonlySet<string> = new Set(
  `all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column
   concurrently constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp
   current_user default deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having
   ilike in initially inner intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not
   notnull null offset on only or order outer overlaps placing primary references returning right select session_user similar
   some symmetric system_user table tablesample then to trailing true union unique user using variadic verbose when where window with`.split(
    /\s+/,
  ),
);

/** A name as SQL text: quoted when it is a reserved word or not a plain lower-case identifier. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The ledger as a file writes it: unqualified in `public` (the usual search_path), qualified otherwise. */
export function ledgerSqlName(ledger: LedgerName): string {
  const table = sqlIdentifier(ledger.table);
  return ledger.schema === 'public' ? table : `${sqlIdentifier(ledger.schema)}.${table}`;
}

/** Whether a table a file names (schema undefined when unqualified, read as public) is the ledger. */
export function isLedgerTable(schema: string | undefined, table: string, ledger: LedgerName): boolean {
  return table === ledger.table && (schema ?? 'public') === ledger.schema;
}
