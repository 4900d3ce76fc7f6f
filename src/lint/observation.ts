/**
 * What a rule that reads one statement reports, and what it may consult while reading.
 */
import type { MigrationMode } from '../migrations/discover.js';
import type { LedgerName } from '../migrations/ledger-name.js';
import type { SchemaHistory } from './history.js';
import type { RuleId } from './rules.js';

/** A rule broken by a statement; `location` is a UTF-8 byte offset into the statement's text. */
export interface Observation {
  readonly rule: RuleId;
  readonly location: number | undefined;
  readonly message: string;
}

export interface StatementScope {
  readonly mode: MigrationMode;
  /** the file holds -- xyn:post-deploy: it runs after the rollout, when no old release is left */
  readonly postDeploy: boolean;
  readonly history: SchemaHistory;
  /** the file's migration id (its name without .sql) */
  readonly migrationId: string;
  /** the configured ledger */
  readonly ledger: LedgerName;
}

/** CONCURRENTLY refuses to run inside a transaction block; a file without the directive is one. */
export function concurrently(what: string, scope: StatementScope): Observation[] {
  if (scope.mode === 'no-transaction') return [];
  return [
    {
      rule: 'concurrently-in-transaction',
      location: undefined,
      message: `${what} in a file without -- xyn:no-transaction: it cannot run inside the file's transaction.`,
    },
  ];
}
