/**
 * The blocking budget (XYN_MAX_BLOCKING): how long other sessions may wait on the locks a running
 * migration holds. XYN_DDL_LOCK_TIMEOUT bounds how long we wait for others; this bounds how long
 * they wait for us.
 *
 * A file that is still running after a fraction of the budget gets a watchdog: a second connection
 * to the same target that polls which sessions wait on the migration's backend (pg_blocking_pids,
 * followed down the queue: a session queued behind one that waits on us waits on us too) and
 * since when (pg_locks.waitstart). Once one has waited longer than the budget, it cancels the
 * running statement (pg_cancel_backend); the file fails with the reason. A file of milliseconds —
 * every file of the common case — costs a timer and nothing else.
 *
 * The migration's backend: on a direct session, the pid the server announced at login. Behind a
 * transaction pooler that pid is the pooler's, and the server session is known only inside the
 * file's transaction, which therefore sets its application_name (SET LOCAL) to a mark unique to
 * this runner; a cancel by mark can only reach that backend while it runs the file.
 */
import pg from 'pg';
import { MigrationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MigrationFile } from '../migrations/discover.js';
import { serverError, Session } from './session.js';

export interface BlockingContext {
  readonly session: Session;
  /** XYN_MAX_BLOCKING in milliseconds; 0 = off */
  readonly maxBlockingMs: number;
  readonly log: Logger;
}

/** What the watchdog saw of the sessions waiting on the migration. */
export interface Blocking {
  /** distinct sessions seen waiting on the migration's locks */
  readonly sessions: number;
  readonly longestWaitMs: number;
  /** when cancelled: the migration's table locks, e.g. "ACCESS EXCLUSIVE on public.orders" */
  readonly locks: readonly string[];
  /** a waiter waited for a row the migration had locked */
  readonly rowLocks: boolean;
  /** the migration itself was still waiting for a lock: the others queued behind its request */
  readonly waitingForLock: boolean;
}

/** The watchdog starts once a file has run this share of the budget (but not before MIN_START_MS). */
const START_FRACTION = 4;
const MIN_START_MS = 250;
/** Polls this many times per budget, within these bounds. */
const POLLS_PER_BUDGET = 5;
const MIN_POLL_MS = 100;
const MAX_POLL_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;
const OUR_APPLICATION = 'xyn-migrate';

/** The application_name of the backend running this runner's file. */
export const migrationMark = (session: Session): string => `${OUR_APPLICATION} ${session.token}`;

/**
 * Behind a pooler, the statement in the file's transaction that marks its backend until the
 * transaction ends. Nothing on a direct session (its pid is known) or when the budget is off.
 */
export function markBackendSql(ctx: BlockingContext): string {
  if (ctx.maxBlockingMs === 0 || !ctx.session.pooled) return '';
  return `SET LOCAL application_name = ${pg.escapeLiteral(migrationMark(ctx.session))};`;
}

/** The parameters that name the migration's backend in WAITERS_SQL and CANCEL_SQL: the mark, and the pid when direct. */
const backendOf = (session: Session): [string, number | null] => [migrationMark(session), session.pooled ? null : session.announcedPid];

/**
 * The sessions waiting, directly or down the lock queue, on the migration's backend ($1, $2), except the
 * job's own (other runners polling for the migration lock, an old runner blocked on the advisory
 * lock, this watchdog): one row per waiter, with how long it has waited.
 */
const WAITERS_SQL = `
WITH RECURSIVE waiting_locks AS MATERIALIZED (
  SELECT pid, locktype, waitstart FROM pg_locks WHERE NOT granted
), waiting AS (
  SELECT pid, pg_blocking_pids(pid) AS blockers, min(waitstart) AS waitstart FROM waiting_locks GROUP BY pid
), migration AS (
  SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR pid = $2::int
), behind(pid, since) AS (
  SELECT w.pid, w.waitstart FROM waiting w JOIN migration m ON m.pid = ANY (w.blockers)
  UNION
  -- down the chain, the wait we caused began when the chain started waiting on us: a session
  -- that waited 10 s on an app transaction before that one queued behind the migration waited ~0 s on us
  SELECT w.pid, greatest(w.waitstart, b.since) FROM waiting w JOIN behind b ON b.pid = ANY (w.blockers)
)
SELECT b.pid,
       coalesce(extract(epoch FROM clock_timestamp() - min(b.since)) * 1000, 0)::float8 AS waited_ms,
       bool_or(l.locktype IN ('transactionid', 'tuple')) AS row_lock,
       -- the tables it waits for: its waiting table lock, or the row it queues for (a tuple lock)
       ARRAY(SELECT DISTINCT r.relation::text FROM pg_locks r
              WHERE r.pid = b.pid AND r.relation IS NOT NULL AND (NOT r.granted OR r.locktype = 'tuple')) AS tables
  FROM behind b
  JOIN waiting_locks l USING (pid)
  JOIN pg_stat_activity a USING (pid)
 WHERE a.application_name NOT LIKE '${OUR_APPLICATION}%'
   AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
   AND NOT EXISTS (SELECT 1 FROM waiting_locks x WHERE x.pid = b.pid AND x.locktype = 'advisory')
 GROUP BY b.pid`;

