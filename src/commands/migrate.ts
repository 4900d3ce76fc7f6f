/**
 * `migrate`, the init job: files → wait for a writable PostgreSQL → read the ledger (no lock: the
 * every-pod-start case ends here) → lock → re-read → apply pending files in order → verify the
 * required ones → print the ledger.
 */
import type { Config } from '../config.js';
import { ConfigError, InterruptedError, VerificationError, XynError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkMigration, discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { planMigrations, type LedgerRow, type Plan } from '../plan.js';
import { ledgerJson, ledgerTable } from '../report.js';
import type { Stop } from '../stop.js';
import { waitForDatabase } from '../db/connect.js';
import { applyMigration, type Applied } from '../db/execute.js';
import { adoptChecksums, ensureLedger, readLedger } from '../db/ledger.js';
import { acquireLock, releaseLock } from '../db/lock.js';
import type { Session } from '../db/session.js';
import type { ConnectionTarget } from '../db/target.js';
import { RunRecorder } from '../db/runs.js';
import { deferCommitFlushes, flushCommits } from '../db/durability.js';
import { version } from '../version.js';
import type { Progress } from '../progress.js';

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
  readonly stop: Stop;
  /** writes results to stdout */
  readonly print: (text: string) => void;
  readonly stdoutIsTerminal: boolean;
  /** live progress on stderr when it is a terminal */
  readonly progress: () => Progress;
}

export interface MigrateResult {
  readonly applied: readonly Applied[];
  readonly ledger: readonly LedgerRow[];
  /** round trips to PostgreSQL after connecting */
  readonly roundTrips: number;
}

export async function migrate(ctx: CommandContext): Promise<MigrateResult> {
  const { config, log } = ctx;
  const { files, session } = await connectWhileReadingFiles(ctx, { requireWritable: true });
  try {
    let rows = await readLedger(session, config.ledger);
    let plan = refuseBadHistory(planMigrations(files, rows, config), log);
    let applied: Applied[] = [];
    if (plan.toApply.length > 0 || plan.toAdopt.length > 0) {
      ({ rows, applied } = await underLock(session, ctx, files));
      plan = planMigrations(files, rows, config);
    }
    requireMigrations(plan, config);
    log.info({ applied: applied.length, migrations: rows.length }, applied.length > 0 ? 'migrations applied' : 'nothing to apply');
    printLedger(ctx, rows);
    return { applied, ledger: rows, roundTrips: session.roundTrips };
  } finally {
    await session.close();
  }
}

/**
 * The migration files and a session, the two inputs of every command that compares them. It
 * connects first and reads the files while the server starts the session: one turn of the event
 * loop sends the startup packet, then the server's work and ours overlap. A broken file still
 * fails at once (exit 2), and the connection being made is closed.
 */
export async function connectWhileReadingFiles(
  ctx: CommandContext,
  options: { readonly requireWritable: boolean },
): Promise<{ files: readonly MigrationFile[]; session: Session }> {
  const { config, log, stop } = ctx;
  const connecting = waitForDatabase(requireDatabase(config), { deadlineMs: config.waitTimeoutMs, requireWritable: options.requireWritable, log, stop });
  connecting.catch(() => undefined); // its failure is thrown by the await below, never left unhandled meanwhile
  let files: readonly MigrationFile[];
  try {
    await new Promise((resolve) => setImmediate(resolve));
    files = discoverMigrations(config.migrationsDir, { lazy: true });
  } catch (error) {
    void connecting.then((session) => session.close(), () => undefined);
    throw error;
  }
  return { files, session: await connecting };
}

export function requireDatabase(config: Config): ConnectionTarget {
  if (config.database) return config.database;
  throw new ConfigError('Invalid configuration: no database is configured; set DATABASE_URL (or DATABASE_URL_FILE, or PGHOST and PGDATABASE).', {
    variables: ['DATABASE_URL'],
  });
}

