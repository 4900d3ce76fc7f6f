/**
 * Runs one migration file. A transactional file travels as ONE simple query, together with
 * BEGIN, its timeouts, its ledger row and COMMIT: one round trip, one atomic unit. A
 * `-- xyn:no-transaction` file runs statement by statement and records its row after the last.
 * Failures are located in the file (line:column) from the server's error position, or, for
 * runtime errors, from how many statements completed before the error.
 */
import { MigrationError } from '../errors.js';
import type { Logger } from '../log.js';
import { refuseUnderNonStandardStrings, type MigrationFile } from '../migrations/discover.js';
import { concurrentIndex, indexOfPosition, lex, lineColumn, withoutLiterals, type Statement } from '../migrations/sql.js';
import { sleep, type Stop } from '../stop.js';
import { backoff } from './backoff.js';
import pg from 'pg';
import { clearPartialSql, qualifiedName, tableIsAbsent, recordPartialSql, recordRowSql, type LedgerName } from './ledger.js';
import { GUARD_CODES, type MigrationLock } from './lock.js';
import { poolerDetected, sessionNeededBehindPooler } from './pooler.js';
import { ScriptFailure, serverError, sessionIsGone, type ServerError, type Session } from './session.js';
import { blockingBudgetExceeded, BlockingWatch, markBackendSql, type Blocking, type BlockingContext } from './blocking.js';

/** The settings of applying a file (XYN_APPLIED_BY, XYN_DDL_LOCK_TIMEOUT, XYN_DDL_RETRIES, XYN_STATEMENT_TIMEOUT, XYN_MAX_BLOCKING). */
export interface ApplySettings {
  readonly appliedBy: string;
  readonly ddlLockTimeoutMs: number;
  readonly ddlRetries: number;
  readonly statementTimeoutMs: number;
  /** XYN_MAX_BLOCKING: how long others may wait on the file's locks before it is cancelled; 0 = off */
  readonly maxBlockingMs: number;
}

export interface ApplyContext {
  readonly session: Session;
  /** how this session holds the migration lock, decided once for the run */
  readonly lock: MigrationLock;
  readonly ledger: LedgerName;
  /** a tenant schema the files run in (fleet); undefined = the role's own search_path */
  readonly schema: string | undefined;
  readonly settings: ApplySettings;
  readonly log: Logger;
  readonly stop: Stop;
  /** rehearse runs files a second time on purpose; migrate never applies an applied file */
  readonly reapply?: boolean;
  /** told each statement of a no-transaction file as it starts (for live progress) */
  readonly onStatement?: (text: string) => void;
}

export interface Applied {
  readonly id: string;
  readonly durationMs: number;
  readonly attempts: number;
}

/** What one applying pass did: the files applied in order, and the one that failed, if any. */
export interface ApplyOutcome {
  readonly applied: readonly Applied[];
  readonly failed?: { readonly file: MigrationFile; readonly error: unknown };
}

const LOCK_NOT_AVAILABLE = '55P03';
/** What a signal leaves of the run around the file it stopped. */
const EARLIER_STAY = 'migrations applied before it stay, the lock released';
/** statement_timeout; a cancel of ours (a signal) never gets this far */
const QUERY_CANCELED = '57014';

/**
 * Applies `file`. Returns null when, behind a pooler, another runner applied it first (its
 * turn came before ours): nothing was done here, and that is the normal case there.
 */
