/**
 * Rehearsal's two passes on a scratch database: every file in order, then each file a second
 * time, comparing a catalog snapshot after each second run with the one after the first pass.
 */
import type { Config } from '../config.js';
import { MigrationError } from '../errors.js';
import type { MigrationFile } from '../migrations/discover.js';
import { catalogSnapshot, compareSnapshots, type CatalogDifference } from '../db/catalog.js';
import { applyMigration, type ApplyContext } from '../db/execute.js';
import { ensureLedger } from '../db/ledger.js';
import { migrationLockFor } from '../db/lock.js';
import type { RunScope } from './run-scope.js';

/** Throws naming the first file whose second run failed or changed the schema. */
export async function rehearse(scope: RunScope, files: readonly MigrationFile[], config: Config): Promise<void> {
  const { session, ledger, schema, log, stop } = scope;
  // Nobody else migrates a scratch database: the lock is never waited for, only the guard's check runs.
  const lock = migrationLockFor(session, ledger, { timeoutMs: config.lockTimeoutMs, log, stop });
  const apply: ApplyContext = { session, lock, ledger, schema, settings: config, log, stop };
  await ensureLedger(session, ledger);
  for (const file of files) await applyMigration(file, apply);
  const afterFirstPass = await catalogSnapshot(session);
  for (const file of files) {
    try {
      await applyMigration(file, { ...apply, reapply: true });
    } catch (error) {
      if (error instanceof MigrationError) {
        throw new MigrationError(
          `Rehearsal: the second run of ${file.fileName} failed, so it is not idempotent: ${error.message}`,
          error.fields,
        );
      }
      throw error;
    }
    const difference = compareSnapshots(afterFirstPass, await catalogSnapshot(session));
    if (difference) {
      throw new MigrationError(
        `Rehearsal: the second run of ${file.fileName} changed the schema, so it is not idempotent: ${describe(difference)}.`,
        {
          migrationFile: file.fileName,
          added: difference.added,
          removed: difference.removed,
        },
      );
    }
  }
}

function describe(difference: CatalogDifference): string {
  const lines = [...difference.removed.map((l) => `before: ${l}`), ...difference.added.map((l) => `after: ${l}`)];
  return lines.slice(0, 6).join('; ') + (lines.length > 6 ? `; and ${lines.length - 6} more` : '');
}
