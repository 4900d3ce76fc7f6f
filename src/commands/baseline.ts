/**
 * `baseline <id>`: for a database created another way (by the application's ORM, a restore),
 * records every migration up to and including <id> as applied without running it. Ledger only,
 * under the migration lock; rows already present are left as they are.
 */
import { ConfigError } from '../errors.js';
import { discoverMigrations } from '../migrations/discover.js';
import { ledgerJson } from '../tables.js';
import type { CommandContext } from '../command-context.js';
import { readLedger, recordBaseline } from '../db/ledger.js';
import { underMigrationLock } from '../engine/under-lock.js';
import { openSession } from '../engine/open-session.js';
import { scopeOf } from '../engine/run-scope.js';

export async function baseline(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const { config, log } = ctx;
  const [target] = args;
  const files = discoverMigrations(config.migrationsDir);
  const upTo = files.findIndex((f) => f.id === target || f.fileName === target);
  if (target === undefined || upTo < 0) {
    throw new ConfigError(
      `Usage: xyn-migrate baseline <id>, where <id> is one of the files in ${config.migrationsDir} (e.g. ${files.at(-1)?.id}).`,
    );
  }
  const baselined = files.slice(0, upTo + 1);
  const session = await openSession(ctx, { writable: true });
  try {
    const rows = await underMigrationLock(scopeOf(session, ctx), config, async () => {
      await recordBaseline(session, config.ledger, baselined, `${config.appliedBy} (baseline)`);
      return readLedger(session, config.ledger);
    });
    log.info({ upTo: baselined.at(-1)!.id, recorded: baselined.length, ledger: ledgerJson(rows) }, 'baseline recorded');
  } finally {
    await session.close();
  }
}
