import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, testServer, urlFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';
import { startPgBouncer } from '../support/pgbouncer.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

function countingMigrations(n: number): string {
  const files: Record<string, string> = {
    '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL);',
  };
  for (let i = 2; i <= n; i++) {
    const id = String(i).padStart(3, '0');
    files[`${id}_step.sql`] = `CREATE TABLE IF NOT EXISTS t${id} (id int);\nINSERT INTO applications VALUES ('${id}');\nSELECT pg_sleep(0.01);`;
  }
  return migrationsDir(files);
}

describe('behind PgBouncer in transaction-pooling mode', () => {
  it('12 concurrent runners either migrate correctly or refuse naming the pooler; no file is ever applied twice', async () => {
    const dir = countingMigrations(30);
    const bouncer = await startPgBouncer(testServer(), 3);
    let outcomes: number[];
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const runs = await Promise.all(Array.from({ length: 12 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '15' })));
      outcomes = runs.map((r) => r.code ?? -1);
      for (const run of runs) {
        // 0: it kept its server session throughout; 2: it noticed the pooler and refused; 4: it
        // waited for a lock orphaned on a pooled server session, and the message says so.
        assert.ok(run.code === 0 || run.code === 2 || run.code === 4, `exit ${run.code}: ${run.lastMessage}`);
        if (run.code !== 0) assert.match(run.lastMessage, /transaction-pooling connection pooler \(such as PgBouncer/);
      }
    } finally {
      await bouncer.stop();
    }
    // Every runner may have refused before any file ran: then there is nothing to count yet.
    const exists = (await db.query(`SELECT to_regclass('applications') IS NOT NULL AS e`))[0]!.e as boolean;
    const counts = exists ? await db.query('SELECT migration, count(*)::int AS n FROM applications GROUP BY migration') : [];
    assert.ok(counts.every((c) => c.n === 1), `applied twice: ${JSON.stringify(counts.filter((c) => c.n > 1))} (exits ${outcomes.join(',')})`);
    const direct = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '10' });
    assert.equal(direct.code, 0, direct.stderr);
    const after = await db.query('SELECT migration, count(*)::int AS n FROM applications GROUP BY migration');
    assert.equal(after.length, 29);
    assert.ok(after.every((c) => c.n === 1));
  });
});
