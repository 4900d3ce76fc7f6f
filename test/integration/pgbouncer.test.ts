import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { advisoryLocksIn, freshDatabase, ledgerIdsOf, testServer, urlFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';
import { startPgBouncer } from '../support/pgbouncer.js';
import { lockKey } from '../../src/db/lock.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

function countingFiles(n: number): Record<string, string> {
  const files: Record<string, string> = {
    '001_initial_schema.sql':
      'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());',
  };
  for (let i = 2; i <= n; i++) {
    const id = String(i).padStart(3, '0');
    // Not idempotent on purpose: a second application would fail or count twice.
    files[`${id}_step.sql`] =
      `CREATE TABLE t${id} (id int);\nINSERT INTO applications (migration) VALUES ('${id}');\nSELECT pg_sleep(0.01);`;
  }
  return files;
}

async function applicationCounts(): Promise<{ migration: string; n: number }[]> {
  return await db.query<{ migration: string; n: number }>(
    'SELECT migration, count(*)::int AS n FROM applications GROUP BY migration ORDER BY migration',
  );
}

describe('behind PgBouncer in transaction-pooling mode', () => {
  it('8 concurrent runners through a pool of 3 all exit 0; each file is applied once, in order; no lock is left behind', async (t) => {
    const dir = migrationsDir(countingFiles(30));
    const bouncer = await startPgBouncer(testServer(), 3);
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const runs = await Promise.all(
        Array.from({ length: 8 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '60' })),
      );
      for (const run of runs) assert.equal(run.code, 0, run.stderr.slice(-3000));
      assert.ok(
        runs.some((r) => r.logs.some((l) => /connection pooler stands between us/.test(String(l.msg)))),
        'the pooler was noticed',
      );
      const appliedBy = runs.map((r) => r.logs.filter((l) => l.msg === 'applied').length);
      t.diagnostic(`files applied by each runner: ${appliedBy.join(', ')}`);
      assert.equal(
        appliedBy.reduce((a, b) => a + b, 0),
        30,
      );
    } finally {
      await bouncer.stop();
    }
    const counts = await applicationCounts();
    assert.equal(counts.length, 29);
    assert.ok(
      counts.every((c) => c.n === 1),
      `applied twice: ${JSON.stringify(counts.filter((c) => c.n > 1))}`,
    );
    const order = (await db.query('SELECT migration FROM applications ORDER BY at')).map((r) => r.migration as string);
    assert.deepEqual(order, [...order].sort(), 'applied in order');
    assert.equal((await ledgerIdsOf(db)).length, 30);
    // every lock was transaction-scoped: none outlives the runners (in this database: other test
    // files run beside this one and hold locks of their own)
    assert.equal(await advisoryLocksIn(db), 0);
  });

  it('a pending no-transaction file is refused (exit 2 naming the file and the pooler) before anything is applied; a direct run applies it once', async () => {
    const files = {
      ...countingFiles(3),
      '004_index.sql':
        "-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS applications_migration ON applications (migration);\nINSERT INTO applications (migration) VALUES ('004');",
    };
    const dir = migrationsDir(files);
    const bouncer = await startPgBouncer(testServer(), 2);
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const pooled = await Promise.all(Array.from({ length: 6 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir })));
      for (const run of pooled) {
        assert.equal(run.code, 2, run.lastMessage);
        assert.match(run.lastMessage, /Refusing to apply 004_index\.sql \(-- xyn:no-transaction\) through a connection pooler/);
      }
      assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null, 'nothing applied, not even the ledger');
      // A direct runner and pooled runners at once: the file is applied exactly once.
      const mixed = await Promise.all([
        runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir }),
        ...Array.from({ length: 4 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir })),
      ]);
      assert.equal(mixed[0].code, 0, mixed[0].lastMessage);
      for (const run of mixed.slice(1)) assert.ok(run.code === 0 || run.code === 2, `exit ${run.code}: ${run.lastMessage}`);
    } finally {
      await bouncer.stop();
    }
    const counts = await applicationCounts();
    assert.deepEqual(counts, [
      { migration: '002', n: 1 },
      { migration: '003', n: 1 },
      { migration: '004', n: 1 },
    ]);
  });

  it("a direct runner's session lock holds pooled runners off; past XYN_LOCK_TIMEOUT they exit 4 naming the holder, having applied nothing", async () => {
    const dir = migrationsDir(countingFiles(3));
    const holder = await db.client();
    const holderPid = (holder as unknown as { processID: number }).processID;
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey({ schema: 'public', table: 'schema_migrations' }).toString()]);
    const bouncer = await startPgBouncer(testServer(), 2);
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const runs = await Promise.all(
        Array.from({ length: 3 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '1.5' })),
      );
      for (const run of runs) {
        assert.equal(run.code, 4, run.lastMessage);
        assert.match(run.lastMessage, new RegExp(`XYN_LOCK_TIMEOUT.*held by pid ${holderPid}`));
      }
    } finally {
      await bouncer.stop();
    }
    assert.equal((await db.query(`SELECT to_regclass('applications') AS t`))[0]!.t, null);
    assert.deepEqual(await ledgerIdsOf(db), []);
  });

  it('runs are recorded by each runner that applied something', async () => {
    const files = {
      '001_initial_schema.sql': `CREATE TABLE IF NOT EXISTS blueprints (id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS runs (id bigserial PRIMARY KEY, blueprint_id text, status text, inputs jsonb, outputs jsonb, error jsonb, attempts int, started_at timestamptz, finished_at timestamptz, created_at timestamptz, updated_at timestamptz);
CREATE TABLE IF NOT EXISTS steps (run_id bigint, idx int, name text, status text, started_at timestamptz, finished_at timestamptz, duration_ms int, error jsonb);
INSERT INTO blueprints VALUES ('core.migrations.apply@v1') ON CONFLICT DO NOTHING;`,
      ...Object.fromEntries(Object.entries(countingFiles(12)).filter(([name]) => !name.startsWith('001'))),
    };
    await db.query('CREATE TABLE applications (migration text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    const dir = migrationsDir(files);
    const bouncer = await startPgBouncer(testServer(), 2);
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const runs = await Promise.all(Array.from({ length: 5 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir })));
      for (const run of runs) assert.equal(run.code, 0, run.stderr.slice(-3000));
      const appliers = runs.filter((r) => r.logs.some((l) => l.msg === 'applied')).length;
      const recorded = await db.query(
        `SELECT r.status, count(s.*)::int AS steps FROM runs r LEFT JOIN steps s ON s.run_id = r.id GROUP BY r.id, r.status`,
      );
      assert.equal(recorded.length, appliers, 'one run per runner that applied something');
      assert.ok(recorded.every((r) => r.status === 'completed'));
      assert.equal(
        recorded.reduce((n, r) => n + (r.steps as number), 0),
        12,
        'every applied file is a step of exactly one run',
      );
    } finally {
      await bouncer.stop();
    }
  });
});

