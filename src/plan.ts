/**
 * Pure planning: migration files + ledger rows in, a Plan out. No I/O, so every edge case of
 * history (drift, missing files, out-of-order, adopted rows without checksum, a database ahead of
 * the image) is tested here in milliseconds.
 */
import type { MigrationFile } from './migrations/discover.js';
import { compareChecksums } from './migrations/checksum.js';
import { inMigrationOrder, migrationNumber, type MigrationPhase } from './migrations/naming.js';

/** XYN_REQUIRED_MIGRATIONS: every file present, or a list of ids. */
export type RequiredMigrations = { kind: 'all' } | { kind: 'list'; ids: readonly string[] };

export interface LedgerRow {
  readonly id: string;
  readonly appliedAt: Date;
  /** null for rows adopted from the old shell script's ledger */
  readonly checksum: string | null;
  /**
   * sha256 of the content, whitespace set aside (migrations/checksum.ts); null or absent for rows
   * written before it was recorded, whose raw checksum is compared with the file's line-ending variants
   */
  readonly contentChecksum?: string | null;
  readonly durationMs: number | null;
  readonly appliedBy: string | null;
}

/** A no-transaction file stopped midway: how many of its statements ran. */
export interface PartialRun {
  readonly id: string;
  readonly statementsRun: number;
  readonly statements: number;
}

export type Entry =
  /** `difference`: the file differs from what was applied in line endings or trailing whitespace only */
  | {
      readonly kind: 'applied';
      readonly id: string;
      readonly file: MigrationFile;
      readonly row: LedgerRow;
      readonly difference?: 'whitespace only';
    }
  /** applied before checksums were recorded: the file's checksum is adopted, never drift */
  | { readonly kind: 'applied-unverified'; readonly id: string; readonly file: MigrationFile; readonly row: LedgerRow }
  | { readonly kind: 'drifted'; readonly id: string; readonly file: MigrationFile; readonly row: LedgerRow }
  /** applied, no file, numbered below the newest file: a file removed from the middle */
  | { readonly kind: 'missing-file'; readonly id: string; readonly row: LedgerRow }
  /** applied, no file, numbered above every file: an older image, deployed on purpose (a rollback) */
  | { readonly kind: 'ahead'; readonly id: string; readonly row: LedgerRow }
  | { readonly kind: 'pending'; readonly id: string; readonly file: MigrationFile }
  /** pending, and a run stopped midway through it (a no-transaction file): the next run redoes it */
  | { readonly kind: 'partial'; readonly id: string; readonly file: MigrationFile; readonly partial: PartialRun }
  /**
   * pending, but numbered below a migration already applied (two branches merged). A post-deploy
   * file is judged only against applied post-deploy files: the pre phase applies the pre-deploy
   * files numbered after it first, on purpose.
   */
  | { readonly kind: 'out-of-order'; readonly id: string; readonly file: MigrationFile };

export type EntryKind = Entry['kind'];

/** A history `migrate` refuses unless an override allows it; `message` is one clause. */
export interface Irregularity {
  readonly kind: 'drifted' | 'missing-file' | 'out-of-order';
  readonly id: string;
  readonly message: string;
}

export interface PlanOptions {
  readonly required: RequiredMigrations;
  readonly allowDrift: boolean;
  readonly allowOutOfOrder: boolean;
  readonly allowMissingFiles: boolean;
  /** `pre` (the default) leaves post-deploy files pending and does not require them; `post` applies them */
  readonly phase?: MigrationPhase;
}

export interface Plan {
  /** every file and every ledger row, in migration order */
  readonly entries: readonly Entry[];
  /** what `migrate` applies, in order */
  readonly toApply: readonly MigrationFile[];
  /** pending post-deploy files the pre phase leaves for `--phase post` (empty in the post phase) */
  readonly deferred: readonly MigrationFile[];
  /** applied files whose ledger row lacks a checksum (the old ledger's rows) or a content checksum */
  readonly toAdopt: readonly MigrationFile[];
  /** history that `migrate` refuses */
  readonly refusals: readonly Irregularity[];
  /** history allowed by an override, worth a warning */
  readonly warnings: readonly Irregularity[];
  /** required ids with no ledger row */
  readonly missingRequired: readonly string[];
  /** applied ids numbered above every file: the database is ahead of this image */
  readonly ahead: readonly string[];
}

