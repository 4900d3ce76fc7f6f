/**
 * What the read-only commands (status, plan, verify, and a fleet's status and verify) ask of a
 * database: files and ledger in, a Plan out, and the judgements on it. They never need a writable
 * server (a standby will do) and never create the ledger.
 */
import type { Config } from '../config.js';
import { VerificationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MigrationFile } from '../migrations/discover.js';
import { planMigrations, type Entry, type Irregularity, type Plan } from './planner.js';
import { readLedger, readPartial } from '../db/ledger.js';
import { lastRun, type LastRun } from '../db/runs.js';
import { warnAboutHistory } from './history-policy.js';
import { connectWhileReadingFiles } from './open-session.js';
import { scopeOf, type Job, type RunScope } from './run-scope.js';

export interface Inspection {
  readonly plan: Plan;
  /** only when asked for (status) */
  readonly lastRun: LastRun | null;
  /** the session's standard_conforming_strings, from its login (no round trip): plan refuses what migrate would */
  readonly standardConformingStrings: string | undefined;
}

/** `status` also wants the last recorded run and the files left partly applied: two more reads. */
export interface InspectOptions {
  readonly details?: boolean;
}

/** The configured database's files and ledger compared, over a read-only session closed afterwards. */
export async function inspectDatabase(job: Job, options: InspectOptions = {}): Promise<Inspection> {
  const { files, session } = await connectWhileReadingFiles(job, { writable: false });
  try {
    return await inspect(scopeOf(session, job), files, job.config, options);
  } finally {
    await session.close();
  }
}

/** Files and ledger compared over an open session: also each target of a fleet. */
export async function inspect(
  scope: RunScope,
  files: readonly MigrationFile[],
  config: Config,
  options: InspectOptions = {},
): Promise<Inspection> {
  const { session, ledger } = scope;
  const rows = await readLedger(session, ledger);
  const { standardConformingStrings } = session;
  if (!options.details) return { plan: planMigrations(files, rows, config), lastRun: null, standardConformingStrings };
  const partial = await readPartial(session, ledger);
  return { plan: planMigrations(files, rows, config, partial), lastRun: await lastRun(session, scope.schema), standardConformingStrings };
}

/** States that need nobody: applied, and applied ids of a newer image than this one (a rollback). */
const FINE: ReadonlySet<Entry['kind']> = new Set(['applied', 'applied-unverified', 'ahead']);

/**
 * Anything but applied (or ahead of this image), or a required migration not applied: status
 * exits 5. In the pre phase a pending post-deploy file waits for the post phase: nothing to attend to yet.
 */
export function planNeedsAttention(plan: Plan): boolean {
  const deferred = new Set(plan.deferred);
  return plan.entries.some((e) => !FINE.has(e.kind) && !('file' in e && deferred.has(e.file))) || plan.missingRequired.length > 0;
}

/** verify: throws exit 5 naming every problem of what is applied; logs and returns the kinds it let pass. */
export function verifyPlan(plan: Plan, log: Logger): string[] {
  // A pending file, even out of order, is migrate's business; verify judges what is applied.
  const applied = (i: Irregularity) => i.kind !== 'out-of-order';
  const warnings = plan.warnings.filter(applied);
  warnAboutHistory({ ...plan, warnings }, log);
  const problems = plan.refusals.filter(applied).map((r) => r.message);
  if (plan.missingRequired.length > 0) problems.unshift(`required migrations not applied: ${plan.missingRequired.join(', ')}`);
  if (problems.length > 0) throw new VerificationError(`Verification failed: ${problems.join('; ')}.`, { problems });
  const allowed = [...new Set(warnings.map((w) => w.kind))];
  const clean =
    allowed.length === 0 ? 'no drift, no unknown applied ids' : `with what the overrides allow (${allowed.join(', ')}), logged above`;
  // empty lists say nothing on a log line: only what is there
  const fields = {
    ...(allowed.length > 0 ? { allowed } : {}),
    ...(plan.ahead.length > 0 ? { ahead: plan.ahead } : {}),
  };
  log.info(fields, `verified: required migrations applied, ${clean}`);
  return allowed;
}
