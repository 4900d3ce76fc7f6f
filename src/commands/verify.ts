/**
 * `verify`: the application's fail-fast-on-boot check. Read-only: every required migration is
 * applied, no applied file has changed, no applied id lacks its file. Exit 0 or 5.
 */
import type { CommandContext } from '../command-context.js';
import { inspectDatabase, verifyPlan } from '../engine/inspect.js';

/** `json`: `{"verified": true, "allowed": [kinds an override let pass], "ahead": [ids]}` on stdout once verified. */
export async function verify(ctx: CommandContext, json = false): Promise<void> {
  const { plan } = await inspectDatabase(ctx);
  const allowed = verifyPlan(plan, ctx.log);
  if (json) ctx.print(`${JSON.stringify({ verified: true, allowed, ahead: plan.ahead }, null, 2)}\n`);
}
