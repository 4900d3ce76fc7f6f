/**
 * `plan [--json]`: what `migrate` would apply now, in order, with each file's mode. Takes no lock
 * and writes nothing. Exit 5 when `migrate` would refuse the history; then the text says what it
 * would refuse (never "nothing to apply").
 */
import { VerificationError } from '../errors.js';
import type { MigrationFile } from '../migrations/discover.js';
import { table } from '../tables.js';
import type { CommandContext } from '../command-context.js';
import { checkPendingFiles } from '../engine/history-policy.js';
import { inspectDatabase } from '../engine/inspect.js';
import type { Plan } from '../engine/planner.js';

export async function plan(ctx: CommandContext, json: boolean): Promise<void> {
  const { plan, standardConformingStrings } = await inspectDatabase(ctx);
  checkPendingFiles(plan, ctx.config.ledger, standardConformingStrings); // what migrate would refuse to run is exit 2 here too
  const step = (f: MigrationFile) => ({ id: f.id, file: f.fileName, mode: f.mode, checksum: f.checksum });
  const steps = plan.toApply.map(step);
  if (json) {
    const document = { to_apply: steps, post_deploy_pending: plan.deferred.map(step), refusals: plan.refusals, warnings: plan.warnings };
    ctx.print(`${JSON.stringify(document, null, 2)}\n`);
    return throwIfRefused(plan, true);
  }
  if (plan.refusals.length > 0) {
    // migrate applies nothing while it refuses: say what, and what is pending behind it
    const refused = plan.refusals.map((r) => `  ${r.message}\n`).join('');
    const pending = steps.length === 0 ? '' : `\npending behind the refusal:\n${stepsTable(steps)}`;
    ctx.print(`migrate would refuse and apply nothing:\n${refused}${pending}`);
  } else {
    ctx.print(steps.length === 0 ? 'nothing to apply\n' : stepsTable(steps));
  }
  // The pre phase leaves these for `--phase post`: say so, so that nobody wonders where they went.
  if (plan.deferred.length > 0) {
    ctx.print(`\npending (post-deploy), left for --phase post after the rollout:\n${stepsTable(plan.deferred.map(step))}`);
  }
  throwIfRefused(plan, false);
}

/** Said once: a person has just read the refusals on stdout; a JSON reader has them in the document. */
function throwIfRefused(plan: Plan, json: boolean): void {
  if (plan.refusals.length === 0) return;
  const n = plan.refusals.length;
  throw new VerificationError(
    json
      ? `migrate would refuse: ${plan.refusals.map((r) => r.message).join('; ')}.`
      : `migrate would refuse and apply nothing: ${n === 1 ? 'the problem' : `${n} problems`} listed above; see status for every file.`,
  );
}

function stepsTable(steps: readonly { readonly id: string; readonly mode: string }[]): string {
  return table(
    ['#', 'id', 'mode'],
    steps.map((s, i) => [String(i + 1), s.id, s.mode]),
  );
}
