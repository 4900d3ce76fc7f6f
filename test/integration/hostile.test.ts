/**
 * Hostile files and values: what a migrations folder, a variable or another session can hand the
 * job that must not hang it, forge a line of its output, or end up in its logs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, ledgerIdsOf, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, startCli, type CliResult, type Env } from '../support/cli.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase('hostile')));
afterEach(async () => db.drop());

/** The run, killed (SIGKILL: a blocked read ignores SIGTERM) if it has not ended within 20 s. */
async function runOrKill(args: readonly string[], env: Env): Promise<CliResult> {
  const { child, result } = startCli(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    return await result;
  } finally {
    clearTimeout(timer);
  }
}

describe('a migration that is not a regular file', () => {
  for (const command of ['migrate', 'lint']) {
    it(`${command}: a FIFO is exit 2 naming it at once (reading one blocks for ever)`, async () => {
      const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
      execFileSync('mkfifo', [join(dir, '002_pipe.sql')]);
      const run = await runOrKill([command], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.lastMessage, /Migration file 002_pipe\.sql is a FIFO \(named pipe\), not a regular file/);
      assert.equal((await db.query(`SELECT to_regclass('a') AS t`))[0]?.t, null, 'nothing applied');
    });
  }

  it('a link to /dev/zero is exit 2 naming it at once (reading it never ends)', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    symlinkSync('/dev/zero', join(dir, '002_zero.sql'));
    const run = await runOrKill(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /Migration file 002_zero\.sql is a character device, not a regular file/);
    assert.equal((await db.query(`SELECT to_regclass('a') AS t`))[0]?.t, null, 'nothing applied');
  });
});

describe('control characters in what reaches a person', () => {
  const ESC = '\u001b';

  it('a newline in the folder name does not forge a second line of the termination message', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'xyn-termination-')), 'termination-log');
    const run = await runOrKill(['migrate'], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: '/nonexistent\nxyn-migrate: all migrations applied',
      XYN_TERMINATION_LOG: log,
    });
    assert.equal(run.code, 2, run.stderr);
    const message = readFileSync(log, 'utf8');
    assert.equal(message.split('\n').length, 2, `one line, then its end: ${JSON.stringify(message)}`);
    assert.match(message, /^Migrations folder \/nonexistent\\nxyn-migrate: all migrations applied cannot be read \(ENOENT\)/);
  });

  it('an ANSI escape and a newline in a failure and in XYN_APPLIED_BY are escaped in the pretty log, the termination message and the ledger table', async () => {
    const appliedBy = `${ESC}[2J${ESC}[31mdeployer\nforged row`;
    const dir = migrationsDir({
      '001_a.sql': 'CREATE TABLE a (id int);',
      '002_fails.sql': `DO $$BEGIN IF to_regclass('poison') IS NOT NULL THEN RAISE EXCEPTION E'boom\\nERROR forged line \\u001b[31mred'; END IF; END$$;`,
    });
    const log = join(mkdtempSync(join(tmpdir(), 'xyn-termination-')), 'termination-log');
    const env = {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: dir,
      XYN_APPLIED_BY: appliedBy,
      XYN_LOG_FORMAT: 'pretty',
      XYN_TERMINATION_LOG: log,
    };
    const first = await runOrKill(['migrate'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await db.query('SELECT id, applied_by FROM schema_migrations ORDER BY id'), [
      { id: '001_a', applied_by: appliedBy },
      { id: '002_fails', applied_by: appliedBy },
    ]);
    // the ledger table on stdout: a header, its rule, one line per row
    assert.ok(!first.stdout.includes(ESC), JSON.stringify(first.stdout));
    assert.equal(first.stdout.trimEnd().split('\n').length, 4, first.stdout);
    assert.match(first.stdout, /\\x1b\[2J\\x1b\[31mdeployer\\nforged row/);
    assert.ok(!first.stderr.includes(ESC), JSON.stringify(first.stderr));

    await db.query('CREATE TABLE poison (id int)');
    await db.query(`DELETE FROM schema_migrations WHERE id = '002_fails'`);
    const failed = await runOrKill(['migrate'], env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.ok(!failed.stderr.includes(ESC), JSON.stringify(failed.stderr));
    assert.ok(!failed.stderr.split('\n').some((line) => line.startsWith('ERROR forged line')), failed.stderr);
    assert.match(failed.stderr, /boom\\nERROR forged line \\x1b\[31mred/);
    const message = readFileSync(log, 'utf8');
    assert.equal(message.split('\n').length, 2, JSON.stringify(message));
    assert.match(message, /002_fails\.sql:1:1 failed: boom\\nERROR forged line \\x1b\[31mred/);
    assert.deepEqual(await ledgerIdsOf(db), ['001_a']);
  });
});

describe('a duration PostgreSQL cannot take', () => {
  it('XYN_STATEMENT_TIMEOUT=3000000 is exit 2 at start naming the variable, not a failed migration blamed on the ledger', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    const run = await runOrKill(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_STATEMENT_TIMEOUT: '3000000' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /XYN_STATEMENT_TIMEOUT \(--statement-timeout\): "3000000" is more than PostgreSQL takes for a timeout/);
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]?.t, null, 'not even the ledger was made');
  });
});

describe("a blocking session's query in our log", () => {
  it('is logged with its string literals replaced by $1, $2…: a token in it stays out of the log', async () => {
    const dir = migrationsDir({ '001_a.sql': 'CREATE TABLE widgets (id int);' });
    assert.equal((await runOrKill(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    writeFileSync(join(dir, '002_colour.sql'), 'ALTER TABLE widgets ADD COLUMN colour text;');
    const blocker = await db.client();
    await blocker.query(`BEGIN; SELECT count(*), 'token=s3cr3t-value', $tag$dollar-s3cr3t$tag$, 42 FROM widgets;`);
    const run = await runOrKill(['migrate'], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: dir,
      XYN_DDL_LOCK_TIMEOUT: '0.1',
      XYN_DDL_RETRIES: '1',
    });
    await blocker.query('ROLLBACK');
    assert.equal(run.code, 1, run.stderr);
    const retry = run.logs.find((l) => /gave up waiting for a table lock/.test(String(l.msg)));
    const queries = (retry?.oldestTransactions as { query: string }[] | undefined)?.map((t) => t.query);
    assert.deepEqual(queries, [`BEGIN; SELECT count(*), $1, $2, 42 FROM widgets;`]);
    assert.ok(!run.stderr.includes('s3cr3t'), run.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_a']);
  });
});
