/**
 * What moves between PostgreSQL majors, asserted on whichever major this run uses (every
 * supported one in test/matrix.ts): each major's own syntax through the lexer and the server,
 * the lock holder read from pg_locks and pg_stat_activity, and the settings probe.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { lockKey } from '../../src/db/lock.js';
import { migrationsDir, runCli, startCli } from '../support/cli.js';
import { advisoryLocksIn, freshDatabase, ledgerIdsOf, waitFor, type TestDatabase } from '../support/postgres.js';
import { MAJOR_SYNTAX } from '../support/syntax.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

async function serverMajor(): Promise<number> {
  const [row] = await db.query(`SELECT current_setting('server_version_num')::int / 10000 AS major`);
  return row!.major as number;
}

describe("each major's syntax", () => {
  for (const sample of MAJOR_SYNTAX) {
    it(`${sample.what}: from PostgreSQL ${sample.since} on, applies, reruns and rehearses; before, exit 1 pointing at it`, async () => {
      const env = {
        DATABASE_URL: db.url,
        XYN_MIGRATIONS_DIR: migrationsDir({ [sample.fileName]: sample.sql }),
        XYN_REQUIRED_MIGRATIONS: 'all',
      };
      const run = await runCli([], env);
      if ((await serverMajor()) >= sample.since) {
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(await ledgerIdsOf(db), [sample.fileName.replace(/\.sql$/, '')]);
        assert.equal((await runCli([], env)).code, 0);
        const rehearsal = await runCli(['rehearse'], env);
        assert.equal(rehearsal.code, 0, rehearsal.stderr);
        assert.match(rehearsal.lastMessage, /rehearsal passed/);
      } else {
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.lastMessage, new RegExp(`${sample.fileName.replace('.', '\\.')}:${sample.rejectedLine}:\\d+`));
        assert.match(run.lastMessage, /42601/);
        assert.deepEqual(await ledgerIdsOf(db), []);
      }
    });
  }
});

describe('the lock holder, from pg_locks and pg_stat_activity', () => {
  it('a runner that times out waiting for the lock names its holder: pid, application_name, idle time; exit 4', async () => {
    const holder = await db.client();
    await holder.query(`SET application_name = 'majors-lock-holder'`);
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey({ schema: 'public', table: 'schema_migrations' }).toString()]);
    const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const dir = migrationsDir({ '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id int);' });
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '1.5' });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.lastMessage, new RegExp(`held by pid ${pid} \\(majors-lock-holder, connected [0-9.]+s ago\\)`));
    const waiting = run.logs.find((l) => l.msg === 'waiting for the migration lock held by another runner') as
      { holder?: Record<string, unknown> } | undefined;
    assert.equal(waiting?.holder?.pid, pid);
    assert.equal(typeof waiting?.holder?.idle_for_s, 'number', 'the holder is idle, and pg_stat_activity says since when');
    assert.equal(await advisoryLocksIn(db), 1, "only the holder's lock");
  });
});

describe('the settings probe at connect', () => {
  it('a runner killed mid-statement: the server ends the statement within seconds (client_connection_check_interval), not when it finishes', async () => {
    const dir = migrationsDir({ '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS slow_marker (id int);\nSELECT pg_sleep(120);' });
    const { child, result } = startCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    const sleeping = async () =>
      (
        await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()`, [
          db.name,
        ])
      ).length > 0;
    await waitFor('the slow statement', sleeping);
    child.kill('SIGKILL');
    await result;
    await waitFor('the server to end the orphaned statement', async () => !(await sleeping()), 10_000);
    assert.equal(await advisoryLocksIn(db), 0);
    assert.equal((await db.query(`SELECT to_regclass('slow_marker') AS t`))[0]!.t, null);
  });
});
