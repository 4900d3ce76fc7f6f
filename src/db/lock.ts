/**
 * The migration lock: an advisory lock keyed per ledger table (advisory locks are already per
 * database), taken one of two ways, chosen once per session by `migrationLockFor`:
 * - on a direct connection, a session-level lock held for the whole run (`sessionLock`);
 * - behind a connection pooler, where nothing may outlive a transaction, each transactional file
 *   takes the same key as a transaction-scoped lock inside its own transaction (the guard), and a
 *   runner that finds it busy waits for its turn (`transactionLock`).
 * The two interoperate: a session lock and another session's transaction lock on one key conflict.
 * Waiting polls between short statements and never sits inside one: a waiter blocked in
 * pg_advisory_lock() holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY would wait for
 * it for ever.
 */
import { createHash } from 'node:crypto';
import { LockTimeoutError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep, type Stop } from '../stop.js';
import { qualifiedName, type LedgerName } from './ledger.js';
import { onOurSessionSql, poolerDetected } from './pooler.js';
import type { Session } from './session.js';

/** SQLSTATEs the guard raises (the X class is free for applications). */
export const GUARD_CODES = { notOurSession: 'XM001', lockBusy: 'XM003' } as const;

/**
 * How one run holds the migration lock: the whole run inside `around` on a direct session, or
 * file by file behind a pooler. Everything that differs between the two is here.
 */
export interface MigrationLock {
  /** 'session': held from `around`'s start to its end; 'transaction': taken by each file's transaction */
  readonly scope: 'session' | 'transaction';
  /** runs `work` with the lock held (session) or with nothing held around it (transaction) */
  around<T>(work: () => Promise<T>): Promise<T>;
  /**
   * A PL/pgSQL statement run first in a file's transaction: that it runs on our server session,
   * which holds the lock (session), or that its transaction gets the lock, raising lockBusy when
   * another runner has it (transaction).
   */
  guardSql(): string;
  /** after lockBusy: waits until the lock is free or `fileId` was applied by the runner holding it */
  waitForTurn(fileId: string): Promise<'free' | 'applied'>;
}

export interface LockOptions {
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly stop: Stop;
}

/** The one place that decides between the two: a session reached through a pooler cannot hold a session lock. */
export function migrationLockFor(session: Session, ledger: LedgerName, options: LockOptions): MigrationLock {
  return session.pooled ? transactionLock(session, ledger, options) : sessionLock(session, ledger, options);
}

export function sessionLock(session: Session, ledger: LedgerName, { timeoutMs, log, stop }: LockOptions): MigrationLock {
  return {
    scope: 'session',
    async around(work) {
      await acquireLock(session, ledger, timeoutMs, log, stop);
      try {
        return await work();
      } finally {
        await releaseLock(session, ledger).catch(() => undefined);
      }
    },
    guardSql: () =>
      `IF NOT (${onOurSessionSql(session.token)}) THEN RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.notOurSession}', MESSAGE = 'not our server session'; END IF;`,
    // our own session holds the lock: a file never finds it busy
    waitForTurn: () => Promise.resolve('free'),
  };
}

export function transactionLock(session: Session, ledger: LedgerName, { timeoutMs, log, stop }: LockOptions): MigrationLock {
  return {
    scope: 'transaction',
    around: (work) => work(),
    guardSql: () =>
      `IF NOT pg_try_advisory_xact_lock(${lockKey(ledger)}) THEN RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.lockBusy}', MESSAGE = 'the migration lock is busy'; END IF;`,
    waitForTurn: (fileId) => waitForTurn(session, ledger, fileId, timeoutMs, log, stop),
  };
}

