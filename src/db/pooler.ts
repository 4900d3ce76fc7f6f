/**
 * Transaction-pooling proxies (PgBouncer with pool_mode=transaction, and the like), in one place.
 * Behind such a proxy consecutive statements may reach different server sessions, so anything
 * that must outlive a statement (a session advisory lock, a session setting) is not ours to keep.
 *
 * How we notice: a writable session marks itself with the session variable xyn.session = its
 * token; a statement that finds another value runs on a server session that is not ours.
 */
import pg from 'pg';
import { ConfigError } from '../errors.js';

const SESSION_MARK = 'xyn.session';

/** An expression that marks the session as ours (parameter `$n` holds the token). */
export const markSessionSql = (parameter: string): string => `set_config('${SESSION_MARK}', ${parameter}, false)`;

/** An SQL condition, true on our own server session only. */
export const onOurSessionSql = (token: string): string => `current_setting('${SESSION_MARK}', true) IS NOT DISTINCT FROM ${pg.escapeLiteral(token)}`;

/** Our statements reached a server session that is not ours: a transaction-pooling proxy. */
export function poolerDetected(): ConfigError {
  return new ConfigError(
    'Refusing to migrate through a transaction-pooling connection pooler (such as PgBouncer with pool_mode=transaction): consecutive statements reached different server sessions, so the migration lock cannot be held; point DATABASE_URL at PostgreSQL directly (or at a session-pooling port) for migrations.',
  );
}
