/**
 * `verify`: the application's fail-fast-on-boot check. Read-only: every required migration is
 * applied, no applied file has changed, no applied id lacks its file. Exit 0 or 5.
 */
import type { CommandContext } from '../command-context.js';
import { inspectDatabase, verifyPlan } from '../engine/inspect.js';

export async function verify(ctx: CommandContext): Promise<void> {
  const { plan } = await inspectDatabase(ctx);
  verifyPlan(plan, ctx.log);
}
