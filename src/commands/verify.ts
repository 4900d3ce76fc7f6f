/**
 * `verify`: the application's fail-fast-on-boot check. Read-only: every required migration is
 * applied, no applied file has changed, no applied id lacks its file. Exit 0 or 5.
 */
import type { CommandContext } from '../command-context.js';
import { inspect, verifyPlan } from '../engine/inspect.js';
import { onTheDatabase } from '../engine/open-session.js';

export async function verify(ctx: CommandContext): Promise<void> {
  const { plan } = await onTheDatabase(ctx, { writable: false }, (scope, files) => inspect(scope, files, ctx.config));
  verifyPlan(plan, ctx.log);
}
