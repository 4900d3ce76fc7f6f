/**
 * What the read-only commands (status, plan, verify) share: files and ledger in, a Plan out.
 * They never need a writable server (a standby will do) and never create the ledger.
 */
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { planMigrations, type LedgerRow, type Plan } from '../plan.js';
import { waitForDatabase } from '../db/connect.js';
import { readLedger } from '../db/ledger.js';
import { lastRun, type LastRun } from '../db/runs.js';
import { requireDatabase, type CommandContext } from './migrate.js';

export interface Inspection {
  readonly files: readonly MigrationFile[];
  readonly rows: readonly LedgerRow[];
  readonly plan: Plan;
  /** only when asked for (status) */
  readonly lastRun: LastRun | null;
}

export async function inspect(ctx: CommandContext, options: { lastRun?: boolean } = {}): Promise<Inspection> {
  const { config, log, stop } = ctx;
  const files = discoverMigrations(config.migrationsDir, { lazy: true });
  const session = await waitForDatabase(requireDatabase(config), { deadlineMs: config.waitTimeoutMs, requireWritable: false, log, stop });
  try {
    const rows = await readLedger(session, config.ledger);
    const last = options.lastRun ? await lastRun(session) : null;
    return { files, rows, plan: planMigrations(files, rows, config), lastRun: last };
  } finally {
    await session.close();
  }
}
