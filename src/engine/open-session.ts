/**
 * A session to the configured database (or a target's), waited for until XYN_WAIT_TIMEOUT, and
 * the migration files read while it connects.
 */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import { waitForDatabase } from '../db/connect.js';
import type { Session } from '../db/session.js';
import type { ConnectionTarget } from '../target.js';
import type { Job } from './run-scope.js';

export function requireDatabase(config: Config): ConnectionTarget {
  if (config.database) return config.database;
  throw new ConfigError(
    'Invalid configuration: no database is configured; set DATABASE_URL (or DATABASE_URL_FILE, or PGHOST and PGDATABASE).',
    {
      variables: ['DATABASE_URL'],
    },
  );
}

/** A session to `target` (the configured database by default), waited for until XYN_WAIT_TIMEOUT. */
export function openSession(job: Job, options: { readonly writable: boolean; readonly target?: ConnectionTarget }): Promise<Session> {
  const { config, log, stop } = job;
  const target = options.target ?? requireDatabase(config);
  return waitForDatabase(target, { deadlineMs: config.waitTimeoutMs, requireWritable: options.writable, log, stop });
}

/**
 * The migration files and a session, the two inputs of every command that compares them. It
 * connects first and reads the files while the server starts the session: one turn of the event
 * loop sends the startup packet, then the server's work and ours overlap. A broken file still
 * fails at once (exit 2), and the connection being made is closed.
 */
export async function connectWhileReadingFiles(
  job: Job,
  options: { readonly writable: boolean },
): Promise<{ files: readonly MigrationFile[]; session: Session }> {
  const connecting = openSession(job, options);
  connecting.catch(() => undefined); // its failure is thrown by the await below, never left unhandled meanwhile
  let files: readonly MigrationFile[];
  try {
    await new Promise((resolve) => setImmediate(resolve));
    files = discoverMigrations(job.config.migrationsDir, { lazy: true });
  } catch (error) {
    void connecting.then(
      (session) => session.close(),
      () => undefined,
    );
    throw error;
  }
  return { files, session: await connecting };
}
