/**
 * What the read-only commands (status, plan, verify) share: files and ledger in, a Plan out.
 * They never need a writable server (a standby will do) and never create the ledger.
 */
import { planMigrations, type Plan } from '../plan.js';
import { readLedger } from '../db/ledger.js';
import { lastRun, type LastRun } from '../db/runs.js';
import { connectWhileReadingFiles, type CommandContext } from './context.js';

export interface Inspection {
  readonly plan: Plan;
  /** only when asked for (status) */
  readonly lastRun: LastRun | null;
}

export async function inspect(ctx: CommandContext, options: { lastRun?: boolean } = {}): Promise<Inspection> {
  const { config } = ctx;
  const { files, session } = await connectWhileReadingFiles(ctx, { writable: false });
  try {
    const rows = await readLedger(session, config.ledger);
    const last = options.lastRun ? await lastRun(session) : null;
    return { plan: planMigrations(files, rows, config), lastRun: last };
  } finally {
    await session.close();
  }
}
