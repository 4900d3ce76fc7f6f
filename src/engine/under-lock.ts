/**
 * Ledger-only work under the migration lock (baseline, and any command that edits the ledger
 * without applying files): the lock held as this session can hold it, the ledger made sure of.
 */
import type { Config } from '../config.js';
import { ensureLedger } from '../db/ledger.js';
import { migrationLockFor, type MigrationLock } from '../db/lock.js';
import type { RunScope } from './run-scope.js';

/** How `scope`'s session holds the migration lock (XYN_LOCK_TIMEOUT): decided by migrationLockFor alone. */
export function migrationLockOf(scope: RunScope, config: Config): MigrationLock {
  return migrationLockFor(scope.session, scope.ledger, { timeoutMs: config.lockTimeoutMs, log: scope.log, stop: scope.stop });
}

export function underMigrationLock<T>(
  scope: RunScope,
  config: Config,
  work: () => Promise<T>,
  lock: MigrationLock = migrationLockOf(scope, config),
): Promise<T> {
  const { session, ledger } = scope;
  return lock.around(async () => {
    await ensureLedger(session, ledger);
    return work();
  });
}
