/**
 * What every command is given, and the plumbing the commands share: where the database is, a
 * session to it, the files read while it connects, and the migration lock around a piece of work.
 */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { discoverMigrations, type MigrationFile } from '../migrations/discover.js';
import type { Progress } from '../progress.js';
import type { Stop } from '../stop.js';
import { waitForDatabase } from '../db/connect.js';
import { ensureLedger } from '../db/ledger.js';
import { acquireLock, releaseLock } from '../db/lock.js';
import type { Session } from '../db/session.js';
import type { ConnectionTarget } from '../target.js';

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
  readonly stop: Stop;
  /** writes results to stdout */
  readonly print: (text: string) => void;
  readonly stdoutIsTerminal: boolean;
  /** live progress on stderr when it is a terminal */
  readonly progress: () => Progress;
  /** one line on stderr, redrawn in place at a terminal; nothing elsewhere (the fleet's progress) */
  readonly progressLine: (text: string) => void;
}

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
export function openSession(
  ctx: CommandContext,
  options: { readonly writable: boolean; readonly target?: ConnectionTarget },
): Promise<Session> {
  const { config, log, stop } = ctx;
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
  ctx: CommandContext,
  options: { readonly writable: boolean },
): Promise<{ files: readonly MigrationFile[]; session: Session }> {
  const connecting = openSession(ctx, options);
  connecting.catch(() => undefined); // its failure is thrown by the await below, never left unhandled meanwhile
  let files: readonly MigrationFile[];
  try {
    await new Promise((resolve) => setImmediate(resolve));
    files = discoverMigrations(ctx.config.migrationsDir, { lazy: true });
  } catch (error) {
    void connecting.then(
      (session) => session.close(),
      () => undefined,
    );
    throw error;
  }
  return { files, session: await connecting };
}

/**
 * Lock → make sure the ledger exists → `work` → unlock, also when `work` fails. Behind a pooler
 * no lock outlives a transaction: `work` runs without the session lock, and each file takes the
 * lock inside its own transaction (execute.ts); creating the ledger tolerates concurrent runners.
 */
export async function withMigrationLock<T>(session: Session, ctx: CommandContext, work: () => Promise<T>): Promise<T> {
  const { config, log, stop } = ctx;
  if (session.pooled) {
    await ensureLedger(session, config.ledger);
    return work();
  }
  await acquireLock(session, config.ledger, config.lockTimeoutMs, log, stop);
  try {
    await ensureLedger(session, config.ledger);
    return await work();
  } finally {
    await releaseLock(session, config.ledger).catch(() => undefined);
  }
}
