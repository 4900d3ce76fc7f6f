/**
 * The migrator: one `migrate` on an open session, top to bottom. Read the ledger without the
 * lock (the every-pod-start case ends here) → decide how the lock is held, once → take it →
 * read again → apply the pending files in order, each recorded as a step of the run → release →
 * the required check. It never throws: the result says what was applied AND why the run
 * stopped, so a fleet target that applied 001 and failed at 002 reports 001.
 */
import type { Config } from '../config.js';
import { VerificationError } from '../errors.js';
import type { MigrationFile } from '../migrations/discover.js';
import { missingRequired, planMigrations, type LedgerRow, type Plan } from './planner.js';
import { noProgress, type Progress } from '../progress.js';
import { version } from '../version.js';
import { applyMigration, type Applied, type ApplyOutcome } from '../db/execute.js';
import { adoptChecksums, ensureLedger, readLedger } from '../db/ledger.js';
import { migrationLockFor, type MigrationLock } from '../db/lock.js';
import { deferCommitFlushes, flushCommits } from '../db/durability.js';
import { refuseStatementPooling, sessionNeededBehindPooler } from '../db/pooler.js';
import { RunRecorder } from '../db/runs.js';
import { refuseBadHistory } from './history-policy.js';
import { connectWhileReadingFiles } from './open-session.js';
import { scopeOf, type Job, type RunScope } from './run-scope.js';

export type MigrateResult =
  | { readonly ok: true; readonly applied: readonly Applied[]; readonly ledger: readonly LedgerRow[] }
  /** `applied`: what this run committed before `error` stopped it (a refused history, the lock, a file, the required check) */
  | { readonly ok: false; readonly applied: readonly Applied[]; readonly error: unknown };

export interface MigrateOptions {
  /** live progress while files are applied (a terminal's); none by default */
  readonly progress?: () => Progress;
}

/** The init job on the configured database: a writable session and the files, migrated, the session closed. Not reaching the database, or a broken file, is thrown: nothing ran. */
export async function migrateDatabase(job: Job, options: MigrateOptions = {}): Promise<MigrateResult> {
  const { files, session } = await connectWhileReadingFiles(job, { writable: true });
  try {
    return await migrate(scopeOf(session, job), files, job.config, options);
  } finally {
    await session.close();
  }
}

/** One migrate over an open session: also each target of a fleet. */
export async function migrate(
  scope: RunScope,
  files: readonly MigrationFile[],
  config: Config,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const applied: Applied[] = [];
  try {
    const ledger = await migrateOn(scope, files, config, { applied, progress: options.progress ?? (() => noProgress) });
    return { ok: true, applied, ledger };
  } catch (error) {
    return { ok: false, applied, error };
  }
}

interface Run {
  /** what this run committed so far, in order */
  readonly applied: Applied[];
  readonly progress: () => Progress;
}

async function migrateOn(scope: RunScope, files: readonly MigrationFile[], config: Config, run: Run): Promise<readonly LedgerRow[]> {
  const { session, ledger, log } = scope;
  let rows = await readLedger(session, ledger);
  const { standardConformingStrings } = session;
  const before = refuseBadHistory(planMigrations(files, rows, config), ledger, log, { standardConformingStrings });
  if (before.toApply.length > 0 || before.toAdopt.length > 0) {
    const lock = migrationLockFor(session, ledger, { timeoutMs: config.lockTimeoutMs, log, stop: scope.stop });
    if (lock.scope === 'transaction') await checkPooler(scope, before);
    rows = await lock.around(() =>
      withCommitsFlushedOnce(scope, before, lock, async () => {
        await ensureLedger(session, ledger);
        // Another runner may have applied everything while we waited: plan again under the lock
        // (and warn only of what the plan before the lock did not).
        const plan = refuseBadHistory(planMigrations(files, await readLedger(session, ledger), config), ledger, log, {
          warned: before,
          standardConformingStrings,
        });
        await adopt(scope, plan);
        // Only a runner that applies something records a run; the others found it done.
        const outcome = plan.toApply.length > 0 ? await recordedRun(scope, config, lock, plan.toApply, run) : undefined;
        if (outcome?.failed) throw outcome.failed.error;
        return readLedger(session, ledger);
      }),
    );
  }
  requireMigrations(missingRequired(files, rows, config), config.migrationsDir);
  const inLedger = new Set(rows.map((row) => row.id));
  const deferred = before.deferred.filter((file) => !inLedger.has(file.id));
  if (deferred.length > 0) {
    log.info(
      { postDeploy: deferred.map((f) => f.id) },
      'post-deploy migrations left pending: run with --phase post (XYN_PHASE=post) once the rollout is over',
    );
  }
  // applied: by this run; files: in the folder; ledgerRows: applied ever (rows of a newer image included)
  log.info(
    { applied: run.applied.length, files: files.length, ledgerRows: rows.length },
    run.applied.length > 0 ? 'migrations applied' : 'nothing to apply',
  );
  return rows;
}

