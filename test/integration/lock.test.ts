/**
 * src/db/lock.ts: the two ways a run holds the migration lock, on a real server. Which of them a
 * session gets is decided by migrationLockFor alone.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ensureLedger } from '../../src/db/ledger.js';
import { GUARD_CODES, lockKey, migrationLockFor, transactionLock } from '../../src/db/lock.js';
import { serverError } from '../../src/db/session.js';
import { openRun, type Run } from '../support/engine.js';
import { advisoryLocksIn, freshDatabase, type TestDatabase } from '../support/postgres.js';

const KEY = lockKey({ schema: 'public', table: 'schema_migrations' }).toString();

describe('the migration lock', () => {
  let db: TestDatabase;
  let run: Run;
  beforeEach(async () => {
    db = await freshDatabase('lock');
    run = await openRun(db, {});
  });
  afterEach(async () => {
    await run.session.close();
    await db.drop();
  });

  const lockOf = (r: Run) => migrationLockFor(r.session, r.scope.ledger, { timeoutMs: 300, log: r.scope.log, stop: r.scope.stop });
  const guard = (sql: string) => `DO $g$BEGIN ${sql} END$g$`;

  it('a direct session gets the session lock: held for the whole of `around`, released after it, also when the work fails', async () => {
    const lock = lockOf(run);
    assert.equal(lock.scope, 'session');
    const inside = await lock.around(() => advisoryLocksIn(db));
    assert.equal(inside, 1);
    assert.equal(await advisoryLocksIn(db), 0);
    await assert.rejects(
      lock.around(() => Promise.reject(new Error('the work failed'))),
      /the work failed/,
    );
    assert.equal(await advisoryLocksIn(db), 0, 'released after a failure too');
  });

  it("the session lock's guard passes on our session and raises notOurSession on any other", async () => {
    const lock = lockOf(run);
    await run.session.query(guard(lock.guardSql()));
    const other = await db.query(guard(lock.guardSql())).then(
      () => undefined,
      (error: unknown) => error as { code?: string },
    );
    assert.equal(other?.code, GUARD_CODES.notOurSession);
  });

  it('the session lock, busy past its timeout, is exit 4 naming the holder', async () => {
    const holder = await db.client();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [KEY]);
      await assert.rejects(
        lockOf(run).around(() => Promise.resolve()),
        (error: Error & { exitCode?: number }) => {
          assert.equal(error.exitCode, 4);
          assert.match(error.message, /held by pid \d+/);
          return true;
        },
      );
    } finally {
      await holder.end();
    }
  });

  it("the per-transaction lock takes nothing around the run; its guard takes the lock for the file's transaction, raising lockBusy while another runner has it", async () => {
    const lock = transactionLock(run.session, run.scope.ledger, { timeoutMs: 5000, log: run.scope.log, stop: run.scope.stop });
    assert.equal(await lock.around(() => advisoryLocksIn(db)), 0);
    await run.session.script(`BEGIN; ${guard(lock.guardSql())}`);
    assert.equal(await advisoryLocksIn(db), 1, 'held by the open transaction');
    await run.session.query('COMMIT');
    assert.equal(await advisoryLocksIn(db), 0, 'gone with it');

    const holder = await db.client();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [KEY]);
      const busy = await run.session.query(guard(lock.guardSql())).then(
        () => undefined,
        (error: unknown) => serverError(error)?.code,
      );
      assert.equal(busy, GUARD_CODES.lockBusy);
    } finally {
      await holder.end();
    }
  });

  it("waitForTurn ends when the holder applied the file ('applied'), or when the lock is free ('free')", async () => {
    const lock = transactionLock(run.session, run.scope.ledger, { timeoutMs: 10_000, log: run.scope.log, stop: run.scope.stop });
    await ensureLedger(run.session, run.scope.ledger);
    const holder = await db.client();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [KEY]);
      const turn = lock.waitForTurn('001_a');
      await holder.query(`INSERT INTO schema_migrations (id) VALUES ('001_a')`);
      assert.equal(await turn, 'applied');
      const free = lock.waitForTurn('002_b');
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [KEY]);
      assert.equal(await free, 'free');
    } finally {
      await holder.end();
    }
  });
});
