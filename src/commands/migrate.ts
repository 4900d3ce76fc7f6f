/**
 * `migrate`, the init job: files → wait for a writable PostgreSQL → read the ledger (no lock: the
 * every-pod-start case ends here) → lock → re-read → apply pending files in order → verify the
 * required ones → print the ledger.
 */
import { VerificationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MigrationFile } from '../migrations/discover.js';
import { planMigrations, type LedgerRow, type Plan } from '../plan.js';
import { ledgerJson, ledgerTable, migrateJson } from '../report.js';
import { applyMigration, type Applied, type ApplyOutcome } from '../db/execute.js';
import { adoptChecksums, readLedger } from '../db/ledger.js';
import type { Session } from '../db/session.js';
import { RunRecorder } from '../db/runs.js';
import { deferCommitFlushes, flushCommits } from '../db/durability.js';
import { refuseStatementPooling, sessionNeededBehindPooler } from '../db/pooler.js';
import { version } from '../version.js';
import { connectWhileReadingFiles, withMigrationLock, type CommandContext } from './context.js';
import { refuseBadHistory } from './history.js';

export interface MigrateResult {
  readonly applied: readonly Applied[];
  readonly ledger: readonly LedgerRow[];
}

/** `json`: the result document on stdout instead of the ledger table. */
export async function migrate(ctx: CommandContext, json = false): Promise<MigrateResult> {
  const { files, session } = await connectWhileReadingFiles(ctx, { writable: true });
  try {
    const result = await migrateOn(session, ctx, files);
    if (json) ctx.print(`${JSON.stringify(migrateJson(result.applied, result.ledger), null, 2)}\n`);
    else printLedger(ctx, result.ledger);
    return result;
  } finally {
    await session.close();
  }
}

/**
 * Behind a pooler, before anything is applied: statement pooling cannot run a migration at all,
 * and a no-transaction file needs one server session throughout, which a pooler does not promise.
 */
async function checkPooler(session: Session, plan: Plan, log: Logger): Promise<void> {
  log.info(
    { target: session.target.display },
    'a connection pooler stands between us and PostgreSQL: each file takes the migration lock inside its own transaction',
  );
  const needsSession = plan.toApply.find((file) => file.mode !== 'transaction');
  if (needsSession) throw sessionNeededBehindPooler(needsSession.fileName);
  await refuseStatementPooling(session);
}

/** The job on one database, over an open session: also each target of a fleet. */
export async function migrateOn(session: Session, ctx: CommandContext, files: readonly MigrationFile[]): Promise<MigrateResult> {
  const { config, log } = ctx;
  let rows = await readLedger(session, config.ledger);
  let plan = refuseBadHistory(planMigrations(files, rows, config), config.ledger, log, undefined, session.standardConformingStrings);
  let applied: readonly Applied[] = [];
  if (plan.toApply.length > 0 || plan.toAdopt.length > 0) {
    if (session.pooled) await checkPooler(session, plan, log);
    // Commits need not wait for the disk one by one (the ledger's creation included): one flush,
    // still under the lock and before any exit 0, makes them all durable. A session setting, so
    // not behind a pooler, where the server session is shared.
    const original = plan.toApply.length > 1 && !session.pooled ? await deferCommitFlushes(session) : undefined;
    const flush = () => (original === undefined ? Promise.resolve() : flushCommits(session, original));
    ({ rows, applied } = await withMigrationLock(session, ctx, async () => {
      const result = await applyUnderLock(session, ctx, files, plan).catch(async (error: unknown) => {
        await flush().catch(() => undefined); // after a failure the flush is a courtesy
        throw error;
      });
      await flush();
      return result;
    }));
    plan = planMigrations(files, rows, config);
  }
  requireMigrations(plan, config.migrationsDir);
  if (plan.deferred.length > 0) {
    log.info(
      { postDeploy: plan.deferred.map((f) => f.id) },
      'post-deploy migrations left pending: run with --phase post (XYN_PHASE=post) once the rollout is over',
    );
  }
  // applied: by this run; files: in the folder; ledgerRows: applied ever (rows of a newer image included)
  log.info(
    { applied: applied.length, files: files.length, ledgerRows: rows.length },
    applied.length > 0 ? 'migrations applied' : 'nothing to apply',
  );
  return { applied, ledger: rows };
}

