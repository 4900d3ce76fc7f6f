/**
 * The blocking budget (XYN_MAX_BLOCKING) against a real server with concurrent clients. A
 * statement is made slow deterministically — a function that sleeps, used by the rewrite or the
 * backfill — never by table size, so each case takes seconds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type pg from 'pg';
import { adminQuery, freshDatabase, ledgerIdsOf, testServer, untilRunning, urlFor, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli, startCli, type CliResult } from '../support/cli.js';
import { startPgBouncer } from '../support/pgbouncer.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

/** Two orders, inserted in id order (a sequential scan meets id 1 first), and a function that sleeps. */
const schema = {
  '001_orders.sql': `
CREATE TABLE acc_orders (id int PRIMARY KEY, amount int NOT NULL, note text);
INSERT INTO acc_orders VALUES (1, 10, 'a'), (2, 20, 'a');
-- v, after sleeping \`seconds\`: makes a statement slow without a big table
CREATE FUNCTION slowly(v int, seconds float8) RETURNS int LANGUAGE sql AS $$ SELECT v FROM pg_sleep(seconds) $$;`,
};
/** A table rewrite that takes `seconds` (it holds ACCESS EXCLUSIVE throughout); `seconds` may be an SQL expression. */
const rewrite = (seconds: number | string) =>
  `ALTER TABLE acc_orders ALTER COLUMN amount TYPE bigint USING slowly(amount, (${seconds}) / 2.0);`;
/** A one-statement backfill: locks the row of id 1, then spends `seconds` on id 2. */
const backfill = (seconds: number) => `UPDATE acc_orders SET note = 'b' || slowly(id, CASE WHEN id = 2 THEN ${seconds} ELSE 0 END);`;

const amountType = async () =>
  (await db.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'acc_orders' AND column_name = 'amount'"))[0]
    ?.data_type as string;
const notes = async () => (await db.query('SELECT note FROM acc_orders ORDER BY id')).map((r) => r.note as string);

/** An old release's connection: runs `statement` over and over until stopped; counts failures. */
function traffic(client: pg.Client, statement: string): { stop(): Promise<{ queries: number; failed: number }> } {
  let running = true;
  let queries = 0;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      queries++;
      await client.query(statement).catch(() => failed++);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { queries, failed };
    },
  };
}

/** Applies 001, then runs migrate on `file` (as 002) while `statement` runs in a loop once `fragment` runs. */
async function underTraffic(
  file: string,
  statement: string | undefined,
  env: Record<string, string> = {},
  url = db.url,
): Promise<{ run: CliResult; failed: number }> {
  const dir = migrationsDir(schema);
  assert.equal((await runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir })).code, 0);
  writeFileSync(join(dir, '002_change.sql'), file);
  const { result } = startCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: dir, XYN_MAX_BLOCKING: '1', ...env });
  if (statement === undefined) return { run: await result, failed: 0 };
  await untilRunning(db, 'slowly(');
  const load = traffic(await db.client(), statement);
  const run = await result;
  const { failed } = await load.stop();
  return { run, failed };
}

const cancelled = (run: CliResult) => {
  assert.equal(run.code, 1, run.stderr.slice(-3000));
  assert.match(run.lastMessage, /^Migration 002_change\.sql:\d+:\d+ was cancelled by the blocking budget: holding /);
  assert.match(run.lastMessage, /kept 1 other session waiting, the longest \d+\.\d s, past XYN_MAX_BLOCKING \(1 s\)/);
  assert.match(run.lastMessage, /batch a backfill .* expand\/contract .* XYN_MAX_BLOCKING=0\.$/);
  assert.doesNotMatch(run.lastMessage, /\. [A-Z]/, 'one sentence');
  const error = run.logs.at(-1)!;
  assert.equal(error.blockedSessions, 1);
  assert.ok((error.longestWaitMs as number) >= 1000, String(error.longestWaitMs));
};

