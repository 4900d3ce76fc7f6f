/**
 * The schema_migrations ledger: read it (read-only commands never create it), create or adopt it
 * (the old shell script's ledger had only id, applied_at), and the SQL that records one row.
 */
import pg from 'pg';
import { contentChecksum } from '../migrations/checksum.js';
import type { LedgerName } from '../migrations/ledger-name.js';
import type { MigrationPhase } from '../migrations/naming.js';
import type { LedgerRow, PartialRun } from '../plan.js';
import { serverError, type Session } from './session.js';

export type { LedgerName };

export function qualifiedName(ledger: LedgerName): string {
  return `${pg.escapeIdentifier(ledger.schema)}.${pg.escapeIdentifier(ledger.table)}`;
}

interface RawRow {
  id: string;
  applied_at: Date;
  checksum: string | null;
  content_checksum: string | null;
  duration_ms: number | null;
  applied_by: string | null;
}

/**
 * All ledger rows, or [] when there is no ledger yet. A ledger of the old shell script (only id
 * and applied_at) is read with the columns it lacks as null: a second query, which only such a
 * ledger costs, until the first migrate under the lock adds the columns.
 */
export async function readLedger(session: Session, ledger: LedgerName): Promise<LedgerRow[]> {
  let rows: RawRow[];
  try {
    rows = await session.query<RawRow>(
      `SELECT id, applied_at, checksum, content_checksum, duration_ms, applied_by FROM ${qualifiedName(ledger)} ORDER BY id`,
    );
  } catch (error) {
    const code = serverError(error)?.code;
    if (code === '42P01' || code === '3F000') return [];
    if (code !== '42703') throw error;
    rows = await session.query<RawRow>(
      `SELECT l.id, l.applied_at, to_jsonb(l)->>'checksum' AS checksum, to_jsonb(l)->>'content_checksum' AS content_checksum,
              (to_jsonb(l)->>'duration_ms')::integer AS duration_ms, to_jsonb(l)->>'applied_by' AS applied_by
         FROM ${qualifiedName(ledger)} l ORDER BY l.id`,
    );
  }
  return rows.map(ledgerRow);
}

const ledgerRow = (r: RawRow): LedgerRow => ({
  id: r.id,
  appliedAt: r.applied_at,
  checksum: r.checksum,
  contentChecksum: r.content_checksum,
  durationMs: r.duration_ms,
  appliedBy: r.applied_by,
});

/** `repair`: deletes the row `id` (in the caller's transaction, under the lock); the row removed, or null. */
export async function removeLedgerRow(session: Session, ledger: LedgerName, id: string): Promise<LedgerRow | null> {
  const [row] = await session.query<RawRow>(
    `DELETE FROM ${qualifiedName(ledger)} WHERE id = $1 RETURNING id, applied_at, checksum, content_checksum, duration_ms, applied_by`,
    [id],
  );
  return row ? ledgerRow(row) : null;
}

/**
 * Creates the ledger, or adds the columns an old one lacks. Run under the migration lock; still
 * tolerant of a concurrent creator (CREATE … IF NOT EXISTS can fail with 23505/42P07/42710/42P06 when
 * another session creates the table in the same instant).
 */
/**
 * What CREATE SCHEMA/TABLE IF NOT EXISTS report when another session creates the same object in
 * the same instant: a unique violation in the catalog (23505), the table (42P07), its row type
 * (42710, seen through a pooler where runners create the ledger without the session lock), or the
 * schema (42P06). The other session's transaction made the whole ledger, columns included.
 */
const CONCURRENTLY_CREATED: ReadonlySet<string> = new Set(['23505', '42P07', '42710', '42P06']);

