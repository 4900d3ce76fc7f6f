/**
 * What a stranger meets in the field: a no-transaction file stopped midway, a signal while
 * waiting, a migration that would destroy the ledger, a statement that runs too long.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, ledgerIdsOf, waitFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli, startCli, untilLogged } from '../support/cli.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const base = { '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY, name text);' };
const env = (dir: string, more: Record<string, string> = {}) => ({ DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, ...more });
const sleeping = (seconds: number) => async () =>
  (
    await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2 AND pid <> pg_backend_pid()`, [
      db.name,
      `%pg_sleep(${seconds})%`,
    ])
  ).length > 0;

interface StatusDoc {
  migrations: { id: string; state: string; partial: { statements_run: number; statements: number } | null }[];
}

describe('a -- xyn:no-transaction file stopped midway', () => {
  const noTransaction = {
    ...base,
    '002_backfill.sql': [
      '-- xyn:no-transaction',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);',
      'CREATE TABLE IF NOT EXISTS step_two (id int);',
      'SELECT pg_sleep(30);',
      'CREATE TABLE IF NOT EXISTS step_four (id int);',
    ].join('\n'),
  };

  it('SIGTERM: exit 143 saying how many statements ran and stay; status shows it partial; the next run completes it', async () => {
    const dir = migrationsDir(noTransaction);
    const { child, result } = startCli([], env(dir));
    await waitFor('the sleeping statement', sleeping(30));
    child.kill('SIGTERM');
    const run = await result;
    assert.equal(run.code, 143, run.stderr);
    assert.match(run.lastMessage, /002_backfill\.sql was cancelled: 2 of 4 of its statements ran and stay applied/);
    assert.match(run.lastMessage, /the next run applies it again from the top/);
    assert.doesNotMatch(run.lastMessage, /rolled back/);
    assert.deepEqual(await ledgerIdsOf(db), ['001_initial_schema']);

    const status = await runCli(['status', '--json'], env(dir));
    assert.equal(status.code, 5);
    const entry = (JSON.parse(status.stdout) as StatusDoc).migrations.find((m) => m.id === '002_backfill');
    assert.deepEqual([entry?.state, entry?.partial], ['partial', { statements_run: 2, statements: 4 }]);
    const text = await runCli(['status'], env(dir, { XYN_LOG_FORMAT: 'json' }));
    assert.match(text.stdout, /partial \(2 of 4\)/);

    const completed = await runCli(
      [],
      env(
        migrationsDir({ ...noTransaction, '002_backfill.sql': noTransaction['002_backfill.sql'].replace('pg_sleep(30)', 'pg_sleep(0)') }),
        { XYN_ALLOW_DRIFT: 'true' },
      ),
    );
    assert.equal(completed.code, 0, completed.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_initial_schema', '002_backfill']);
    assert.deepEqual(await db.query(`SELECT to_regclass('step_four') IS NOT NULL AS done`), [{ done: true }]);
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM schema_migrations_partial'), [{ n: 0 }], 'the partial record is gone');
  });

  it('a failure midway: exit 1, status partial with the count, a fixed rerun completes it', async () => {
    const failing = {
      ...base,
      '002_two_steps.sql':
        '-- xyn:no-transaction\nCREATE TABLE IF NOT EXISTS first_step (id int);\nSELECT 1/0;\nCREATE TABLE IF NOT EXISTS third_step (id int);',
    };
    const dir = migrationsDir(failing);
    const run = await runCli([], env(dir));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /002_two_steps\.sql:3:1 failed: division by zero/);
    assert.match(run.lastMessage, /1 of 3 of its statements ran and stay applied/);
    const doc = JSON.parse((await runCli(['status', '--json'], env(dir))).stdout) as StatusDoc;
    assert.deepEqual(doc.migrations.find((m) => m.id === '002_two_steps')?.partial, { statements_run: 1, statements: 3 });
    const fixed = migrationsDir({ ...failing, '002_two_steps.sql': failing['002_two_steps.sql'].replace('SELECT 1/0;', 'SELECT 1;') });
    assert.equal((await runCli([], env(fixed))).code, 0);
    const after = JSON.parse((await runCli(['status', '--json'], env(fixed))).stdout) as StatusDoc;
    assert.deepEqual(
      after.migrations.map((m) => [m.state, m.partial]),
      [
        ['applied', null],
        ['applied', null],
      ],
    );
  });
});

describe('a signal while waiting says that nothing was applied', () => {
  it('SIGTERM while waiting for the migration lock held by another session', async () => {
    const dir = migrationsDir(base);
    assert.equal((await runCli([], env(dir))).code, 0);
    const holder = await db.client();
    const [{ key }] = (
      await holder.query(
        `SELECT ('x' || left(encode(sha256('xyn-migrate:public.schema_migrations'), 'hex'), 16))::bit(64)::bigint::text AS key`,
      )
    ).rows as [{ key: string }];
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    const { child, result } = startCli([], env(migrationsDir({ ...base, '002_more.sql': 'CREATE TABLE IF NOT EXISTS more (id int);' })));
    await untilLogged(child, 'waiting for the migration lock');
    child.kill('SIGTERM');
    const run = await result;
    assert.equal(run.code, 143, run.stderr);
    assert.match(run.lastMessage, /stopped while waiting for the migration lock held by another runner; nothing was applied/);
    assert.doesNotMatch(run.lastMessage, /rolled back/);
    assert.deepEqual(await ledgerIdsOf(db), ['001_initial_schema']);
  });

  it('SIGINT while waiting for PostgreSQL that is not there', async () => {
    const { child, result } = startCli([], {
      DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db',
      XYN_MIGRATIONS_DIR: migrationsDir(base),
      XYN_WAIT_TIMEOUT: '30',
    });
    await untilLogged(child, 'waiting for PostgreSQL');
    child.kill('SIGINT');
    const run = await result;
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.lastMessage, /Stopped by SIGINT: stopped while waiting for PostgreSQL; nothing was applied/);
  });
});

describe('the ledger is the program’s', () => {
  it('a pending file that drops the ledger is refused before anything runs: exit 2, file:line:column, XYN_LEDGER_TABLE', async () => {
    const dir = migrationsDir({
      ...base,
      '002_cleanup.sql':
        '-- xyn:no-transaction\nCREATE TABLE IF NOT EXISTS kept (id int);\n  DROP TABLE IF EXISTS legacy_versions, public.schema_migrations;',
    });
    const run = await runCli([], env(dir));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /002_cleanup\.sql:3:3: this statement would drop the ledger public\.schema_migrations/);
    assert.match(run.lastMessage, /XYN_LEDGER_TABLE/);
    assert.deepEqual(
      await db.query(`SELECT to_regclass('widgets') IS NULL AS untouched`),
      [{ untouched: true }],
      'nothing ran, not even 001',
    );
  });

  it('truncating or renaming the ledger is refused too; a table merely named like it is not', async () => {
    for (const statement of [
      'TRUNCATE schema_migrations;',
      'ALTER TABLE IF EXISTS "schema_migrations" RENAME TO old_ledger;',
      'DROP SCHEMA public CASCADE;',
    ]) {
      const run = await runCli(['plan'], env(migrationsDir({ ...base, '002_x.sql': statement })));
      assert.equal(run.code, 2, `${statement}: ${run.stderr}`);
    }
    const harmless = await runCli(
      [],
      env(migrationsDir({ ...base, '002_x.sql': 'CREATE TABLE schema_migrations_old (id int); DROP TABLE schema_migrations_old;' })),
    );
    assert.equal(harmless.code, 0, harmless.stderr);
  });

  it('a no-transaction file that removes the ledger through dynamic SQL is exit 1 naming the file, never 3', async () => {
    const dir = migrationsDir({
      ...base,
      '002_sneaky.sql': `-- xyn:no-transaction\nDO $$BEGIN EXECUTE 'DROP TABLE ' || 'schema_migrations'; END$$;`,
    });
    const run = await runCli([], env(dir));
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.lastMessage,
      /002_sneaky\.sql ran every statement, but afterwards the ledger "public"\."schema_migrations" no longer exists/,
    );
  });
});

describe('every timeout names its variable', () => {
  it('a statement that runs longer than XYN_STATEMENT_TIMEOUT: exit 1 naming the variable', async () => {
    const run = await runCli([], env(migrationsDir({ ...base, '002_slow.sql': 'SELECT pg_sleep(5);' }), { XYN_STATEMENT_TIMEOUT: '0.2' }));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /XYN_STATEMENT_TIMEOUT/);
  });
});
