import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrationsDir, runCli, startCli } from '../support/cli.js';
import { startOwnServer, type OwnServer } from '../support/server.js';

/**
 * migrate commits each file without waiting for its fsync and flushes once before exit 0. A
 * server crash midway may lose the newest commits, but only whole (migration + ledger row) units.
 */
describe('a server crash in the middle of applying many files', () => {
  let server: OwnServer;
  before(async () => (server = await startOwnServer()));
  after(async () => server.stop());

  it('leaves every ledger row with its migration and every migration with its row; a rerun completes', async () => {
    const files: Record<string, string> = {
      '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL);',
    };
    for (let i = 2; i <= 40; i++) {
      const id = String(i).padStart(3, '0');
      files[`${id}_step.sql`] = `CREATE TABLE t${id} (id int);\nINSERT INTO applications VALUES ('${id}');`;
    }
    files['041_slow.sql'] = 'CREATE TABLE t041 (id int);\nSELECT pg_sleep(30);';
    const dir = migrationsDir(files);
    const { result } = startCli([], { DATABASE_URL: server.url, XYN_MIGRATIONS_DIR: dir });
    const client = new pg.Client(server.url);
    await client.connect();
    for (let seen = false; !seen;) {
      seen =
        (await client.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`)).rows.length >
        0;
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    client.on('error', () => undefined);
    await server.crash();
    const crashed = await result;
    assert.notEqual(crashed.code, 0);
    await server.restart();

    const check = new pg.Client(server.url);
    await check.connect();
    // The ledger's own creation is one of the unflushed commits too: it may be gone (and with it, WAL
    // being written in order, every commit after it), which a rerun recreates.
    const ledgerRows = await check.query(`SELECT id FROM schema_migrations`).then(
      (r) => r.rows,
      () => [] as { id: string }[],
    );
    const ledger = new Set(ledgerRows.map((r) => String(r.id).slice(0, 3)));
    const tables = new Set(
      (await check.query(`SELECT substr(relname, 2) AS n FROM pg_class WHERE relname ~ '^t[0-9]{3}$' AND relkind = 'r'`)).rows.map(
        (r) => r.n as string,
      ),
    );
    // The crash may have taken every commit not yet flushed, 001 (which creates the table) included.
    const [{ exists }] = (await check.query(`SELECT to_regclass('applications') IS NOT NULL AS exists`)).rows as [{ exists: boolean }];
    assert.equal(exists, ledger.has('001'), '001 and its table survive or vanish together');
    const inserted = exists ? (await check.query('SELECT migration FROM applications')).rows.map((r) => r.migration as string) : [];
    await check.end();
    for (let i = 2; i <= 41; i++) {
      const id = String(i).padStart(3, '0');
      assert.equal(ledger.has(id), tables.has(id), `${id}: ledger row and table must survive or vanish together`);
    }
    assert.equal(ledger.has('041'), false, 'the file running at the crash was not committed');
    assert.equal(new Set(inserted).size, inserted.length);

    files['041_slow.sql'] = 'CREATE TABLE t041 (id int);';
    const rerun = await runCli([], { DATABASE_URL: server.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(rerun.code, 0, rerun.stderr);
    const final = new pg.Client(server.url);
    await final.connect();
    const counts = (await final.query('SELECT migration, count(*)::int AS n FROM applications GROUP BY migration')).rows;
    const rows = (await final.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]!.n as number;
    await final.end();
    assert.equal(counts.length, 39);
    assert.ok(counts.every((c) => c.n === 1));
    assert.equal(rows, 41);
  });
});