async function applyUnderLock(
  session: Session,
  ctx: CommandContext,
  files: readonly MigrationFile[],
  before: Plan,
): Promise<{ rows: LedgerRow[]; applied: readonly Applied[] }> {
  const { config, log } = ctx;
  // Another runner may have applied everything while we waited: plan again under the lock (and
  // warn only of what the plan before the lock did not).
  const plan = refuseBadHistory(
    planMigrations(files, await readLedger(session, config.ledger), config),
    config.ledger,
    log,
    before,
    session.standardConformingStrings,
  );
  if (plan.toAdopt.length > 0) {
    await adoptChecksums(session, config.ledger, plan.toAdopt);
    log.info(
      { migrations: plan.toAdopt.map((f) => f.id) },
      "recorded the files' checksums in ledger rows that lacked them (rows of the old ledger, or written before content checksums)",
    );
  }
  // Only a runner that applies something records a run; the others found it done. Behind a
  // pooler several runners may each apply some of the files: each records its own run.
  const outcome = plan.toApply.length > 0 ? await recordedRun(session, ctx, plan.toApply) : { applied: [] };
  if (outcome.failed) throw outcome.failed.error;
  return { rows: await readLedger(session, config.ledger), applied: outcome.applied };
}

/** Applies `files`, recorded as a run of the engine when it can be. */
async function recordedRun(session: Session, ctx: CommandContext, files: readonly MigrationFile[]): Promise<ApplyOutcome> {
  const { config } = ctx;
  const recorder = new RunRecorder(
    session,
    {
      files: files.map((f) => f.id),
      required: config.required.kind === 'all' ? 'all' : config.required.ids,
      version,
      host: config.host,
      applied_by: config.appliedBy,
    },
    ctx.log,
    config.recordRuns === 'auto',
    // behind a pooler another runner may apply every file first: a run only once one is ours
    { untilFirstApplied: session.pooled, schema: config.searchPath },
  );
  await recorder.start();
  const outcome = await applyInOrder(session, ctx, files, recorder);
  await recorder.finish(outcome);
  return outcome;
}

/** Applies `files` in order and stops at the first failure, which it returns rather than throws. */
async function applyInOrder(
  session: Session,
  ctx: CommandContext,
  files: readonly MigrationFile[],
  recorder: RunRecorder,
): Promise<ApplyOutcome> {
  const { config, log, stop } = ctx;
  const applied: Applied[] = [];
  const progress = ctx.progress();
  let failed: ApplyOutcome['failed'];
  for (const [index, file] of files.entries()) {
    try {
      stop.throwIfStopped(
        `stopped between migrations: the ${applied.length} applied before the signal stay committed, nothing is half-done, the lock released`,
      );
      progress.file(index + 1, files.length, file.id);
      const result = await applyMigration(file, { ...config, session, log, stop, onStatement: progress.statement });
      if (result === null) {
        log.info({ migration: file.id, n: index + 1, of: files.length }, 'applied by another runner');
        continue;
      }
      applied.push(result);
      log.info({ migration: file.id, mode: file.mode, durationMs: result.durationMs, n: index + 1, of: files.length }, 'applied');
      await recorder.step(file, result);
    } catch (error) {
      failed = { file, error };
      break;
    }
  }
  progress.done();
  return failed ? { applied, failed } : { applied };
}

function requireMigrations(plan: Plan, migrationsDir: string): void {
  const missing = plan.missingRequired;
  if (missing.length === 0) return;
  const s = missing.length > 1 ? 's' : '';
  throw new VerificationError(
    `Required migration${s} not applied: ${missing.join(', ')} (XYN_REQUIRED_MIGRATIONS); add the file${s} to ${migrationsDir} or fix the list.`,
    { missing },
  );
}

/** A table for a person (a terminal, or pretty logs); one structured log line otherwise. */
function printLedger(ctx: CommandContext, rows: readonly LedgerRow[]): void {
  if (ctx.stdoutIsTerminal || ctx.config.logFormat === 'pretty') ctx.print(ledgerTable(rows));
  else ctx.log.info({ ledger: ledgerJson(rows) }, 'ledger');
}
