/**
 * What the read-only commands (status, plan, verify) share: files and ledger in, a Plan out.
 * They never need a writable server (a standby will do) and never create the ledger.
 */
import type { MigrationFile } from '../migrations/discover.js';
import { planMigrations, type Plan } from '../plan.js';
import type { Session } from '../db/session.js';
import { readLedger, readPartial } from '../db/ledger.js';
import { lastRun, type LastRun } from '../db/runs.js';
import { connectWhileReadingFiles, type CommandContext } from './context.js';

export interface Inspection {
  readonly plan: Plan;
  /** only when asked for (status) */
  readonly lastRun: LastRun | null;
}

/** `status` also wants the last recorded run and the files left partly applied: two more reads. */
export interface InspectOptions {
  readonly details?: boolean;
}

export async function inspect(ctx: CommandContext, options: InspectOptions = {}): Promise<Inspection> {
  const { files, session } = await connectWhileReadingFiles(ctx, { writable: false });
  try {
    return await inspectOn(session, ctx, files, options);
  } finally {
    await session.close();
  }
}

/** Files and ledger compared over an open session: also each target of a fleet. */
export async function inspectOn(
  session: Session,
  ctx: CommandContext,
  files: readonly MigrationFile[],
  options: InspectOptions = {},
): Promise<Inspection> {
  const { config } = ctx;
  const rows = await readLedger(session, config.ledger);
  if (!options.details) return { plan: planMigrations(files, rows, config), lastRun: null };
  const partial = await readPartial(session, config.ledger);
  return { plan: planMigrations(files, rows, config, partial), lastRun: await lastRun(session, config.searchPath) };
}