export async function applyMigration(file: MigrationFile, ctx: ApplyContext): Promise<Applied | null> {
  refuseUnderNonStandardStrings(file, ctx.session.standardConformingStrings);
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      if (file.mode === 'transaction') {
        if ((await applyInTurn(file, ctx)) === 'applied elsewhere') return null;
      } else await applyStatementByStatement(file, ctx);
      return { id: file.id, durationMs: Date.now() - started, attempts: attempt };
    } catch (error) {
      // A statement the blocking budget cancelled while it still waited for its lock is retried like one that hit lock_timeout.
      const gaveUpOnLock =
        error instanceof MigrationError && (error.fields.sqlstate === LOCK_NOT_AVAILABLE || error.fields.waitingForLock === true);
      if (!gaveUpOnLock || attempt > ctx.settings.ddlRetries) throw error;
      const delay = backoff(attempt);
      const budgetCancelled = error.fields.sqlstate !== LOCK_NOT_AVAILABLE;
      ctx.log.warn(
        {
          file: file.fileName,
          attempt,
          of: ctx.settings.ddlRetries + 1,
          retryInMs: delay,
          lockTimeoutMs: ctx.settings.ddlLockTimeoutMs,
          oldestTransactions: await oldestTransactions(ctx.session),
        },
        budgetCancelled
          ? 'a migration statement waiting for a table lock was cancelled: the sessions queued behind it waited longer than XYN_MAX_BLOCKING; retrying'
          : 'a migration statement gave up waiting for a table lock (XYN_DDL_LOCK_TIMEOUT) so as not to stall the queries queued behind it; retrying',
      );
      await sleep(
        delay,
        ctx.stop,
        `stopped while waiting to retry ${file.fileName}, which was rolled back and is not applied; ${EARLIER_STAY}`,
      );
    }
  }
}

/**
 * A transactional file, once the migration lock is ours for its transaction. On a direct
 * session we hold it already; behind a pooler the guard takes it inside the file's transaction,
 * and while another runner has it we wait for our turn — with this same file, never skipping
 * ahead, so the order holds — until the lock is free or the file is applied.
 */
async function applyInTurn(file: MigrationFile, ctx: ApplyContext): Promise<'applied' | 'applied elsewhere'> {
  for (;;) {
    const outcome = await applyInTransaction(file, ctx);
    if (outcome !== 'busy') return outcome;
    const turn = await ctx.lock.waitForTurn(file.id);
    if (turn === 'applied') return 'applied elsewhere';
  }
}

/**
 * The likely blockers of a lock we gave up on: the oldest open transactions in this database.
 * (The lock wait itself is over by now, so pg_blocking_pids() has nothing left to say.) Their
 * queries are logged with literals replaced ($1, $2…): another session's text may hold a secret.
 */
async function oldestTransactions(session: Session): Promise<unknown[]> {
  const rows = await session
    .query<{ query: string | null }>(
      `SELECT pid, application_name, state, round(extract(epoch FROM now() - xact_start)::numeric, 1)::float8 AS transaction_age_s, query
         FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
        ORDER BY xact_start LIMIT 3`,
    )
    .catch(() => []);
  return rows.map((row) => ({ ...row, query: row.query === null ? null : withoutLiterals(row.query).slice(0, 120) }));
}

const ALREADY_APPLIED = 'XM002';

/**
 * Checked inside a transactional file's own transaction, so that check and apply are one atomic
 * unit (a no-transaction file runs it just before its first statement), with no round trip of
 * its own: on a direct session, that the statement runs on our server session (which holds the
 * migration lock); behind a pooler, that this transaction gets the migration lock (polled, never
 * waited for inside the transaction: a blocked waiter holds a snapshot that a concurrent CREATE
 * INDEX CONCURRENTLY waits for); and that the file is not applied yet.
 */
function guardSql(file: MigrationFile, ctx: ApplyContext): string {
  const checks = [
    ctx.lock.guardSql(),
    ctx.reapply
      ? ''
      : `IF EXISTS (SELECT 1 FROM ${qualifiedName(ctx.ledger)} WHERE id = ${pg.escapeLiteral(file.id)}) THEN RAISE EXCEPTION USING ERRCODE = '${ALREADY_APPLIED}', MESSAGE = 'already applied'; END IF;`,
  ];
  return `DO $xyn_guard$BEGIN ${checks.join(' ')} END$xyn_guard$`;
}