/** Refusals end the run before anything is applied; allowed irregularities are warned about. */
function refuseBadHistory(plan: Plan, log: Logger): Plan {
  // Every file about to run is checked before the first one runs (exit 2 naming file:line).
  plan.toApply.forEach(checkMigration);
  for (const warning of plan.warnings) log.warn({ migration: warning.id, kind: warning.kind }, `allowed by configuration: ${warning.message}`);
  if (plan.refusals.length > 0) {
    throw new VerificationError(`Refusing to migrate: ${plan.refusals.map((r) => r.message).join('; ')}.`, { refusals: plan.refusals });
  }
  return plan;
}

async function underLock(session: Session, ctx: CommandContext, files: readonly MigrationFile[]): Promise<{ rows: LedgerRow[]; applied: Applied[] }> {
  const { config, log, stop } = ctx;
  await acquireLock(session, config.ledger, config.lockTimeoutMs, log, stop);
  try {
    await ensureLedger(session, config.ledger);
    // Another runner may have applied everything while we waited: plan again under the lock.
    const plan = refuseBadHistory(planMigrations(files, await readLedger(session, config.ledger), config), log);
    if (plan.toAdopt.length > 0) {
      await adoptChecksums(session, config.ledger, plan.toAdopt);
      log.info({ migrations: plan.toAdopt.map((f) => f.id) }, 'recorded checksums for ledger rows adopted from the old ledger');
    }
    // Only the runner that applies something records a run; the others found it done.
    const applied = plan.toApply.length > 0 ? await applyInOrder(session, ctx, plan.toApply) : [];
    return { rows: await readLedger(session, config.ledger), applied };
  } finally {
    await releaseLock(session, config.ledger).catch(() => undefined);
  }
}

/** Applies `files` in order, recording the job as a run of the engine when it can. */
async function applyInOrder(session: Session, ctx: CommandContext, files: readonly MigrationFile[]): Promise<Applied[]> {
  const { config, log, stop } = ctx;
  const recorder = new RunRecorder(
    session,
    {
      files: files.map((f) => f.id),
      required: config.required.kind === 'all' ? 'all' : config.required.ids,
      version,
      host: config.host,
      applied_by: config.appliedBy,
    },
    log,
    config.recordRuns === 'auto',
  );
  await recorder.applied(undefined, undefined);
  const original = files.length > 1 ? await deferCommitFlushes(session) : undefined;
  const applied: Applied[] = [];
  const progress = ctx.progress();
  for (const [index, file] of files.entries()) {
    let result: Applied;
    try {
      stop.throwIfStopped();
      progress.file(index + 1, files.length, file.id);
      result = await applyMigration(file, { ...config, session, log, stop, onStatement: progress.statement });
    } catch (error) {
      progress.done();
      const fields = error instanceof XynError ? { message: error.message, ...error.fields } : { message: String(error) };
      if (original !== undefined) await flushCommits(session, original).catch(() => undefined);
      await recorder.failed({ file, error: fields }, fields, error instanceof InterruptedError);
      throw error;
    }
    applied.push(result);
    log.info({ migration: file.id, mode: file.mode, durationMs: result.durationMs, n: index + 1, of: files.length }, 'applied');
    await recorder.applied(file, result);
  }
  progress.done();
  if (original !== undefined) await flushCommits(session, original);
  await recorder.completed();
  return applied;
}

function requireMigrations(plan: Plan, config: Config): void {
  if (plan.missingRequired.length === 0) return;
  const list = plan.missingRequired.join(', ');
  throw new VerificationError(
    `Required migration${plan.missingRequired.length > 1 ? 's' : ''} not applied: ${list} (XYN_REQUIRED_MIGRATIONS); add the file${plan.missingRequired.length > 1 ? 's' : ''} to ${config.migrationsDir} or fix the list.`,
    { missing: plan.missingRequired },
  );
}

/** A table for a person (a terminal, or pretty logs); one structured log line otherwise. */
function printLedger(ctx: CommandContext, rows: readonly LedgerRow[]): void {
  if (ctx.stdoutIsTerminal || ctx.config.logFormat === 'pretty') ctx.print(ledgerTable(rows));
  else ctx.log.info({ ledger: ledgerJson(rows) }, 'ledger');
}
