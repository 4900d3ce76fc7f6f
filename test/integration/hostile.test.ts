/**
 * Hostile files and values: what a migrations folder, a variable or another session can hand the
 * job that must not hang it, forge a line of its output, or end up in its logs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
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
