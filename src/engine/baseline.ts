/**
 * Baseline: every migration up to one recorded as applied without running it (a database created
 * another way), under the migration lock; rows already present are left as they are.
 */
import type { Config } from '../config.js';
import type { MigrationFile } from '../migrations/discover.js';
import type { LedgerRow } from '../db/ledger.js';
import { ensureLedger, readLedger, recordBaseline } from '../db/ledger.js';
import { migrationLockFor } from '../db/lock.js';
import type { RunScope } from './run-scope.js';

export async function baseline(scope: RunScope, baselined: readonly MigrationFile[], config: Config): Promise<readonly LedgerRow[]> {
  const { session, ledger, log, stop } = scope;
  const lock = migrationLockFor(session, ledger, { timeoutMs: config.lockTimeoutMs, log, stop });
  return lock.around(async () => {
    await ensureLedger(session, ledger);
    await recordBaseline(session, ledger, baselined, `${config.appliedBy} (baseline)`);
    return readLedger(session, ledger);
  });
}