/**
 * Cancels the statement of the migration's backend ($1, $2), reading first which of the tables $3 (those
 * the waiters wait for; all when empty) it holds or waits for, and in which modes. No row when
 * the file finished meanwhile, or its backend is not running a statement that blocks someone: nothing is cancelled then.
 */
const CANCEL_SQL = `
SELECT ARRAY(
         SELECT format('%s %s.%s%s', l.mode, n.nspname, c.relname, CASE WHEN l.granted THEN '' ELSE ' (waiting)' END)
           FROM pg_locks l
           JOIN pg_class c ON c.oid = l.relation
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND (c.oid = ANY ($3::oid[]) OR cardinality($3::oid[]) = 0) AND c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
       ) AS locks,
       EXISTS (SELECT 1 FROM pg_locks w WHERE w.pid = a.pid AND NOT w.granted) AS waiting,
       pg_cancel_backend(a.pid) AS cancelled
  FROM pg_stat_activity a
 WHERE (a.application_name = $1 OR a.pid = $2::int)
   -- only a statement running now that still blocks someone: an idle backend, or the next
   -- statement of the file that blocks no one, is not what the budget measured
   AND a.state = 'active'
   AND EXISTS (SELECT 1 FROM pg_locks w WHERE NOT w.granted AND a.pid = ANY (pg_blocking_pids(w.pid)))`;

/**
 * Watches one file while it runs. `around` runs the file's work and stops the watch when it ends;
 * `cancelled()` says whether the budget cancelled a statement of it, and why.
 */
export class BlockingWatch {
  private verdict: Blocking | undefined;
  /** the cancel in flight: its statement may fail before the watchdog has its answer */
  private cancelling: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly watching: Promise<void>;
  private readonly waiters = new Set<number>();
  /** the oids of the tables the waiters wait for */
  private readonly tables = new Set<string>();
  private longestWaitMs = 0;
  private rowLocks = false;

  private constructor(
    private readonly file: MigrationFile,
    private readonly ctx: BlockingContext,
  ) {
    this.watching = ctx.maxBlockingMs === 0 ? Promise.resolve() : this.watch();
  }

  static start(file: MigrationFile, ctx: BlockingContext): BlockingWatch {
    return new BlockingWatch(file, ctx);
  }