describe('behind PgBouncer in statement-pooling mode', () => {
  it('is refused at once, exit 2 naming the pooler, with nothing applied', async () => {
    const dir = migrationsDir(countingFiles(3));
    const bouncer = await startPgBouncer(testServer(), 2, 'statement');
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const runs = await Promise.all(Array.from({ length: 3 }, () => runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir })));
      for (const run of runs) {
        assert.equal(run.code, 2, run.lastMessage);
        assert.match(run.lastMessage, /statement-pooling connection pooler \(such as PgBouncer with pool_mode=statement\)/);
      }
    } finally {
      await bouncer.stop();
    }
    assert.equal((await db.query(`SELECT to_regclass('applications') AS t`))[0]!.t, null);
  });
});

describe('a fleet behind PgBouncer in session-pooling mode', () => {
  it('a pooled session is not reused for the next schema: its temporary table does not reach the next tenant', async () => {
    const dir = migrationsDir({
      '001_count.sql': `CREATE TEMP TABLE IF NOT EXISTS tenant_scratch AS SELECT current_schema()::text AS tenant;
CREATE TABLE counted AS SELECT tenant FROM tenant_scratch;`,
    });
    const bouncer = await startPgBouncer(testServer(), 1, 'session');
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const list = join(mkdtempSync(join(tmpdir(), 'xyn-pooled-fleet-')), 'targets.txt');
      writeFileSync(list, `${url} alpha\n${url} beta\n`);
      const run = await runCli(['migrate', '--json'], {
        DATABASE_URL: url,
        XYN_MIGRATIONS_DIR: dir,
        XYN_TARGETS_FILE: list,
        XYN_CONCURRENCY: '1',
      });
      assert.equal(run.code, 0, run.stderr.slice(-3000));
    } finally {
      await bouncer.stop();
    }
    for (const schema of ['alpha', 'beta']) {
      assert.deepEqual(await db.query(`SELECT tenant FROM ${schema}.counted`), [{ tenant: schema }], schema);
    }
  });
});