/** What the blocking budget's watchdog needs of the run. */
const blockingOf = (ctx: ApplyContext): BlockingContext => ({
  session: ctx.session,
  log: ctx.log,
  maxBlockingMs: ctx.settings.maxBlockingMs,
});

/**
 * What a file runs with: its timeouts, and a tenant's schema as search_path. `SET LOCAL` inside
 * its transaction; `SET` for a no-transaction file, reset after it.
 */
function settingsSql(ctx: ApplyContext, set: 'SET LOCAL' | 'SET'): string {
  const searchPath = ctx.schema === undefined ? '' : `${set} search_path = ${pg.escapeIdentifier(ctx.schema)};`;
  return `${set} lock_timeout = ${ctx.settings.ddlLockTimeoutMs};${set} statement_timeout = ${ctx.settings.statementTimeoutMs};${searchPath}`;
}

async function applyInTransaction(file: MigrationFile, ctx: ApplyContext): Promise<'applied' | 'applied elsewhere' | 'busy'> {
  // SET LOCAL: a reused session never carries a tenant's search_path into the next one.
  const prefix = `BEGIN;${settingsSql(ctx, 'SET LOCAL')}${markBackendSql(blockingOf(ctx))}${guardSql(file, ctx)};\n`;
  const suffix = `\n;\n${recordRowSql(ctx.ledger, file, ctx.settings.appliedBy)};\nCOMMIT;`;
  const off = ctx.stop.onStop(() => void ctx.session.cancel());
  const watch = BlockingWatch.start(file, blockingOf(ctx));
  try {
    await watch.around(ctx.session.script([Buffer.from(prefix), file.executableBytes, Buffer.from(suffix)]));
    return 'applied';
  } catch (failure) {
    if (!(failure instanceof ScriptFailure)) throw failure;
    const db = serverError(failure.error);
    if (!db || sessionIsGone(db)) throw connectionLost(file, failure.error);
    await ctx.session.query('ROLLBACK').catch(() => undefined);
    ctx.stop.throwIfStopped(
      `the running migration ${file.fileName} was cancelled and rolled back, nothing of it is applied; ${EARLIER_STAY}`,
      {
        migration: file.id,
      },
    );
    if (db.code === GUARD_CODES.notOurSession) throw poolerDetected();
    if (db.code === GUARD_CODES.lockBusy) return 'busy';
    if (db.code === ALREADY_APPLIED) {
      // file by file, another runner's turn may come first; with the lock held for the run, nobody's may
      if (ctx.lock.scope === 'transaction') return 'applied elsewhere';
      throw alreadyApplied(file);
    }
    const where = locateInScript(file, db, failure.completed, prefix);
    throw migrationFailed(file, db, where, 'nothing of it was applied (rolled back)', ctx, await watch.cancelled());
  } finally {
    off();
  }
}

/**
 * Statement by statement, with session timeouts that are reset whatever happens. A file stopped
 * midway (failure or signal) is recorded as partly applied; its ledger row, written after the
 * last statement, clears that record in the same implicit transaction.
 */
async function applyStatementByStatement(file: MigrationFile, ctx: ApplyContext): Promise<void> {
  // migrate refuses such a file behind a pooler before applying anything; this is the backstop.
  if (ctx.lock.scope === 'transaction') throw sessionNeededBehindPooler(file.fileName);
  const started = Date.now();
  const off = ctx.stop.onStop(() => void ctx.session.cancel());
  const watch = BlockingWatch.start(file, blockingOf(ctx));
  let done = 0;
  try {
    await ctx.session.script(`${settingsSql(ctx, 'SET')}${guardSql(file, ctx)}`).catch((failure) => {
      const code = serverError(failure)?.code;
      ctx.stop.throwIfStopped(`stopped before ${file.fileName} ran any statement; ${EARLIER_STAY}`);
      if (code === GUARD_CODES.notOurSession) throw poolerDetected();
      if (code === ALREADY_APPLIED) throw alreadyApplied(file);
      throw failure instanceof ScriptFailure ? failure.error : failure;
    });
    await watch.around(
      (async () => {
        for (const statement of file.statements) {
          await runStatement(file, statement, ctx, done, watch);
          done++;
        }
      })(),
    );
    await recordCompleted(file, ctx, Date.now() - started);
  } catch (error) {
    if (done > 0 && !(error instanceof MigrationError && error.fields.connectionLost)) await recordPartial(file, ctx, done);
    throw error;
  } finally {
    off();
    await ctx.session.query('RESET lock_timeout; RESET statement_timeout; RESET search_path').catch(() => undefined);
  }
}

