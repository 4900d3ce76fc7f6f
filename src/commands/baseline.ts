/**
 * `baseline <id>`: for a database created another way (by the application's ORM, a restore),
 * records every migration up to and including <id> as applied without running it. Ledger only,
 * under the migration lock; rows already present are left as they are.
 */
import { ConfigError } from '../errors.js';
import { discoverMigrations } from '../migrations/discover.js';
import { waitForDatabase } from '../db/connect.js';
import { ensureLedger, qualifiedName, readLedger } from '../db/ledger.js';
import { acquireLock, releaseLock } from '../db/lock.js';
import { ledgerJson } from '../report.js';
import { requireDatabase, type CommandContext } from './migrate.js';

export async function baseline(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const { config, log, stop } = ctx;
  const [target] = args;
  const files = discoverMigrations(config.migrationsDir);
  const upTo = files.findIndex((f) => f.id === target || f.fileName === target);
  if (target === undefined || upTo < 0) {
    throw new ConfigError(`Usage: xyn-migrate baseline <id>, where <id> is one of the files in ${config.migrationsDir} (e.g. ${files.at(-1)?.id}).`);
  }
  const baselined = files.slice(0, upTo + 1);
  const session = await waitForDatabase(requireDatabase(config), { deadlineMs: config.waitTimeoutMs, requireWritable: true, log, stop });
  try {
    await acquireLock(session, config.ledger, config.lockTimeoutMs, log, stop);
    try {
      await ensureLedger(session, config.ledger);
      const appliedBy = `${config.appliedBy} (baseline)`;
      await session.query(
        `INSERT INTO ${qualifiedName(config.ledger)} (id, checksum, applied_by)
         SELECT id, checksum, $3 FROM unnest($1::text[], $2::text[]) AS f(id, checksum)
         ON CONFLICT (id) DO NOTHING`,
        [baselined.map((f) => f.id), baselined.map((f) => f.checksum), appliedBy],
      );
      const rows = await readLedger(session, config.ledger);
      log.info({ upTo: baselined.at(-1)!.id, recorded: baselined.length, ledger: ledgerJson(rows) }, 'baseline recorded');
    } finally {
      await releaseLock(session, config.ledger).catch(() => undefined);
    }
  } finally {
    await session.close();
  }
}
