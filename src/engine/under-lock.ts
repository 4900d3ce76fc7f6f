/**
 * Ledger-only work under the migration lock (baseline, and any command that edits the ledger
 * without applying files): the lock held as this session can hold it, the ledger made sure of.
 */
import type { Config } from '../config.js';
import { ensureLedger } from '../db/ledger.js';
import { migrationLockFor } from '../db/lock.js';
import type { RunScope } from './run-scope.js';

export function underMigrationLock<T>(scope: RunScope, config: Config, work: () => Promise<T>): Promise<T> {
  const { session, ledger, log, stop } = scope;
  const lock = migrationLockFor(session, ledger, { timeoutMs: config.lockTimeoutMs, log, stop });
  return lock.around(async () => {
    await ensureLedger(session, ledger);
    return work();
  });
}