export function planMigrations(
  files: readonly MigrationFile[],
  rows: readonly LedgerRow[],
  options: PlanOptions,
  partial: readonly PartialRun[] = [],
): Plan {
  const rowsById = new Map(rows.map((row) => [row.id, row]));
  const partialById = new Map(partial.map((p) => [p.id, p]));
  const filesById = new Map(files.map((f) => [f.id, f]));
  const phase = options.phase ?? 'pre';
  const newestApplied = newestNumber(rows);
  const newestAppliedPostDeploy = newestNumber(rows.filter((row) => filesById.get(row.id)?.phase === 'post'));

  const entries: Entry[] = files.map((file): Entry => {
    const row = rowsById.get(file.id);
    if (!row) {
      if (file.number < (file.phase === 'post' ? newestAppliedPostDeploy : newestApplied))
        return { kind: 'out-of-order', id: file.id, file };
      const run = partialById.get(file.id);
      return run ? { kind: 'partial', id: file.id, file, partial: run } : { kind: 'pending', id: file.id, file };
    }
    if (row.checksum === null) return { kind: 'applied-unverified', id: file.id, file, row };
    const comparison = compareChecksums(file, { checksum: row.checksum, contentChecksum: row.contentChecksum ?? null });
    if (comparison === 'changed') return { kind: 'drifted', id: file.id, file, row };
    const applied = { kind: 'applied', id: file.id, file, row } as const;
    return comparison === 'same' ? applied : { ...applied, difference: comparison };
  });
  const newestFile = files.reduce<bigint>((max, f) => (f.number > max ? f.number : max), -1n);
  for (const row of rows) {
    if (filesById.has(row.id)) continue;
    const isAhead = (migrationNumber(row.id) ?? -1n) > newestFile;
    entries.push(isAhead ? { kind: 'ahead', id: row.id, row } : { kind: 'missing-file', id: row.id, row });
  }
  entries.sort(byMigrationOrder);

  const refusals: Irregularity[] = [];
  const warnings: Irregularity[] = [];
  const judge = (allowed: boolean, entry: Entry & { kind: Irregularity['kind'] }, message: string) =>
    (allowed ? warnings : refusals).push({ kind: entry.kind, id: entry.id, message });
  for (const entry of entries) {
    if (entry.kind === 'drifted') {
      judge(
        options.allowDrift,
        entry,
        `${entry.file.fileName} changed after it was applied (checksum ${entry.row.checksum} in the ledger, ${entry.file.checksum} on disk); restore the applied file and put the change in a new migration`,
      );
    } else if (entry.kind === 'missing-file') {
      judge(
        options.allowMissingFiles,
        entry,
        `${entry.id} is applied but has no file in the migrations folder, and files numbered above it are present: restore the file (a migration removed from the middle of the history)`,
      );
    } else if (entry.kind === 'out-of-order') {
      judge(
        options.allowOutOfOrder,
        entry,
        `${entry.file.fileName} is pending but numbered below ${postDeploy(entry.file)}migrations already applied; renumber it after the newest applied ${postDeploy(entry.file)}migration, or allow out-of-order`,
      );
    }
  }

  // The pre phase cannot apply a post-deploy file, so it never requires one, listed or not.
  const requirable = (id: string) => phase === 'post' || filesById.get(id)?.phase !== 'post';
  const requiredIds = (options.required.kind === 'all' ? files.map((f) => f.id) : options.required.ids).filter(requirable);
  const pending = entries.flatMap((e) =>
    e.kind === 'pending' || e.kind === 'partial' || (e.kind === 'out-of-order' && options.allowOutOfOrder) ? [e.file] : [],
  );
  return {
    entries,
    toApply: pending.filter((f) => phase === 'post' || f.phase === 'pre'),
    deferred: pending.filter((f) => phase === 'pre' && f.phase === 'post'),
    toAdopt: entries.flatMap((e) =>
      e.kind === 'applied-unverified' || (e.kind === 'applied' && (e.row.contentChecksum ?? null) === null) ? [e.file] : [],
    ),
    refusals,
    warnings,
    missingRequired: requiredIds.filter((id) => !rowsById.has(id)),
    ahead: entries.flatMap((e) => (e.kind === 'ahead' ? [e.id] : [])),
  };
}

/** A post-deploy file is out of order only among post-deploy files: its message says so. */
const postDeploy = (file: MigrationFile) => (file.phase === 'post' ? 'post-deploy ' : '');

function newestNumber(rows: readonly LedgerRow[]): bigint {
  return rows.reduce<bigint>((max, row) => {
    const n = migrationNumber(row.id);
    return n !== undefined && n > max ? n : max;
  }, -1n);
}

function byMigrationOrder(a: Entry, b: Entry): number {
  return inMigrationOrder(a.id, b.id);
}

/** Nothing to do and nothing to refuse: the every-pod-start case. */
export function isSteadyState(plan: Plan): boolean {
  return plan.toApply.length === 0 && plan.toAdopt.length === 0 && plan.refusals.length === 0 && plan.missingRequired.length === 0;
}