describe('blocking budget: a statement that keeps others waiting past XYN_MAX_BLOCKING is cancelled', () => {
  it('a table rewrite blocking a reader: cancelled and rolled back, exit 1 naming the statement, its lock and the wait', async () => {
    const { run, failed } = await underTraffic(rewrite(60), 'SELECT count(*) FROM acc_orders');
    cancelled(run);
    assert.match(run.lastMessage, /002_change\.sql:1:1 .*holding ACCESS EXCLUSIVE on public\.acc_orders, /);
    assert.match(run.lastMessage, /nothing of it was applied \(rolled back\)/);
    assert.equal(failed, 0, 'the reader waited, then went on');
    assert.equal(await amountType(), 'integer');
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders']);
  });

  it('a one-statement backfill blocking a writer on a row lock: cancelled and rolled back', async () => {
    const { run, failed } = await underTraffic(backfill(60), 'UPDATE acc_orders SET amount = amount + 1 WHERE id = 1');
    cancelled(run);
    assert.match(run.lastMessage, /holding ROW EXCLUSIVE on public\.acc_orders, row locks, /);
    assert.equal(failed, 0);
    assert.deepEqual(await notes(), ['a', 'a']);
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders']);
  });

  it('a DDL still waiting for its lock, with readers queued behind it: cancelled, retried like a lock timeout, exit 1 naming the waiting lock', async () => {
    const dir = migrationsDir(schema);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    writeFileSync(join(dir, '002_change.sql'), 'ALTER TABLE acc_orders ADD COLUMN IF NOT EXISTS currency text;');
    const report = await db.client();
    await report.query('BEGIN; SELECT count(*) FROM acc_orders;'); // a long report holding ACCESS SHARE
    const { result } = startCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: dir,
      XYN_MAX_BLOCKING: '1',
      XYN_DDL_LOCK_TIMEOUT: '60',
      XYN_DDL_RETRIES: '1',
    });
    await untilRunning(db, 'ADD COLUMN IF NOT EXISTS currency');
    const load = traffic(await db.client(), 'SELECT count(*) FROM acc_orders');
    const run = await result;
    await load.stop();
    await report.query('COMMIT');
    cancelled(run);
    assert.match(run.lastMessage, /holding ACCESS EXCLUSIVE on public\.acc_orders \(waiting\), /);
    const retries = run.logs.filter((l) => /retrying/.test(String(l.msg)));
    assert.equal(retries.length, 1, 'one retry, as XYN_DDL_RETRIES=1 allows');
    assert.match(String(retries[0]!.msg), /XYN_MAX_BLOCKING/, 'the retry names the budget that cancelled, not XYN_DDL_LOCK_TIMEOUT');
    assert.equal((await db.query("SELECT 1 FROM information_schema.columns WHERE column_name = 'currency'")).length, 0);
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders']);
  });

  it('a no-transaction file: the running statement is cancelled, the statements before it stay, the file is partial', async () => {
    const file = `-- xyn:no-transaction\nALTER TABLE acc_orders ADD COLUMN IF NOT EXISTS extra text;\n${rewrite(60)}`;
    const { run } = await underTraffic(file, 'SELECT count(*) FROM acc_orders');
    cancelled(run);
    assert.match(run.lastMessage, /002_change\.sql:3:1 /);
    assert.match(run.lastMessage, /1 of 2 of its statements ran and stay applied \(status shows the file partial\)/);
    assert.equal(await amountType(), 'integer');
    assert.equal((await db.query("SELECT 1 FROM information_schema.columns WHERE column_name = 'extra'")).length, 1);
    const partial = await db.query('SELECT id, statements_run FROM schema_migrations_partial');
    assert.deepEqual(partial, [{ id: '002_change', statements_run: 1 }]);
  });

  it('through PgBouncer in transaction-pooling mode, where the backend is found by its mark', async () => {
    const bouncer = await startPgBouncer(testServer(), 3);
    try {
      const url = urlFor(db.name, testServer(), { port: bouncer.port });
      const { run } = await underTraffic(rewrite(60), 'SELECT count(*) FROM acc_orders', {}, url);
      cancelled(run);
      assert.ok(run.logs.some((l) => /connection pooler stands between us/.test(String(l.msg))));
    } finally {
      await bouncer.stop();
    }
    assert.equal(await amountType(), 'integer');
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders']);
  });

  it('on a fleet target: that target fails with exit 1 and the reason, the others are done', async () => {
    const other = await freshDatabase('tenant');
    const folder = mkdtempSync(join(tmpdir(), 'xyn-fleet-'));
    try {
      const targets = join(folder, 'targets.txt');
      writeFileSync(targets, `${db.name}\n${other.name}\n`);
      // slow on the target under traffic only
      const { run } = await underTraffic(
        rewrite(`CASE current_database() WHEN '${db.name}' THEN 60 ELSE 0 END`),
        'SELECT count(*) FROM acc_orders',
        {
          XYN_TARGETS_FILE: targets,
          XYN_CONCURRENCY: '1',
        },
      );
      assert.equal(run.code, 1, run.stderr.slice(-3000));
      assert.ok(
        run.logs.some((l) => /: Migration 002_change\.sql:1:1 was cancelled by the blocking budget/.test(String(l.msg))),
        run.stderr.slice(-3000),
      );
      assert.equal(await amountType(), 'integer');
      assert.deepEqual(await ledgerIdsOf(db), ['001_orders']);
      assert.deepEqual(await ledgerIdsOf(other), ['001_orders', '002_change']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      await other.drop();
    }
  });
});