/**
 * Behind a pooler, before anything is applied: statement pooling cannot run a migration at all,
 * and a no-transaction file needs one server session throughout, which a pooler does not promise.
 */
async function checkPooler(scope: RunScope, plan: Plan): Promise<void> {
  scope.log.info(
    { target: scope.session.target.display },
    'a connection pooler stands between us and PostgreSQL: each file takes the migration lock inside its own transaction',
  );
  const needsSession = plan.toApply.find((file) => file.mode !== 'transaction');
  if (needsSession) throw sessionNeededBehindPooler(needsSession.fileName);
  await refuseStatementPooling(scope.session);
}

/**
 * Commits need not wait for the disk one by one (the ledger's creation included): one flush,
 * still under the lock and before any exit 0, makes them all durable. A session setting, so not
 * when the lock is taken file by file behind a pooler, where the server session is shared.
 */
async function withCommitsFlushedOnce<T>(scope: RunScope, plan: Plan, lock: MigrationLock, work: () => Promise<T>): Promise<T> {
  const { session } = scope;
  if (plan.toApply.length < 2 || lock.scope === 'transaction') return work();
  const original = await deferCommitFlushes(session);
  const result = await work().catch(async (error: unknown) => {
    await flushCommits(session, original).catch(() => undefined); // after a failure the flush is a courtesy
    throw error;
  });
  await flushCommits(session, original);
  return result;
}

async function adopt(scope: RunScope, plan: Plan): Promise<void> {
  if (plan.toAdopt.length === 0) return;
  await adoptChecksums(scope.session, scope.ledger, plan.toAdopt);
  scope.log.info(
    { migrations: plan.toAdopt.map((f) => f.id) },
    "recorded the files' checksums in ledger rows that lacked them (rows of the old ledger, or written before content checksums)",
  );
}

/** Applies `files`, recorded as a run of the engine when it can be. */
async function recordedRun(
  scope: RunScope,
  config: Config,
  lock: MigrationLock,
  files: readonly MigrationFile[],
  run: Run,
): Promise<ApplyOutcome> {
  const recorder = new RunRecorder(
    scope.session,
    {
      files: files.map((f) => f.id),
      required: config.required.kind === 'all' ? 'all' : config.required.ids,
      version,
      host: config.host,
      applied_by: config.appliedBy,
    },
    scope.log,
    config.recordRuns === 'auto',
    // file by file, another runner may apply every file first: a run only once one is ours (each
    // runner that applies some records its own run)
    { untilFirstApplied: lock.scope === 'transaction', schema: scope.schema },
  );
  await recorder.start();
  const outcome = await applyInOrder(scope, config, lock, files, recorder, run);
  await recorder.finish(outcome);
  return outcome;
}

/** Applies `files` in order and stops at the first failure, which it returns rather than throws. */
async function applyInOrder(
  scope: RunScope,
  config: Config,
  lock: MigrationLock,
  files: readonly MigrationFile[],
  recorder: RunRecorder,
  run: Run,
): Promise<ApplyOutcome> {
  const { session, ledger, schema, log, stop } = scope;
  const { applied } = run; // applyInOrder runs once per run: what it applies is what the run committed
  const progress = run.progress();
  let failed: ApplyOutcome['failed'];
  for (const [index, file] of files.entries()) {
    try {
      stop.throwIfStopped(
        `stopped between migrations: the ${applied.length} applied before the signal stay committed, nothing is half-done, the lock released`,
      );
      progress.file(index + 1, files.length, file.id);
      const result = await applyMigration(file, {
        session,
        lock,
        ledger,
        schema,
        settings: config,
        log,
        stop,
        onStatement: (text) => progress.statement(text),
      });
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

function requireMigrations(missing: readonly string[], migrationsDir: string): void {
  if (missing.length === 0) return;
  const s = missing.length > 1 ? 's' : '';
  throw new VerificationError(
    `Required migration${s} not applied: ${missing.join(', ')} (XYN_REQUIRED_MIGRATIONS); add the file${s} to ${migrationsDir} or fix the list.`,
    { missing },
  );
}
