import assert from 'node:assert/strict';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { lockKey } from '../../src/db/lock.js';
import { freshDatabase, ledgerIdsOf, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli, startCli, untilLogged } from '../support/cli.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

/** The shipped migrations 000–005 (which make the engine's runs/steps tables) plus 006. */
function coreWithGadgets(): string {
  const dir = migrationsDir({ '006_gadgets.sql': 'CREATE TABLE IF NOT EXISTS gadgets (id int);\n' });
  for (const name of readdirSync('migrations').filter((n) => n.endsWith('.sql'))) copyFileSync(join('migrations', name), join(dir, name));
  return dir;
}

const env = (dir: string, more: Record<string, string> = {}) => ({
  DATABASE_URL: db.url,
  XYN_MIGRATIONS_DIR: dir,
  XYN_APPLIED_BY: 'alice',
  HOSTNAME: 'laptop-7',
  ...more,
});
const remove006 = ['repair', '--remove', '006_gadgets', '--reason', 'applied to prod by mistake'];
const gadgetsTable = async () => (await db.query(`SELECT to_regclass('gadgets')::text AS t`))[0]!.t as string | null;

describe('repair', () => {
  it('without --yes: exit 2 saying what it would do, and the ledger is unchanged', async () => {
    const dir = coreWithGadgets();
    assert.equal((await runCli([], env(dir))).code, 0);
    const run = await runCli(remove006, env(dir));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /repair would remove the row 006_gadgets from the ledger public\.schema_migrations/);
    assert.match(run.lastMessage, /Add --yes to do it/);
    assert.ok((await ledgerIdsOf(db)).includes('006_gadgets'));
  });

  it('without --reason: exit 2 asking for it, even with --yes', async () => {
    const run = await runCli(['repair', '--remove', '006_gadgets', '--yes'], env(migrationsDir({ '001_a.sql': 'SELECT 1;' })));
    assert.equal(run.code, 2);
    assert.match(run.lastMessage, /--reason/);
  });

  it('--yes on another command is exit 2 naming the command it belongs to', async () => {
    const run = await runCli(['migrate', '--yes'], env(migrationsDir({ '001_a.sql': 'SELECT 1;' })));
    assert.equal(run.code, 2);
    assert.match(run.lastMessage, /--yes belongs to repair, not to migrate/);
  });

  it('with --yes: the row goes, the schema stays, who and why are in the run history and the log; migrate then applies the file again', async () => {
    const dir = coreWithGadgets();
    assert.equal((await runCli([], env(dir))).code, 0);
    const run = await runCli([...remove006, '--yes', '--json'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as { removed: { id: string } | null; reason: string; by: string; run_id: string | null };
    assert.equal(printed.removed?.id, '006_gadgets');
    assert.deepEqual([printed.reason, printed.by], ['applied to prod by mistake', 'alice']);

    assert.ok(!(await ledgerIdsOf(db)).includes('006_gadgets'));
    assert.equal(await gadgetsTable(), 'gadgets', 'the schema is never touched');
    const warning = run.logs.find((l) => /^repair: removed the ledger row 006_gadgets/.test(String(l.msg)));
    assert.equal(warning?.level, 40);
    assert.match(String(warning?.msg), /the schema is untouched/);
    assert.equal(warning?.reason, 'applied to prod by mistake');
    assert.equal(warning?.by, 'alice');

    const runs = await db.query<{
      id: string;
      status: string;
      inputs: Record<string, string>;
      outputs: { removed: { id: string } | null };
    }>(
      `SELECT id::text, status, inputs, outputs FROM runs WHERE blueprint_id = 'core.migrations.apply@v1' AND inputs->>'action' = 'repair'`,
    );
    assert.equal(runs.length, 1);
    const [recorded] = runs;
    assert.equal(printed.run_id, recorded!.id);
    assert.equal(recorded!.status, 'completed');
    assert.equal(recorded!.inputs.remove, '006_gadgets');
    assert.equal(recorded!.inputs.reason, 'applied to prod by mistake');
    assert.equal(recorded!.inputs.applied_by, 'alice');
    assert.equal(recorded!.inputs.host, 'laptop-7');
    assert.equal(recorded!.outputs.removed?.id, '006_gadgets');
    const steps = await db.query<{ idx: number; name: string; status: string }>(`SELECT idx, name, status FROM steps WHERE run_id = $1`, [
      recorded!.id,
    ]);
    assert.deepEqual(
      steps.map((s) => [s.idx, s.name, s.status]),
      [[0, 'remove 006_gadgets', 'completed']],
    );

    const again = await runCli([], env(dir));
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await ledgerIdsOf(db)).includes('006_gadgets'), 'migrate applied the file again');
  });

  it('an id not in the ledger: exit 5 naming it, nothing removed, nothing recorded', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (id int);' });
    assert.equal((await runCli([], env(dir))).code, 0);
    const run = await runCli(['repair', '--remove', '002_typo', '--reason', 'x', '--yes'], env(dir));
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.lastMessage, /002_typo is not in the ledger public\.schema_migrations.*its newest ids are 001_a/);
    assert.deepEqual(await ledgerIdsOf(db), ['001_a']);
  });

  it('a database without a ledger: exit 5, and no ledger is created', async () => {
    const run = await runCli([...remove006, '--yes'], env(migrationsDir({ '001_a.sql': 'SELECT 1;' })));
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.lastMessage, /the ledger is empty/);
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null);
  });

  it('clears a partial-run record: the file is pending again, not partial', async () => {
    const dir = migrationsDir({
      '001_a.sql': 'CREATE TABLE IF NOT EXISTS a (id int);',
      '002_b.sql': '-- xyn:no-transaction\nCREATE TABLE IF NOT EXISTS b (id int);\nCREATE TABLE IF NOT EXISTS c (id int);',
    });
    assert.equal((await runCli([], env(dir, { XYN_REQUIRED_MIGRATIONS: '001_a' }))).code, 0);
    await db.query(`DELETE FROM schema_migrations WHERE id = '002_b'`);
    await db.query(`CREATE TABLE schema_migrations_partial (id text PRIMARY KEY, statements_run integer NOT NULL, statements integer NOT NULL,
                      checksum text, stopped_at timestamptz NOT NULL DEFAULT now());
                    INSERT INTO schema_migrations_partial (id, statements_run, statements) VALUES ('002_b', 1, 2)`);
    const state = async () =>
      (
        JSON.parse((await runCli(['status', '--json'], env(dir))).stdout) as { migrations: { id: string; state: string }[] }
      ).migrations.find((m) => m.id === '002_b')?.state;
    assert.equal(await state(), 'partial');
    const run = await runCli(['repair', '--remove', '002_b.sql', '--reason', 'gave up on it', '--yes'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.lastMessage, /removed the partial-run record of 002_b/);
    assert.equal(await state(), 'pending');
    assert.deepEqual(await db.query(`SELECT id FROM schema_migrations_partial`), []);
  });

  it('takes the migration lock: waits for a runner holding it, exit 4 after XYN_LOCK_TIMEOUT, then succeeds once it is free', async () => {
    const dir = coreWithGadgets();
    assert.equal((await runCli([], env(dir))).code, 0);
    const holder = await db.client();
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey({ schema: 'public', table: 'schema_migrations' }).toString()]);

    const timedOut = await runCli([...remove006, '--yes'], env(dir, { XYN_LOCK_TIMEOUT: '1' }));
    assert.equal(timedOut.code, 4, timedOut.stderr);
    assert.ok((await ledgerIdsOf(db)).includes('006_gadgets'), 'nothing removed without the lock');

    const waiting = startCli([...remove006, '--yes'], env(dir, { XYN_LOCK_TIMEOUT: '60' }));
    await untilLogged(waiting.child, 'waiting for the migration lock');
    assert.ok((await ledgerIdsOf(db)).includes('006_gadgets'), 'still there while the lock is held');
    await holder.query('SELECT pg_advisory_unlock_all()');
    const done = await waiting.result;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(!(await ledgerIdsOf(db)).includes('006_gadgets'));
  });
});
