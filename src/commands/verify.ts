/**
 * `verify`: the application's fail-fast-on-boot check. Read-only: every required migration is
 * applied, no applied file has changed, no applied id lacks its file. Exit 0 or 5.
 */
import { VerificationError } from '../errors.js';
import { inspect } from './inspect.js';
import { warnAboutHistory } from './history.js';
import type { CommandContext } from './context.js';
import type { Irregularity, Plan } from '../plan.js';

/** `json`: `{"verified": true, "allowed": [kinds an override let pass], "ahead": [ids]}` on stdout once verified. */
export async function verify(ctx: CommandContext, json = false): Promise<void> {
  const { plan } = await inspect(ctx);
  const allowed = verifyPlan(plan, ctx);
  if (json) ctx.print(`${JSON.stringify({ verified: true, allowed, ahead: plan.ahead }, null, 2)}\n`);
}

/** Throws exit 5 naming every problem of what is applied; logs and returns the kinds it let pass. */
export function verifyPlan(plan: Plan, ctx: CommandContext): string[] {
  // A pending file, even out of order, is migrate's business; verify judges what is applied.
  const applied = (i: Irregularity) => i.kind !== 'out-of-order';
  const warnings = plan.warnings.filter(applied);
  warnAboutHistory({ ...plan, warnings }, ctx.log);
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
  ctx.log.info(fields, `verified: required migrations applied, ${clean}`);
  return allowed;
}
