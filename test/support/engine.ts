/**
 * The seam ring's setup: what the CLI would build for one run — a probed, writable session, the
 * configuration, the files and a run scope — built here directly, so that the engine, the lock
 * and execute are tested below the CLI, on a real server.
 */
import { loadConfig, type Config } from '../../src/config.js';
import { waitForDatabase } from '../../src/db/connect.js';
import type { Session } from '../../src/db/session.js';
import type { RunScope } from '../../src/engine/run-scope.js';
import { createLogger } from '../../src/log.js';
import { discoverMigrations, type MigrationFile } from '../../src/migrations/discover.js';
import { Stop } from '../../src/stop.js';
import { migrationsDir } from './cli.js';
import type { TestDatabase } from './postgres.js';

export interface Run {
  readonly session: Session;
  readonly config: Config;
  readonly files: readonly MigrationFile[];
  readonly scope: RunScope;
}

export async function openRun(db: TestDatabase, files: Record<string, string>, env: Record<string, string> = {}): Promise<Run> {
  const config = loadConfig(
    {},
    { DATABASE_URL: `${db.url}?sslmode=disable`, XYN_MIGRATIONS_DIR: migrationsDir(files), ...env },
    { stderr: false },
  );
  const log = createLogger('silent');
  const stop = new Stop();
  const session = await waitForDatabase(config.database!, { deadlineMs: 5000, requireWritable: true, log, stop });
  return {
    session,
    config,
    files: Object.keys(files).length === 0 ? [] : discoverMigrations(config.migrationsDir),
    scope: { session, ledger: config.ledger, schema: undefined, log, stop },
  };
}
