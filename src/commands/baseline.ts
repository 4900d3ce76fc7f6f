/**
 * `baseline <id>`: for a database created another way (by the application's ORM, a restore),
 * records every migration up to and including <id> as applied without running it. Ledger only,
 * under the migration lock; rows already present are left as they are.
 */
import { ConfigError } from '../errors.js';
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { recordBaseline } from '../db/ledger.js';
import { openSession, withMigrationLock, type CommandContext } from './context.js';

export async function baseline(ctx: CommandContext, args: readonly string[]): Promise<void> {
  const { config, log } = ctx;
  const [target] = args;
  const files = discoverMigrations(config.migrationsDir);
  const upTo = files.indexOf(baselineTarget(files, target, config.migrationsDir));
  const baselined = files.slice(0, upTo + 1);
  const session = await openSession(ctx, { writable: true });
  try {
    await withMigrationLock(session, ctx, () => recordBaseline(session, config.ledger, baselined, `${config.appliedBy} (baseline)`));
    log.info(
      { upTo: baselined.at(-1)!.id, files: baselined.length },
      `baseline recorded: ${baselined.length} migrations up to ${baselined.at(-1)!.id} marked applied`,
    );
  } finally {
    await session.close();
  }
}

/** The file `<id>` names: its id, its file name, or its number alone (`003`, `3`) when one file has it. */
function baselineTarget(files: readonly MigrationFile[], target: string | undefined, dir: string): MigrationFile {
  const exact = files.find((f) => f.id === target || f.fileName === target);
  if (exact) return exact;
  if (target !== undefined && /^\d+$/.test(target)) {
    const numbered = files.find((f) => f.number === BigInt(target));
    if (numbered) return numbered;
  }
  const given = target === undefined ? '' : `${target} is not a migration of ${dir}; `;
  throw new ConfigError(
    `Usage: xyn-migrate baseline <id>: ${given}give a file's id or number (e.g. ${files.at(-1)?.id ?? '001_initial_schema'}).`,
  );
}
