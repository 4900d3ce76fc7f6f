import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { freshDatabase, testServer, urlFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

let db: TestDatabase;
let role: string;
const ROLE_PASSWORD = 'stampede-secret-pw';

beforeEach(async () => {
  db = await freshDatabase();
  role = `limited_${db.name}`;
  // 20 connections at most for the runners' role: the 21st gets 53300 "too many connections".
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${ROLE_PASSWORD}' CONNECTION LIMIT 20`);
  await db.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
});
afterEach(async () => {
  await db.drop();
  await db.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
});

function countingMigrations(n: number): string {
  const files: Record<string, string> = { '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL);' };
  for (let i = 2; i <= n; i++) {
    const id = String(i).padStart(3, '0');
    files[`${id}_step.sql`] = `CREATE TABLE IF NOT EXISTS t${id} (id int PRIMARY KEY);\nINSERT INTO applications VALUES ('${id}');`;
  }
  return migrationsDir(files);
}

async function stampede(t: TestContext, dir: string, runners: number): Promise<number> {
  const env = {
    DATABASE_URL: urlFor(db.name, testServer(), { user: role, password: ROLE_PASSWORD }),
    XYN_MIGRATIONS_DIR: dir,
    XYN_WAIT_TIMEOUT: '120',
  };
  const started = Date.now();
  const runs = await Promise.all(Array.from({ length: runners }, () => runCli([], env)));
  const elapsed = Date.now() - started;
  for (const run of runs) assert.equal(run.code, 0, run.lastMessage);
  const waited = runs.filter((r) => r.logs.some((l) => l.msg === 'waiting for PostgreSQL' && /53300/.test(String(l.reason)))).length;
  const single = await runCli([], env);
  t.diagnostic(
    `${runners} runners: all done in ${elapsed} ms (one steady-state run: ${single.elapsedMs} ms); ${waited} waited out "too many connections"`,
  );
  return waited;
}

describe('a stampede of 100 runners against a role allowing 20 connections', () => {
  it('on an empty database: every runner exits 0 and each migration is applied once', async (t) => {
    const dir = countingMigrations(20);
    await stampede(t, dir, 100);
    const counts = await db.query('SELECT migration, count(*)::int AS n FROM applications GROUP BY migration');
    assert.equal(counts.length, 19);
    assert.ok(counts.every((c) => c.n === 1));
  });

  it('on a fully migrated database: every runner exits 0 and nothing is applied again', async (t) => {
    const dir = countingMigrations(20);
    const asRole = urlFor(db.name, testServer(), { user: role, password: ROLE_PASSWORD });
    assert.equal((await runCli([], { DATABASE_URL: asRole, XYN_MIGRATIONS_DIR: dir })).code, 0);
    await stampede(t, dir, 100);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM applications'))[0]!.n, 19);
  });
});

describe('too many connections', () => {
  it('is waited out with backoff: 10 runners, 3 connections, a slow migration holding the lock', async (t) => {
    await db.query(`ALTER ROLE ${role} CONNECTION LIMIT 3`);
    const dir = migrationsDir({
      '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL);',
      '002_slow.sql': "INSERT INTO applications VALUES ('002');\nSELECT pg_sleep(2);",
    });
    const waited = await stampede(t, dir, 10);
    assert.ok(waited > 0, 'some runner met "too many connections" and waited');
    assert.equal((await db.query('SELECT count(*)::int AS n FROM applications'))[0]!.n, 1);
  });
});

describe('CREATE INDEX CONCURRENTLY while other runners wait for the lock', () => {
  it('four runners on a table of 300k rows: all exit 0, the index is valid, nothing deadlocks', async () => {
    const dir = migrationsDir({
      '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS events (id bigint PRIMARY KEY, kind int NOT NULL);',
      '002_fill.sql': 'INSERT INTO events SELECT g, g % 97 FROM generate_series(1, 300000) g ON CONFLICT DO NOTHING;',
    });
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    const withIndex = migrationsDir({
      '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS events (id bigint PRIMARY KEY, kind int NOT NULL);',
      '002_fill.sql': 'INSERT INTO events SELECT g, g % 97 FROM generate_series(1, 300000) g ON CONFLICT DO NOTHING;',
      '003_kind_idx.sql': '-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS events_kind_idx ON events (kind);',
    });
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: withIndex, XYN_LOCK_TIMEOUT: '60' })),
    );
    for (const run of runs) assert.equal(run.code, 0, run.lastMessage);
    const [index] = await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_kind_idx'::regclass`);
    assert.equal(index!.indisvalid, true);
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM schema_migrations WHERE id = '003_kind_idx'`))[0]!.n, 1);
  });
});