export async function ensureLedger(session: Session, ledger: LedgerName): Promise<void> {
  const table = qualifiedName(ledger);
  const [state] = await session.query<{ exists: boolean; missing: number }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists,
            5 - (SELECT count(*)::int FROM information_schema.columns
                  WHERE table_schema = $2 AND table_name = $3
                    AND column_name IN ('checksum', 'content_checksum', 'duration_ms', 'applied_by', 'phase')) AS missing`,
    [table, ledger.schema, ledger.table],
  );
  if (state?.exists && state.missing === 0) return;
  try {
    await session.script(
      `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(ledger.schema)};
       CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
       ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS checksum text,
                            ADD COLUMN IF NOT EXISTS duration_ms integer,
                            ADD COLUMN IF NOT EXISTS applied_by text,
                            ADD COLUMN IF NOT EXISTS content_checksum text,
                            ADD COLUMN IF NOT EXISTS phase text;`,
    );
  } catch (failure) {
    const code = serverError(failure)?.code;
    if (!CONCURRENTLY_CREATED.has(code ?? '')) throw failure;
  }
}

/**
 * The statement that records a migration, written out in full (no parameters) so it can travel
 * in the same simple query as the migration itself. Without `durationMs` the server measures it:
 * from the start of the transaction to this statement. `phase` is the file's: `post` for a
 * post-deploy file.
 */
export function recordRowSql(
  ledger: LedgerName,
  file: RecordedFile & { readonly phase: MigrationPhase },
  appliedBy: string,
  durationMs?: number,
): string {
  const duration =
    durationMs === undefined
      ? `(extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::integer`
      : String(Math.round(durationMs));
  const [checksum, content] = [pg.escapeLiteral(file.checksum), pg.escapeLiteral(contentChecksum(file.text))];
  return `INSERT INTO ${qualifiedName(ledger)} AS l (id, applied_at, checksum, content_checksum, duration_ms, applied_by, phase)
VALUES (${pg.escapeLiteral(file.id)}, now(), ${checksum}, ${content}, ${duration}, ${pg.escapeLiteral(appliedBy)}, ${pg.escapeLiteral(file.phase)})
ON CONFLICT (id) DO UPDATE SET checksum = EXCLUDED.checksum, content_checksum = EXCLUDED.content_checksum, duration_ms = EXCLUDED.duration_ms, applied_by = EXCLUDED.applied_by, phase = EXCLUDED.phase`;
}

/** What the ledger records of a file: its id, the sha256 of its bytes, and its text (for the content checksum). */
export interface RecordedFile {
  readonly id: string;
  readonly checksum: string;
  readonly text: string;
}

/**
 * Fills the checksums a row lacks: both for a row of the old shell script's ledger, the content
 * checksum for a row written before it was recorded (its raw checksum stays as it was).
 */
export async function adoptChecksums(session: Session, ledger: LedgerName, files: readonly RecordedFile[]): Promise<void> {
  if (files.length === 0) return;
  await session.query(
    `UPDATE ${qualifiedName(ledger)} AS l SET checksum = coalesce(l.checksum, f.checksum), content_checksum = f.content_checksum
       FROM unnest($1::text[], $2::text[], $3::text[]) AS f(id, checksum, content_checksum)
      WHERE l.id = f.id AND (l.checksum IS NULL OR l.content_checksum IS NULL)`,
    [files.map((f) => f.id), files.map((f) => f.checksum), files.map((f) => contentChecksum(f.text))],
  );
}

/** `baseline`: records `files` as applied without running them; rows already there stay as they are. */
export async function recordBaseline(
  session: Session,
  ledger: LedgerName,
  files: readonly RecordedFile[],
  appliedBy: string,
): Promise<void> {
  await session.query(
    `INSERT INTO ${qualifiedName(ledger)} (id, checksum, content_checksum, applied_by)
     SELECT id, checksum, content_checksum, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS f(id, checksum, content_checksum)
     ON CONFLICT (id) DO NOTHING`,
    [files.map((f) => f.id), files.map((f) => f.checksum), files.map((f) => contentChecksum(f.text)), appliedBy],
  );
}

/**
 * No-transaction files stopped midway, beside the ledger (`<ledger>_partial`), never in it: a row
 * in the ledger means "applied", and applications may read it so. Made on first need; a file's
 * row goes when a run completes the file.
 */
export function partialName(ledger: LedgerName): string {
  return `${pg.escapeIdentifier(ledger.schema)}.${pg.escapeIdentifier(`${ledger.table}_partial`)}`;
}

export function recordPartialSql(ledger: LedgerName, id: string, checksum: string, statementsRun: number, statements: number): string {
  const table = partialName(ledger);
  return `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, statements_run integer NOT NULL, statements integer NOT NULL, checksum text, stopped_at timestamptz NOT NULL DEFAULT now());
INSERT INTO ${table} (id, statements_run, statements, checksum) VALUES (${pg.escapeLiteral(id)}, ${statementsRun}, ${statements}, ${pg.escapeLiteral(checksum)})
ON CONFLICT (id) DO UPDATE SET statements_run = EXCLUDED.statements_run, statements = EXCLUDED.statements, checksum = EXCLUDED.checksum, stopped_at = now()`;
}

/** Forgets that `id` was partly applied (a no-op where nothing was ever partial). */
export function clearPartialSql(ledger: LedgerName, id: string): string {
  const table = partialName(ledger);
  return `DO $xyn_partial$BEGIN IF to_regclass(${pg.escapeLiteral(table)}) IS NOT NULL THEN DELETE FROM ${table} WHERE id = ${pg.escapeLiteral(id)}; END IF; END$xyn_partial$`;
}

/** The files left partly applied; [] when none ever was. */
export async function readPartial(session: Session, ledger: LedgerName): Promise<PartialRun[]> {
  try {
    const rows = await session.query<{ id: string; statements_run: number; statements: number }>(
      `SELECT id, statements_run, statements FROM ${partialName(ledger)}`,
    );
    return rows.map((r) => ({ id: r.id, statementsRun: r.statements_run, statements: r.statements }));
  } catch (error) {
    const code = serverError(error)?.code;
    if (code === '42P01' || code === '3F000') return [];
    throw error;
  }
}
