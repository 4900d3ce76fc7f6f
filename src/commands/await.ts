/**
 * `await`: the app pods' gate when a separate Job migrates (a Helm pre-upgrade hook, an Argo CD
 * PreSync Job). Read-only: no lock, never creates the ledger (none yet = nothing applied yet). It
 * polls the ledger, one query a poll, until every pre-deploy file of its folder (every file, with
 * `--phase post`) is applied with its checksum; exit 5 naming what is missing when XYN_WAIT_TIMEOUT runs out, or at once for what
 * waiting cannot fix (an applied file changed, an applied id without its file).
 */
import { ConnectError, VerificationError } from '../errors.js';
import type { MigrationFile, MigrationPhase } from '../migrations/discover.js';
import { planMigrations, type Plan } from '../engine/planner.js';
import { backoff } from '../db/backoff.js';
import { isLostConnection, waitForDatabase } from '../db/connect.js';
import { readLedger } from '../db/ledger.js';
import { serverError, sessionIsGone, type Session } from '../db/session.js';
import { sleep } from '../stop.js';
import type { CommandContext } from '../command-context.js';
import { connectWhileReadingFiles, requireDatabase } from '../engine/open-session.js';

const STOPPED = 'stopped while waiting for the migrations; await changes nothing';

export async function awaitMigrations(ctx: CommandContext): Promise<void> {
  const { config, log, stop } = ctx;
  // One budget for reaching the server and for the migrations to land.
  const started = Date.now();
  const deadline = started + config.waitTimeoutMs;
  const connected = await connectWhileReadingFiles(ctx, { writable: false });
  const files = connected.files;
  let session = connected.session;
  try {
    for (let attempt = 1; ; attempt++) {
      const read = await readPlan(session, ctx, files);
      if (read === 'connection lost') {
        await session.close();
        if (Date.now() >= deadline) {
          throw new ConnectError(`The connection to PostgreSQL was lost and XYN_WAIT_TIMEOUT (${config.waitTimeoutMs / 1000}s) is over.`);
        }
        session = await waitForDatabase(requireDatabase(config), {
          deadlineMs: Math.max(1000, deadline - Date.now()),
          requireWritable: false,
          log,
          stop,
        });
        continue;
      }
      refuseWhatWaitingCannotFix(read);
      const missing = notYetApplied(read, config.phase);
      if (missing.length === 0) {
        const which = config.phase === 'pre' ? 'every pre-deploy migration is applied' : 'every migration is applied';
        log.info({ migrations: files.length, waitedMs: Date.now() - started }, which);
        return;
      }
      const delay = Math.min(backoff(attempt), deadline - Date.now());
      if (delay <= 0) throw timedOut(missing, config.waitTimeoutMs, config.migrationsDir);
      log.info({ missing: missing.map((f) => f.id), retryInMs: delay }, 'waiting for migrations to be applied');
      await sleep(delay, stop, STOPPED);
    }
  } finally {
    await session.close();
  }
}

/** The plan of the ledger as it is now (one query), or 'connection lost' to reconnect. */
async function readPlan(session: Session, ctx: CommandContext, files: readonly MigrationFile[]): Promise<Plan | 'connection lost'> {
  try {
    return planMigrations(files, await readLedger(session, ctx.config.ledger), ctx.config);
  } catch (error) {
    const db = serverError(error);
    // A socket error: the connection broke; or the server ended the session (a restart, a
    // failover). Any other error without a SQLSTATE is a bug, not a reason to reconnect forever.
    const lost = db === undefined ? isLostConnection(error) : sessionIsGone(db);
    if (lost) {
      ctx.log.info({ reason: error instanceof Error ? error.message : String(error) }, 'connection lost while waiting; reconnecting');
      return 'connection lost';
    }
    throw error;
  }
}

/** Drift or an applied id without its file: the Job's migrate refuses them too, so waiting is pointless. */
function refuseWhatWaitingCannotFix(plan: Plan): void {
  const broken = plan.refusals.filter((r) => r.kind !== 'out-of-order');
  if (broken.length === 0) return;
  throw new VerificationError(`Not waiting: ${broken.map((r) => r.message).join('; ')}.`, { problems: broken.map((r) => r.message) });
}

/** Files with no ledger row yet; in the pre phase only pre-deploy ones (post-deploy ones come after the rollout). */
function notYetApplied(plan: Plan, phase: MigrationPhase): MigrationFile[] {
  return plan.entries.flatMap((e) =>
    (e.kind === 'pending' || e.kind === 'partial' || e.kind === 'out-of-order') && (phase === 'post' || e.file.phase === 'pre')
      ? [e.file]
      : [],
  );
}

function timedOut(missing: readonly MigrationFile[], waitTimeoutMs: number, migrationsDir: string): VerificationError {
  const s = missing.length > 1 ? 's' : '';
  return new VerificationError(
    `Migration${s} not applied within ${waitTimeoutMs / 1000}s (XYN_WAIT_TIMEOUT): ${missing.map((f) => f.id).join(', ')} (of ${migrationsDir}); check the migration Job's logs, or raise XYN_WAIT_TIMEOUT.`,
    { missing: missing.map((f) => f.id) },
  );
}
