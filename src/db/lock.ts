/**
 * The migration lock: a session-level advisory lock, keyed per ledger table (advisory locks are
 * already per database). Waiting polls pg_try_advisory_lock between short statements and never
 * sits inside one: a waiter blocked in pg_advisory_lock() holds a snapshot, and the holder's
 * CREATE INDEX CONCURRENTLY would wait for it for ever.
 */
import { createHash } from 'node:crypto';
import { LockTimeoutError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep, type Stop } from '../stop.js';
import type { LedgerName } from './ledger.js';
import { onOurSessionSql, poolerDetected } from './pooler.js';
import type { Session } from './session.js';

/** First 8 bytes of sha256("xyn-migrate:<schema>.<table>") as a signed bigint. */
function lockKey(ledger: LedgerName): bigint {
  const digest = createHash('sha256').update(`xyn-migrate:${ledger.schema}.${ledger.table}`).digest();
  return digest.readBigInt64BE(0);
}

export interface LockHolder {
  readonly pid: number;
  readonly application_name: string;
  readonly connected_for_s: number;
  /** how long the holder's session has been idle, when it is */
  readonly idle_for_s: number | null;
}

const REPORT_EVERY_MS = 5000;

export async function acquireLock(session: Session, ledger: LedgerName, timeoutMs: number, log: Logger, stop: Stop): Promise<void> {
  const key = lockKey(ledger).toString();
  const started = Date.now();
  let nextReport = started;
  for (let attempt = 1; ; attempt++) {
    // The lock is only taken on our own server session: behind a transaction pooler this
    // statement may run on a connection another client set up, and a session lock there would
    // belong to whoever gets that connection next.
    const [row] = await session.query<{ locked: boolean | null }>(
      `SELECT CASE WHEN ${onOurSessionSql(session.token)} THEN pg_try_advisory_lock($1::bigint) END AS locked`,
      [key],
    );
    if (row?.locked === null || row?.locked === undefined) throw poolerDetected();
    if (row.locked) {
      if (attempt > 1) log.info({ waitedMs: Date.now() - started }, 'migration lock acquired');
      return;
    }
    const now = Date.now();
    if (now - started >= timeoutMs) {
      const holder = await lockHolder(session, key);
      throw new LockTimeoutError(
        `The migration lock was not acquired within ${timeoutMs / 1000}s (XYN_LOCK_TIMEOUT); ${describeHolder(holder)}.`,
        { holder },
      );
    }
    if (now >= nextReport) {
      log.info({ holder: await lockHolder(session, key), waitedMs: now - started }, 'waiting for the migration lock held by another runner');
      nextReport = now + REPORT_EVERY_MS;
    }
    await sleep(Math.min(50 * attempt, 500, Math.max(1, timeoutMs - (now - started))), stop, 'stopped while waiting for the migration lock held by another runner; nothing was applied');
  }
}

/**
 * Releases the lock. On a direct connection the first unlock succeeds. Behind a transaction
 * pooler (detected mid-run) the lock sits on a pooled server session that our statements reach
 * only now and then: try a few times, so that it does not outlive us there.
 */
export async function releaseLock(session: Session, ledger: LedgerName): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [row] = await session.query<{ released: boolean }>('SELECT pg_advisory_unlock($1::bigint) AS released', [lockKey(ledger).toString()]);
    if (row?.released) return;
  }
}

async function lockHolder(session: Session, key: string): Promise<LockHolder | undefined> {
  const [holder] = await session.query<LockHolder>(
    `SELECT a.pid, a.application_name, round(extract(epoch FROM now() - a.backend_start)::numeric, 1)::float8 AS connected_for_s,
            CASE WHEN a.state = 'idle' THEN round(extract(epoch FROM now() - a.state_change)::numeric, 1)::float8 END AS idle_for_s
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
      LIMIT 1`,
    [key],
  );
  return holder;
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'its holder has just released it; run again';
  const held = `it is held by pid ${holder.pid} (${holder.application_name || 'no application_name'}, connected ${holder.connected_for_s}s ago)`;
  // A runner holding the lock is busy applying files; a holder idle for long is an orphan, as a
  // transaction-pooling connection pooler leaves behind.
  if (holder.idle_for_s !== null && holder.idle_for_s > 5) {
    return `${held}, idle for ${holder.idle_for_s}s: no runner is using it — if DATABASE_URL goes through a transaction-pooling connection pooler (such as PgBouncer), point it at PostgreSQL directly; otherwise end it with pg_terminate_backend(${holder.pid})`;
  }
  return `${held}; if that runner is stuck, end it with pg_terminate_backend(${holder.pid})`;
}