/** First 8 bytes of sha256("xyn-migrate:<schema>.<table>") as a signed bigint. */
export function lockKey(ledger: LedgerName): bigint {
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

async function acquireLock(session: Session, ledger: LedgerName, timeoutMs: number, log: Logger, stop: Stop): Promise<void> {
  const key = lockKey(ledger).toString();
  const wait = new LockWait(session, key, timeoutMs, log, stop, { reportAtOnce: true });
  for (;;) {
    // The lock is only taken on our own server session: behind a pooler that passes the server's
    // key through, this statement may run on a connection another client set up, and a session
    // lock there would belong to whoever gets that connection next.
    const [row] = await session.query<{ locked: boolean | null }>(
      `SELECT CASE WHEN ${onOurSessionSql(session.token)} THEN pg_try_advisory_lock($1::bigint) END AS locked`,
      [key],
    );
    if (row?.locked === null || row?.locked === undefined) throw poolerDetected();
    if (row.locked) {
      if (wait.attempts > 0) log.info({ waitedMs: wait.waitedMs }, 'migration lock acquired');
      return;
    }
    await wait.pause();
  }
}

/**
 * Behind a pooler: another runner's transaction holds the lock while it applies a file. Waits
 * (polling, outside any transaction) until the lock is free or `fileId` is in the ledger —
 * applied by that runner — whichever comes first; exit 4 after XYN_LOCK_TIMEOUT.
 */
async function waitForTurn(
  session: Session,
  ledger: LedgerName,
  fileId: string,
  timeoutMs: number,
  log: Logger,
  stop: Stop,
): Promise<'free' | 'applied'> {
  const key = lockKey(ledger).toString();
  // Runners take turns file by file here: a log line only when a turn is long in coming.
  const wait = new LockWait(session, key, timeoutMs, log, stop, { reportAtOnce: false });
  for (;;) {
    await wait.pause();
    // One statement, one implicit transaction: the lock taken here is released at once.
    const [row] = await session.query<{ applied: boolean; free: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${qualifiedName(ledger)} WHERE id = $1) AS applied, pg_try_advisory_xact_lock($2::bigint) AS free`,
      [fileId, key],
    );
    if (row?.applied) return 'applied';
    if (row?.free) return 'free';
  }
}

/** Waiting for the lock: pauses with backoff, a log line every few seconds, exit 4 naming the holder after XYN_LOCK_TIMEOUT. */
class LockWait {
  private readonly started = Date.now();
  private nextReport: number;
  attempts = 0;

  constructor(
    private readonly session: Session,
    private readonly key: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly stop: Stop,
    options: { readonly reportAtOnce: boolean },
  ) {
    this.nextReport = options.reportAtOnce ? this.started : this.started + REPORT_EVERY_MS;
  }

  get waitedMs(): number {
    return Date.now() - this.started;
  }

  async pause(): Promise<void> {
    this.attempts++;
    const waited = this.waitedMs;
    if (waited >= this.timeoutMs) {
      const holder = await lockHolder(this.session, this.key);
      throw new LockTimeoutError(
        `The migration lock was not acquired within ${this.timeoutMs / 1000}s (XYN_LOCK_TIMEOUT); ${describeHolder(holder)}.`,
        { holder },
      );
    }
    if (Date.now() >= this.nextReport) {
      this.log.info(
        { holder: await lockHolder(this.session, this.key), waitedMs: waited },
        'waiting for the migration lock held by another runner',
      );
      this.nextReport = Date.now() + REPORT_EVERY_MS;
    }
    await sleep(
      Math.min(50 * this.attempts, 500, Math.max(1, this.timeoutMs - waited)),
      this.stop,
      'stopped while waiting for the migration lock held by another runner; nothing was applied',
    );
  }
}

/**
 * Releases the lock. On a direct connection the first unlock succeeds. Behind a pooler that
 * passes the server's key through (noticed only mid-run) the lock sits on a pooled server session
 * that our statements reach only now and then: try a few times, so that it does not outlive us there.
 */
async function releaseLock(session: Session, ledger: LedgerName): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [row] = await session.query<{ released: boolean }>('SELECT pg_advisory_unlock($1::bigint) AS released', [
      lockKey(ledger).toString(),
    ]);
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
  // A runner holding the lock is busy applying files; a holder idle for long is an orphan (a
  // session lock left on a pooled server session, by an older version or another tool).
  if (holder.idle_for_s !== null && holder.idle_for_s > 5) {
    return `${held}, idle for ${holder.idle_for_s}s: no runner is using it (a lock left on a pooled server session, or a stuck client); end it with pg_terminate_backend(${holder.pid})`;
  }
  return `${held}; if that runner is stuck, end it with pg_terminate_backend(${holder.pid})`;
}