async function recordCompleted(file: MigrationFile, ctx: ApplyContext, durationMs: number): Promise<void> {
  try {
    await ctx.session.script(
      `${recordRowSql(ctx.ledger, file, ctx.settings.appliedBy, durationMs)};${clearPartialSql(ctx.ledger, file.id)}`,
    );
  } catch (failure) {
    const all = `all ${file.statements.length} statements of ${file.fileName} ran and stay applied, but its ledger row was not written (status shows it partial); the file is idempotent, so the next run applies it again and records it`;
    ctx.stop.throwIfStopped(all);
    const db = serverError(failure);
    if (!db || !tableIsAbsent(db)) throw failure;
    // The file itself removed the ledger (dynamic SQL the up-front check cannot see).
    throw new MigrationError(
      `${file.fileName} ran every statement, but afterwards the ledger ${qualifiedName(ctx.ledger)} no longer exists: the file dropped or renamed it (XYN_LEDGER_TABLE); restore the ledger before the next run, which would otherwise apply every migration again.`,
      { migration: file.id, migrationFile: file.fileName, sqlstate: db.code },
    );
  }
}

/** Best effort: the statements ran whether or not this record can be written. */
async function recordPartial(file: MigrationFile, ctx: ApplyContext, done: number): Promise<void> {
  await ctx.session.script(recordPartialSql(ctx.ledger, file.id, file.checksum, done, file.statements.length)).catch((failure) => {
    ctx.log.warn(
      { file: file.fileName, reason: serverError(failure)?.message ?? String(failure) },
      'could not record the file as partly applied',
    );
  });
}

/**
 * A failed CREATE INDEX CONCURRENTLY leaves an INVALID index, which IF NOT EXISTS would then keep
 * for ever: drop it (concurrently) before building again. It is looked for in its table's schema,
 * where PostgreSQL put it (`::name` truncates a long name as the server did).
 */
async function dropInvalidIndex(file: MigrationFile, statement: Statement, ctx: ApplyContext): Promise<void> {
  const built = concurrentIndex(statement);
  if (built === undefined) return;
  const [index] = await ctx.session.query<{ invalid: boolean; qualified: string }>(
    `SELECT NOT i.indisvalid AS invalid, format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1::name AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
    [built.relname, built.table],
  );
  if (!index?.invalid) return;
  ctx.log.warn(
    { file: file.fileName, index: index.qualified },
    'found an INVALID index left by an earlier failed concurrent build; dropping it before building it again',
  );
  await ctx.session.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index.qualified}`);
}

async function runStatement(
  file: MigrationFile,
  statement: Statement,
  ctx: ApplyContext,
  done: number,
  watch: BlockingWatch,
): Promise<void> {
  try {
    ctx.onStatement?.(statement.text);
    await dropInvalidIndex(file, statement, ctx);
    await ctx.session.query(statement.text);
  } catch (error) {
    const db = serverError(error);
    if (!db || sessionIsGone(db)) throw connectionLost(file, error);
    const invalidIndex = concurrentIndex(statement);
    const leftover = invalidIndex
      ? `; the interrupted build left the index ${invalidIndex.name} INVALID on ${invalidIndex.table}, and the next run drops and rebuilds it`
      : '';
    const ran = `${done} of ${file.statements.length} of its statements ran and stay applied (status shows the file partial)${leftover}; the file is idempotent, so the next run applies it again from the top and completes it`;
    ctx.log.error(
      { file: file.fileName, statementsRun: done, statements: file.statements.length },
      'a no-transaction migration stopped midway',
    );
    ctx.stop.throwIfStopped(`the running no-transaction migration ${file.fileName} was cancelled: ${ran}; the lock released`, {
      migration: file.id,
      statementsRun: done,
      statements: file.statements.length,
    });
    const offset = db.position ? indexOfPosition(statement.text, Number(db.position)) : 0;
    throw migrationFailed(file, db, lineColumn(file.text, statement.start + offset), ran, ctx, await watch.cancelled());
  }
}