  async around<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } finally {
      await this.stop();
    }
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.watching;
    if (this.verdict || this.waiters.size === 0) return;
    // What the deploy cost the traffic, within the budget: an operator's measure.
    this.ctx.log.info(
      {
        file: this.file.fileName,
        sessionsWaited: this.waiters.size,
        longestWaitMs: Math.round(this.longestWaitMs),
        rowLocks: this.rowLocks,
        maxBlockingMs: this.ctx.maxBlockingMs,
      },
      'other sessions waited on the locks of this migration (within XYN_MAX_BLOCKING)',
    );
  }

  /** Waits `ms`, or less when the watch stops. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async watch(): Promise<void> {
    const budget = this.ctx.maxBlockingMs;
    await this.pause(Math.max(MIN_START_MS, budget / START_FRACTION));
    if (this.stopped) return;
    let watchdog: Session;
    try {
      watchdog = await Session.open(this.ctx.session.target, CONNECT_TIMEOUT_MS);
    } catch (error) {
      this.watchdogFailed('could not connect', error);
      return;
    }
    try {
      const interval = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, budget / POLLS_PER_BUDGET));
      while (!this.stopped) {
        if (this.noteWaiters(await watchdog.query(WAITERS_SQL, backendOf(this.ctx.session))) > budget) {
          if (!this.stopped) await (this.cancelling = this.cancel(watchdog));
          if (this.verdict) return; // else nothing was cancelled (the statement ended meanwhile): keep watching
        }
        await this.pause(interval);
      }
    } catch (error) {
      this.watchdogFailed('stopped', error);
    } finally {
      await watchdog.close();
    }
  }

  /** Records the waiters of one poll; returns the longest wait among them. */
  private noteWaiters(rows: readonly { pid: number; waited_ms: number; row_lock: boolean; tables: string[] }[]): number {
    let longest = 0;
    for (const row of rows) {
      this.waiters.add(row.pid);
      for (const table of row.tables) this.tables.add(table);
      this.rowLocks ||= row.row_lock;
      longest = Math.max(longest, row.waited_ms);
    }
    this.longestWaitMs = Math.max(this.longestWaitMs, longest);
    return longest;
  }

  /** Whether the watchdog cancelled the file's running statement, and why; call once that statement failed. */
  async cancelled(): Promise<Blocking | undefined> {
    await this.cancelling?.catch(() => undefined);
    return this.verdict;
  }

  private async cancel(watchdog: Session): Promise<void> {
    const [row] = await watchdog.query<{ locks: string[]; waiting: boolean; cancelled: boolean }>(CANCEL_SQL, [
      ...backendOf(this.ctx.session),
      [...this.tables],
    ]);
    if (!row?.cancelled) return;
    this.verdict = {
      sessions: this.waiters.size,
      longestWaitMs: this.longestWaitMs,
      locks: [...row.locks].sort((a, b) => lockStrength(b) - lockStrength(a)).map(lockInWords),
      rowLocks: this.rowLocks,
      waitingForLock: row.waiting,
    };
  }

  /** The watchdog's own trouble never fails the migration: it runs on unguarded, and says so. */
  private watchdogFailed(what: string, error: unknown): void {
    this.ctx.log.warn(
      {
        file: this.file.fileName,
        reason: serverError(error)?.message ?? (error instanceof Error ? error.message : String(error)),
        maxBlockingMs: this.ctx.maxBlockingMs,
      },
      `the blocking watchdog ${what}; this migration runs on without the XYN_MAX_BLOCKING guard`,
    );
  }
}

/** pg_locks' modes, weakest first. */
const MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];
const lockStrength = (lock: string): number => MODES.indexOf(lock.split(' ')[0] ?? '');

/** "AccessExclusiveLock public.t" → "ACCESS EXCLUSIVE on public.t", as LOCK TABLE names the mode. */
function lockInWords(lock: string): string {
  const [mode = '', ...rest] = lock.split(' ');
  const words = mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
  return `${words} on ${rest.join(' ')}`;
}

const secondsText = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The failure of a file the budget cancelled: where it was, what it held, who waited how long,
 * and what to do instead.
 */
export function blockingBudgetExceeded(
  file: MigrationFile,
  where: { line: number; column: number } | undefined,
  blocking: Blocking,
  maxBlockingMs: number,
  consequence: string,
): MigrationError {
  const place = where ? `${file.fileName}:${where.line}:${where.column}` : file.fileName;
  const held = [...blocking.locks, ...(blocking.rowLocks ? ['row locks'] : [])];
  const holding = held.length > 0 ? `holding ${held.join(', ')}` : 'holding locks';
  const s = blocking.sessions === 1 ? '' : 's';
  return new MigrationError(
    `Migration ${place} was cancelled by the blocking budget: ${holding}, it kept ${blocking.sessions} other session${s} waiting, the longest ${secondsText(blocking.longestWaitMs)}, past XYN_MAX_BLOCKING (${maxBlockingMs / 1000} s); ${consequence}; batch a backfill into small transactions, split a table rewrite into expand/contract steps, or run it when traffic allows with XYN_MAX_BLOCKING=0.`,
    {
      migration: file.id,
      migrationFile: file.fileName,
      migrationLine: where?.line,
      migrationColumn: where?.column,
      sqlstate: '57014',
      blockedSessions: blocking.sessions,
      longestWaitMs: Math.round(blocking.longestWaitMs),
      locks: held,
      maxBlockingMs,
      // like a lock_timeout: nothing ran yet, so the file is worth another attempt (XYN_DDL_RETRIES)
      waitingForLock: blocking.waitingForLock,
    },
  );
}
