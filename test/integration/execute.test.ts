/**
 * src/db/execute.ts: one file applied, on a real server, with fake migration locks — our own
 * seam (db/lock.ts's MigrationLock), never pg — to drive the guard and the turn-taking.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MigrationError } from '../../src/errors.js';
import { applyMigration, type ApplyContext } from '../../src/db/execute.js';
import { ensureLedger } from '../../src/db/ledger.js';
import { GUARD_CODES, type MigrationLock } from '../../src/db/lock.js';
import { openRun, type Run } from '../support/engine.js';
import { freshDatabase, ledgerIdsOf, type TestDatabase } from '../support/postgres.js';

/** A lock that holds nothing: its guard checks nothing, and it is never busy. */
const openLock = (scope: MigrationLock['scope']): MigrationLock => ({
  scope,
  around: (work) => work(),
  guardSql: () => '',
  waitForTurn: () => Promise.resolve('free'),
});

describe('applying one file', () => {
  let db: TestDatabase;
  let run: Run;
  const contextWith = (lock: MigrationLock): ApplyContext => ({
    session: run.session,
    lock,
    ledger: run.scope.ledger,
    schema: undefined,
    settings: run.config,
    log: run.scope.log,
    stop: run.scope.stop,
  });

  beforeEach(async () => {
    db = await freshDatabase('execute');
    run = await openRun(db, {
      '001_first.sql': 'CREATE TABLE first (id int);',
      '002_broken.sql': 'CREATE TABLE broken (id int);\nINSERT INTO broken VALUES (1);\nSELECT 1/0;\n',
    });
    await ensureLedger(run.session, run.scope.ledger);
  });
  afterEach(async () => {
    await run.session.close();
    await db.drop();
  });

  it('a transactional file and its ledger row commit together', async () => {
    const applied = await applyMigration(run.files[0]!, contextWith(openLock('session')));
    assert.equal(applied?.id, '001_first');
    assert.deepEqual(await ledgerIdsOf(db), ['001_first']);
    assert.deepEqual(await db.query(`SELECT to_regclass('first') IS NOT NULL AS t`), [{ t: true }]);
  });

  it('a failing file is located at file:line:column and rolled back, its ledger row with it', async () => {
    const error = await applyMigration(run.files[1]!, contextWith(openLock('session'))).then(
      () => assert.fail('the file should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof MigrationError);
    assert.equal(error.fields.migrationFile, '002_broken.sql');
    assert.deepEqual([error.fields.migrationLine, error.fields.sqlstate], [3, '22012']);
    assert.deepEqual(await ledgerIdsOf(db), []);
    assert.deepEqual(await db.query(`SELECT to_regclass('broken') AS t`), [{ t: null }]);
  });

  it('busy: the file waits for its turn with this same file, and is not applied again when the holder applied it (null)', async () => {
    const turns: string[] = [];
    const busyOnce: MigrationLock = {
      ...openLock('transaction'),
      guardSql: () =>
        turns.length === 0 ? `RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.lockBusy}', MESSAGE = 'the migration lock is busy';` : '',
      waitForTurn: async (fileId) => {
        turns.push(fileId);
        await db.query(`INSERT INTO schema_migrations (id) VALUES ($1)`, [fileId]); // the holder applies it meanwhile
        return 'applied';
      },
    };
    assert.equal(await applyMigration(run.files[0]!, contextWith(busyOnce)), null);
    assert.deepEqual(turns, ['001_first']);
    assert.deepEqual(await db.query(`SELECT to_regclass('first') AS t`), [{ t: null }], 'nothing of it ran here');
  });

  it('a file already in the ledger: skipped file by file (another runner applied it), an error with the lock held for the run', async () => {
    await db.query(`INSERT INTO schema_migrations (id) VALUES ('001_first')`);
    assert.equal(await applyMigration(run.files[0]!, contextWith(openLock('transaction'))), null);
    await assert.rejects(applyMigration(run.files[0]!, contextWith(openLock('session'))), /already in the ledger/);
    assert.deepEqual(await db.query(`SELECT to_regclass('first') AS t`), [{ t: null }]);
  });

  it('a no-transaction file is refused when the lock is taken file by file (behind a pooler), before it runs', async () => {
    const local = await openRun(db, { '003_index.sql': '-- xyn:no-transaction\nCREATE TABLE later (id int);\n' });
    try {
      await assert.rejects(
        applyMigration(local.files[0]!, { ...contextWith(openLock('transaction')), session: local.session }),
        /through a connection pooler/,
      );
      assert.deepEqual(await db.query(`SELECT to_regclass('later') AS t`), [{ t: null }]);
    } finally {
      await local.session.close();
    }
  });
});
