/**
 * `plan [--json]`: what `migrate` would apply now, in order, with each file's mode. Takes no lock
 * and writes nothing. Exit 5 when `migrate` would refuse the history; then the text says what it
 * would refuse (never "nothing to apply").
 */
import { VerificationError } from '../errors.js';
import { table } from '../tables.js';
import type { CommandContext } from '../command-context.js';
import { checkPendingFiles } from '../engine/history-policy.js';
import { inspectDatabase } from '../engine/inspect.js';

export async function plan(ctx: CommandContext, json: boolean): Promise<void> {
  const { plan } = await inspectDatabase(ctx);
  checkPendingFiles(plan, ctx.config.ledger); // what migrate would refuse to run is exit 2 here too
  const steps = plan.toApply.map((f) => ({ id: f.id, file: f.fileName, mode: f.mode, checksum: f.checksum }));
  if (json) {
    ctx.print(`${JSON.stringify({ to_apply: steps, refusals: plan.refusals, warnings: plan.warnings }, null, 2)}\n`);
  } else if (plan.refusals.length > 0) {
    // migrate applies nothing while it refuses: say what, and what is pending behind it
    const refused = plan.refusals.map((r) => `  ${r.message}\n`).join('');
    const pending = steps.length === 0 ? '' : `\npending behind the refusal:\n${stepsTable(steps)}`;
    ctx.print(`migrate would refuse and apply nothing:\n${refused}${pending}`);
  } else if (steps.length === 0) {
    ctx.print('nothing to apply\n');
  } else {
    ctx.print(stepsTable(steps));
  }
  if (plan.refusals.length > 0) {
    throw new VerificationError(`migrate would refuse: ${plan.refusals.map((r) => r.message).join('; ')}.`, { refusals: plan.refusals });
  }
}

function stepsTable(steps: readonly { readonly id: string; readonly mode: string }[]): string {
  return table(
    ['#', 'id', 'mode'],
    steps.map((s, i) => [String(i + 1), s.id, s.mode]),
  );
}
