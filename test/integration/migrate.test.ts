import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

const simpleSet = {
  '001_initial_schema.sql': `CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY, name text NOT NULL);`,
  '002_add_colour.sql': `ALTER TABLE widgets ADD COLUMN IF NOT EXISTS colour text;`,
};

describe('migrate on a fresh database', () => {
  let db: TestDatabase;
  before(async () => (db = await freshDatabase()));
  after(async () => db.drop());

  it('applies every file in order, records each in the ledger, and exits 0', async () => {
    const dir = migrationsDir(simpleSet);
    const run = await runCli(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const ledger = await db.query('SELECT id, checksum, duration_ms, applied_by FROM schema_migrations ORDER BY id');
    assert.deepEqual(ledger.map((r) => r.id), ['001_initial_schema', '002_add_colour']);
    for (const row of ledger) {
      assert.match(row.checksum, /^[0-9a-f]{64}$/);
      assert.ok(row.duration_ms >= 0);
      assert.match(row.applied_by, /xyn-migrate/);
    }
    const columns = await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets' ORDER BY ordinal_position`);
    assert.deepEqual(columns.map((c) => c.column_name), ['id', 'name', 'colour']);
  });
});