type FileLocation = { line: number; column: number } | 'ledger';

/** Maps a failure of the one-query script back to the file. */
function locateInScript(file: MigrationFile, db: ServerError, completed: number, prefix: string): FileLocation {
  if (db.position) {
    const index = indexOfPosition(`${prefix}${file.executable}`, Number(db.position)) - prefix.length;
    if (index >= 0 && index < file.executable.length) return lineColumn(file.text, index);
  }
  // The statements the runner put before the file (BEGIN, the timeouts, the guard) completed first.
  const statementIndex = completed - lex(prefix).statements.length;
  const statement = lex(file.executable).statements[statementIndex];
  return statement ? lineColumn(file.text, statement.start) : 'ledger';
}

function migrationFailed(
  file: MigrationFile,
  db: ServerError,
  where: FileLocation,
  consequence: string,
  ctx: ApplyContext,
  cancelledForBlocking: Blocking | undefined,
): MigrationError {
  if (db.code === QUERY_CANCELED && cancelledForBlocking)
    return blockingBudgetExceeded(
      file,
      where === 'ledger' ? undefined : where,
      cancelledForBlocking,
      ctx.settings.maxBlockingMs,
      consequence,
    );
  const place =
    where === 'ledger' ? `${file.fileName} (while recording it in the ledger)` : `${file.fileName}:${where.line}:${where.column}`;
  const hint =
    db.code === '25001' ? 'this statement cannot run in a transaction: put "-- xyn:no-transaction" on the first line of the file' : db.hint;
  const parts = [`Migration ${place} failed: ${db.message} (SQLSTATE ${db.code})`];
  if (db.detail) parts.push(`detail: ${db.detail}`);
  if (hint) parts.push(`hint: ${hint}`);
  if (db.code === LOCK_NOT_AVAILABLE)
    parts.push('it gave up waiting for a table lock (XYN_DDL_LOCK_TIMEOUT) after XYN_DDL_RETRIES retries');
  if (db.code === QUERY_CANCELED) parts.push('it ran longer than XYN_STATEMENT_TIMEOUT allows one statement (0 = no limit)');
  return new MigrationError(`${parts.join('; ')}; ${consequence}.`, {
    migration: file.id,
    migrationFile: file.fileName,
    migrationLine: where === 'ledger' ? undefined : where.line,
    migrationColumn: where === 'ledger' ? undefined : where.column,
    sqlstate: db.code,
    serverMessage: db.message,
    detail: db.detail,
    hint,
    context: db.where,
  });
}

function alreadyApplied(file: MigrationFile): MigrationError {
  return new MigrationError(
    `${file.fileName} is already in the ledger although this runner holds the migration lock; another runner applied it without the lock. Nothing was applied twice; rerun to continue.`,
    {
      migration: file.id,
    },
  );
}

function connectionLost(file: MigrationFile, error: unknown): MigrationError {
  const reason = error instanceof Error ? error.message : String(error);
  const left =
    file.mode === 'transaction' ? 'its transaction was not committed' : 'statements it had already run stay, and the file is idempotent';
  return new MigrationError(
    `The connection to PostgreSQL was lost while applying ${file.fileName} (${reason}); ${left}, the lock went with the session, and a rerun continues from the ledger.`,
    { migration: file.id, migrationFile: file.fileName, connectionLost: true },
  );
}
