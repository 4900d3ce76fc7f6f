/**
 * `rehearse`'s scratch database: made on the server the admin session is connected to, dropped
 * (forcibly: the rehearsal's own sessions may linger) when the rehearsal is over; or the
 * XYN_REHEARSE_URL database, which must be empty.
 */
import pg from 'pg';
import { qualifiedName, type LedgerName } from './ledger.js';
import type { Session } from './session.js';

export async function createDatabase(admin: Session, name: string): Promise<void> {
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
}

export async function dropDatabase(admin: Session, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

/** What a database holds beyond what every new database has: enough to tell a person. */
export interface DatabaseContents {
  /** relations (tables, views, sequences…) outside the system schemas and not of an extension */
  readonly relations: number;
  /** the first few of them, as schema.name */
  readonly firstRelations: readonly string[];
  /** rows in the ledger, or undefined when there is no ledger */
  readonly ledgerRows: number | undefined;
}

const SHOWN_RELATIONS = 5;

/** An XYN_REHEARSE_URL database must be empty: this says what is in it. */
export async function databaseContents(session: Session, ledger: LedgerName): Promise<DatabaseContents> {
  const [summary] = await session.query<{ relations: number; first: string[]; ledger: string | null }>(
    `SELECT count(*)::int AS relations,
            (array_agg(format('%s.%s', n.nspname, c.relname) ORDER BY n.nspname, c.relname))[1:${SHOWN_RELATIONS}] AS first,
            to_regclass($1)::text AS ledger
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
    [qualifiedName(ledger)],
  );
  let ledgerRows: number | undefined;
  if (summary?.ledger) {
    const [count] = await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualifiedName(ledger)}`);
    ledgerRows = count?.n ?? 0;
  }
  return { relations: summary?.relations ?? 0, firstRelations: summary?.first ?? [], ledgerRows };
}
