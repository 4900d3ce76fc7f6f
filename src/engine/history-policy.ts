/**
 * How migrate and verify treat the history a plan found: refusals end the run before anything is
 * applied (exit 5); what an override allows, and a database ahead of this image, are warnings.
 */
import { VerificationError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkMigration, refuseUnderNonStandardStrings } from '../migrations/discover.js';
import type { Plan } from './planner.js';
import { refuseLedgerRemoval } from '../migrations/ledger-guard.js';
import type { LedgerName } from '../migrations/ledger-name.js';

/**
 * Logs what is allowed but irregular: overridden refusals, and applied ids of a newer image.
 * `warned`: a plan whose warnings were logged already (migrate plans again under the lock).
 */
export function warnAboutHistory(plan: Plan, log: Logger, warned?: Plan): void {
  noteWhitespaceOnly(plan, log, warned);
  const said = new Set(warned?.warnings.map((w) => w.message));
  for (const warning of plan.warnings) {
    if (!said.has(warning.message)) log.warn({ migration: warning.id, kind: warning.kind }, `allowed by configuration: ${warning.message}`);
  }
  if (plan.ahead.length === 0 || plan.ahead.join() === warned?.ahead.join()) return;
  // An older image deployed on purpose (a rollback) must not be blocked.
  log.warn(
    { ahead: plan.ahead },
    `the database is ahead of this image: ${plan.ahead.join(', ')} applied but numbered above every file here (an older image, e.g. a rollback); continuing`,
  );
}

const whitespaceOnly = (plan: Plan | undefined) =>
  (plan?.entries ?? []).flatMap((e) => (e.kind === 'applied' && e.difference === 'whitespace only' ? [e.file.fileName] : []));

/** Applied files changed in line endings or trailing whitespace only: not drift, worth a line at info. */
function noteWhitespaceOnly(plan: Plan, log: Logger, noted?: Plan): void {
  const files = whitespaceOnly(plan);
  if (files.length === 0 || files.join() === whitespaceOnly(noted).join()) return;
  log.info(
    { files },
    `${files.join(', ')} differ${files.length === 1 ? 's' : ''} from the applied file${files.length === 1 ? '' : 's'} in whitespace only (line endings, trailing whitespace, the final newline): not drift`,
  );
}

/**
 * Every file about to run is checked before the first one runs (exit 2 naming file:line:column);
 * so are the post-deploy files this pre phase holds back, so that one the post Job would refuse
 * stops the deploy before the rollout, not after it. `standardConformingStrings`: the session's
 * setting, when known (a backslash in a plain string is refused under off).
 */
export function checkPendingFiles(plan: Plan, ledger: LedgerName, standardConformingStrings: string | undefined): void {
  for (const file of [...plan.toApply, ...plan.deferred]) {
    checkMigration(file);
    refuseLedgerRemoval(file, ledger);
    refuseUnderNonStandardStrings(file, standardConformingStrings);
  }
}

/**
 * migrate: the files about to run, then the history (exit 5). `warned` as for warnAboutHistory;
 * `standardConformingStrings` as for checkPendingFiles.
 */
export function refuseBadHistory(
  plan: Plan,
  ledger: LedgerName,
  log: Logger,
  options: { readonly warned?: Plan; readonly standardConformingStrings: string | undefined },
): Plan {
  checkPendingFiles(plan, ledger, options.standardConformingStrings);
  warnAboutHistory(plan, log, options.warned);
  if (plan.refusals.length > 0) {
    throw new VerificationError(`Refusing to migrate: ${plan.refusals.map((r) => r.message).join('; ')}.`, { refusals: plan.refusals });
  }
  return plan;
}