describe('blocking budget: what it leaves alone', () => {
  it('no other client: a rewrite longer than the budget runs to the end', async () => {
    const { run } = await underTraffic(rewrite(2.5), undefined);
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.equal(await amountType(), 'bigint');
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '002_change']);
  });

  it('a backfill whose waiters wait less than the budget runs to the end, and the wait is logged at info', async () => {
    // id 1 stays locked while the backfill spends 2.5 s on id 2: the writer waits less than the
    // default 5 s; the watchdog, started after 1.25 s, sees it
    const { run, failed } = await underTraffic(backfill(2.5), 'UPDATE acc_orders SET amount = amount + 1 WHERE id = 1', {
      XYN_MAX_BLOCKING: '5',
    });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.equal(failed, 0);
    assert.deepEqual(await notes(), ['b1', 'b2']);
    const cost = run.logs.find((l) => /waited on the locks of this migration/.test(String(l.msg)));
    assert.ok(cost, run.stderr.slice(-3000));
    assert.equal(cost.level, 30);
    assert.equal(cost.file, '002_change.sql');
    assert.equal(cost.sessionsWaited, 1);
    assert.equal(cost.rowLocks, true);
  });

  it('a watchdog that cannot connect (the role has no connection to spare): a warning, and the migration runs on', async () => {
    const role = `single_${db.name}`;
    const password = 'single-connection-secret';
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 1`);
    try {
      await db.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
      const url = urlFor(db.name, testServer(), { user: role, password });
      const { run } = await underTraffic(rewrite(2), 'SELECT count(*) FROM acc_orders', {}, url);
      assert.equal(run.code, 0, run.stderr.slice(-3000));
      const warning = run.logs.find((l) => /blocking watchdog could not connect/.test(String(l.msg)));
      assert.ok(warning, run.stderr.slice(-3000));
      assert.equal(warning.level, 40);
      assert.match(String(warning.reason), /too many connections/);
      assert.ok(!run.stderr.includes(password));
      assert.equal(await amountType(), 'bigint');
    } finally {
      await db.drop();
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('XYN_MAX_BLOCKING=0: off, a blocking rewrite runs to the end', async () => {
    const { run } = await underTraffic(rewrite(2), 'SELECT count(*) FROM acc_orders', { XYN_MAX_BLOCKING: '0' });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.equal(await amountType(), 'bigint');
  });

  it('the expand set under light traffic is not cancelled: nullable column, CREATE INDEX CONCURRENTLY, CHECK NOT VALID + VALIDATE', async () => {
    const dir = migrationsDir(schema);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    writeFileSync(join(dir, '002_add_column.sql'), 'ALTER TABLE acc_orders ADD COLUMN IF NOT EXISTS currency text;');
    writeFileSync(
      join(dir, '003_index.sql'),
      '-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS acc_orders_note ON acc_orders (note);',
    );
    writeFileSync(
      join(dir, '004_check.sql'),
      'ALTER TABLE acc_orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE acc_orders VALIDATE CONSTRAINT amount_positive;',
    );
    const loads = await Promise.all(
      [
        'SELECT count(*) FROM acc_orders',
        'UPDATE acc_orders SET amount = amount + 1 WHERE id = 1',
        "INSERT INTO acc_orders SELECT max(id) + 1, 5, 'n' FROM acc_orders",
      ].map(async (statement) => traffic(await db.client(), statement)),
    );
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_MAX_BLOCKING: '1' });
    const outcomes = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.deepEqual(await ledgerIdsOf(db), ['001_orders', '002_add_column', '003_index', '004_check']);
    assert.ok(outcomes.every((o) => o.queries > 0));
  });
});
