/**
 * src/engine/migrate.ts, the migrator, below the CLI on a real server: its result says what was
 * applied AND why it stopped, and it never throws midway.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MigrationError, VerificationError } from '../../src/errors.js';
import { migrate } from '../../src/engine/migrate.js';
import { openRun, type Run } from '../support/engine.js';
import { advisoryLocksIn, freshDatabase, ledgerIdsOf, type TestDatabase } from '../support/postgres.js';

const files = {
  '001_first.sql': 'CREATE TABLE first (id int);',
  '002_second.sql': `DO $$BEGIN IF to_regclass('poison') IS NOT NULL THEN RAISE EXCEPTION 'poisoned'; END IF; END$$;\nCREATE TABLE second (id int);`,
  '003_third.sql': 'CREATE TABLE third (id int);',
};

describe('the migrator', () => {
  let db: TestDatabase;
  let run: Run | undefined;
  beforeEach(async () => (db = await freshDatabase('engine')));
  afterEach(async () => {
    await run?.session.close();
    await db.drop();
  });

  it('applies the pending files in order and returns them with the ledger', async () => {
    run = await openRun(db, files);
    const result = await migrate(run.scope, run.files, run.config);
    assert.ok(result.ok);
    assert.deepEqual(
      result.applied.map((a) => a.id),
      ['001_first', '002_second', '003_third'],
    );
    assert.deepEqual(
      result.ledger.map((r) => r.id),
      await ledgerIdsOf(db),
    );
    const again = await migrate(run.scope, run.files, run.config);
    assert.deepEqual([again.ok, again.applied], [true, []], 'the steady state applies nothing');
  });

  it("a run scope with a tenant schema: created if missing, the files run there, the ledger is that schema's, the role's search_path untouched", async () => {
    run = await openRun(db, { '001_first.sql': files['001_first.sql'] });
    const tenant = { ...run.scope, ledger: { schema: 'acme', table: 'schema_migrations' }, schema: 'acme' };
    const result = await migrate(tenant, run.files, run.config);
    assert.ok(result.ok);
    assert.deepEqual(
      await db.query(`SELECT to_regclass('acme.first') IS NOT NULL AS tenant, to_regclass('public.first') IS NULL AS public_untouched`),
      [{ tenant: true, public_untouched: true }],
    );
    assert.deepEqual(await db.query('SELECT id FROM acme.schema_migrations'), [{ id: '001_first' }]);
    assert.deepEqual(await db.query(`SELECT to_regclass('public.schema_migrations') AS t`), [{ t: null }]);
  });

  it('a failure at the second file: not ok, the first listed as applied, the error names the second; the lock released, the third not run', async () => {
    await db.query('CREATE TABLE poison (id int)');
    run = await openRun(db, files);
    const result = await migrate(run.scope, run.files, run.config);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.applied.map((a) => a.id),
      ['001_first'],
    );
    assert.ok(!result.ok && result.error instanceof MigrationError);
    assert.equal(result.error.fields.migration, '002_second');
    assert.deepEqual(await ledgerIdsOf(db), ['001_first']);
    assert.equal(await advisoryLocksIn(db), 0);
  });

  it('a history it refuses (an applied file changed) applies nothing and is the error', async () => {
    run = await openRun(db, files);
    await db.query('CREATE TABLE poison (id int)');
    await migrate(run.scope, run.files, run.config);
    await run.session.close();
    run = await openRun(db, { ...files, '001_first.sql': 'CREATE TABLE first (id bigint);' });
    await db.query('DROP TABLE poison');
    const result = await migrate(run.scope, run.files, run.config);
    assert.equal(result.ok, false);
    assert.deepEqual(result.applied, []);
    assert.ok(!result.ok && result.error instanceof VerificationError);
    assert.match(result.error.message, /001_first\.sql changed after it was applied/);
    assert.deepEqual(await ledgerIdsOf(db), ['001_first']);
  });

  it('a required migration missing after the run is the error, with what was applied listed', async () => {
    run = await openRun(db, { '001_first.sql': files['001_first.sql'] }, { XYN_REQUIRED_MIGRATIONS: '001_first,009_absent' });
    const result = await migrate(run.scope, run.files, run.config);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.applied.map((a) => a.id),
      ['001_first'],
    );
    assert.ok(!result.ok && result.error instanceof VerificationError);
    assert.match(result.error.message, /009_absent/);
  });
});
