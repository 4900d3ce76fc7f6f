/**
 * Connection poolers (PgBouncer, Supavisor, pgcat, RDS Proxy and the like), in one place.
 *
 * How we notice one, deterministically and without a round trip of its own: the writability
 * probe at connect returns pg_backend_pid(), which a direct connection also announced in
 * BackendKeyData; a pooler hands the client a key of its own making, so the two differ.
 *
 * Behind a pooler consecutive transactions may reach different server sessions, so nothing of
 * ours may outlive a transaction there: no session advisory lock, no session setting. Each
 * transactional file then takes a transaction-scoped lock inside its own transaction instead.
 * As a second line of defence on direct sessions, a writable session also marks itself with the
 * session variable xyn.session = its token; a statement that finds another value runs on a
 * server session that is not ours.
 */
import pg from 'pg';
import { ConfigError } from '../errors.js';
import type { Session } from './session.js';

const SESSION_MARK = 'xyn.session';

/**
 * An expression that marks the session as ours (parameter `token` holds the token), only when
 * `direct` (an SQL condition) holds: never on a pooled server session, where it would stay behind.
 */
export const markSessionSql = (token: string, direct: string): string =>
  `CASE WHEN ${direct} THEN set_config('${SESSION_MARK}', ${token}, false) END`;

/** An SQL condition, true on our own server session only. */
export const onOurSessionSql = (token: string): string =>
  `current_setting('${SESSION_MARK}', true) IS NOT DISTINCT FROM ${pg.escapeLiteral(token)}`;

/**
 * Our statements reached a server session that is not ours, although the connection looked
 * direct: a pooler that passes the server's own key through. Nothing session-level can be held.
 */
export function poolerDetected(): ConfigError {
  return new ConfigError(
    "Refusing to continue: consecutive statements reached different server sessions although the connection looked direct (a connection pooler passing the server's key through), so the migration lock cannot be held; point DATABASE_URL at PostgreSQL directly, or at the pooler's transaction-pooling port.",
  );
}

/** A pending no-transaction file needs one server session from start to end, which a pooler does not promise. */
export function sessionNeededBehindPooler(fileName: string): ConfigError {
  return new ConfigError(
    `Refusing to apply ${fileName} (-- xyn:no-transaction) through a connection pooler (DATABASE_URL reaches PostgreSQL through a pooler such as PgBouncer): its statements need one server session from start to end, which a pooler does not promise; nothing was applied. Run this migrate once with DATABASE_URL pointing at PostgreSQL directly; afterwards the pooled URL works again.`,
    { migrationFile: fileName },
  );
}

/** A statement-pooling proxy cannot run a transaction block at all. */
function statementPoolingRefused(reason: string): ConfigError {
  return new ConfigError(
    `Refusing to migrate through a statement-pooling connection pooler (such as PgBouncer with pool_mode=statement): it does not allow transaction blocks (${reason}), and every migration is one; point DATABASE_URL at PostgreSQL directly or at a transaction- or session-pooling port.`,
  );
}

/** PgBouncer's words for a transaction block in statement-pooling mode. */
function isStatementPoolingRefusal(error: unknown): boolean {
  return error instanceof Error && /statement pooling/i.test(error.message);
}

/**
 * Behind a pooler, before anything is applied: a transaction block, opened and rolled back.
 * Statement pooling refuses it (PgBouncer closes the connection); anything else allows it.
 */
export async function refuseStatementPooling(session: Session): Promise<void> {
  try {
    await session.query('BEGIN');
    await session.query('ROLLBACK');
  } catch (error) {
    if (isStatementPoolingRefusal(error)) throw statementPoolingRefused((error as Error).message);
    throw error;
  }
}

/**
 * Clears all a migration may have left in the session (SET ROLE, SET x without LOCAL, temporary
 * tables, prepared statements, cursors, LISTEN, sequences' cached values, advisory locks), so
 * that the next fleet target on this session starts as on a new one: a temporary table of one
 * tenant must not be read by the next. The migration lock is released before (withMigrationLock),
 * and the session is marked ours again after.
 */
export async function resetSession(session: Session): Promise<void> {
  // Only a probed, direct session runs files (migrate's): a read-only one has nothing of a file's
  // to clear, and may be a pooled server session (never probed) where neither a reset nor our mark belongs.
  if (!session.direct) return;
  // Alone: DISCARD ALL refuses to run inside a transaction block, and a multi-statement query is one.
  await session.script('DISCARD ALL');
  await session.script(`SELECT ${markSessionSql(pg.escapeLiteral(session.token), 'true')}`);
}
