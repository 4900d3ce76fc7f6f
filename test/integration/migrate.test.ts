import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  advisoryLocksIn,
  freshDatabase,
  ledgerIdsOf,
  testServer,
  urlFor,
  waitFor,
  type TestDatabase,
  untilRunning,
} from '../support/postgres.js';
import { migrationsDir, runCli, startCli, untilLogged } from '../support/cli.js';
import { proxyTo, reservePort } from '../support/proxy.js';

const widgets = {
  '001_initial_schema.sql': `CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY, name text NOT NULL);`,
  '002_add_colour.sql': `ALTER TABLE widgets ADD COLUMN IF NOT EXISTS colour text;`,
};

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const ledgerIds = () => ledgerIdsOf(db);
const tableExists = async (name: string) => (await db.query('SELECT to_regclass($1) IS NOT NULL AS e', [name]))[0]!.e as boolean;
const advisoryLocks = () => advisoryLocksIn(db);

describe('migrate: the ordinary runs', () => {
  it('applies every file of a fresh database in order, each recorded with checksum, duration and runner', async () => {
    const run = await runCli(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(widgets) });
    assert.equal(run.code, 0, run.stderr);
    const ledger = await db.query('SELECT id, checksum, duration_ms, applied_by FROM schema_migrations ORDER BY id');
    assert.deepEqual(
      ledger.map((r) => r.id),
      ['001_initial_schema', '002_add_colour'],
    );
    for (const row of ledger) {
      assert.match(row.checksum, /^[0-9a-f]{64}$/);
      assert.ok(row.duration_ms >= 0);
      assert.match(row.applied_by, /xyn-migrate/);
    }
    const columns = await db.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      columns.map((c) => c.column_name),
      ['id', 'name', 'colour'],
    );
    const ledgerLog = run.logs.find((l) => l.msg === 'ledger') as { ledger: { id: string }[] } | undefined;
    assert.deepEqual(
      ledgerLog?.ledger.map((r) => r.id),
      ['001_initial_schema', '002_add_colour'],
    );
    assert.equal(run.stdout, '', 'stdout carries results only; off a terminal the ledger is a log line');
  });

  it('a rerun changes nothing and costs one connection and two round trips (default sslmode, a server without TLS)', async () => {
    const dir = migrationsDir(widgets);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    const before = await db.query('SELECT id, applied_at, checksum FROM schema_migrations ORDER BY id');
    // The proxy answers the SSLRequest with N, as a server without TLS does, so it can count
    // the plain-text messages.
    const proxy = await proxyTo(testServer().port, { declineTls: true });
    await proxy.listen();
    try {
      const rerun = await runCli([], { DATABASE_URL: urlFor(db.name, testServer(), { port: proxy.port }), XYN_MIGRATIONS_DIR: dir });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(proxy.connections(), 1);
      assert.equal(proxy.roundTrips(), 2, 'writable check + ledger read');
    } finally {
      await proxy.close();
    }
    assert.deepEqual(await db.query('SELECT id, applied_at, checksum FROM schema_migrations ORDER BY id'), before);
  });

  it('adopts an old ledger that has only id and applied_at, recording checksums of adopted rows', async () => {
    await db.query(`CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                    CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL);
                    INSERT INTO schema_migrations (id) VALUES ('001_initial_schema');`);
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(widgets) });
    assert.equal(run.code, 0, run.stderr);
    const rows = await db.query('SELECT id, checksum FROM schema_migrations ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      ['001_initial_schema', '002_add_colour'],
    );
    assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum)));
  });

  it('applies a file in the seed template style: its own BEGIN/COMMIT, verification after COMMIT, its own ledger insert', async () => {
    const seedStyle = `-- Migration: 001_initial_schema
BEGIN;
CREATE TABLE IF NOT EXISTS gadgets (id bigint PRIMARY KEY);
COMMIT;

-- Verification
SELECT count(*) FROM gadgets;

INSERT INTO schema_migrations (id) VALUES ('001_initial_schema') ON CONFLICT (id) DO NOTHING;
`;
    const ledger = `CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());`;
    const run = await runCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: migrationsDir({ '000_ledger.sql': ledger, '001_initial_schema.sql': seedStyle }),
    });
    assert.equal(run.code, 0, run.stderr);
    const [row] = await db.query(`SELECT checksum FROM schema_migrations WHERE id = '001_initial_schema'`);
    assert.match(row!.checksum, /^[0-9a-f]{64}$/, "the program upserts its row over the file's own insert");
    assert.ok(await tableExists('gadgets'));
  });

  it('a seed-style file whose verification after COMMIT fails leaves nothing: no table, no ledger row (its own insert included)', async () => {
    const failing = `BEGIN;
CREATE TABLE IF NOT EXISTS gadgets (id bigint PRIMARY KEY);
COMMIT;
INSERT INTO schema_migrations (id) VALUES ('002_gadgets') ON CONFLICT (id) DO NOTHING;
DO $$ BEGIN
  RAISE EXCEPTION 'verification failed: gadgets is not what we wanted';
END $$;
`;
    const files = {
      '001_ledger.sql':
        'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());',
      '002_gadgets.sql': failing,
    };
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files), XYN_REQUIRED_MIGRATIONS: '001_ledger' });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /002_gadgets\.sql:5:1/);
    assert.match(run.lastMessage, /verification failed: gadgets/);
    assert.match(run.lastMessage, /P0001/);
    assert.deepEqual(await ledgerIds(), ['001_ledger']);
    assert.equal(await tableExists('gadgets'), false);
  });

  it('runs a -- xyn:no-transaction file statement by statement (CREATE INDEX CONCURRENTLY)', async () => {
    const files = {
      ...widgets,
      '003_index.sql': `-- xyn:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);
CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_colour_idx ON widgets (colour);
`,
    };
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 0, run.stderr);
    const indexes = await db.query(
      `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'widgets'::regclass AND indisvalid ORDER BY 1`,
    );
    assert.deepEqual(
      indexes.map((i) => i.name),
      ['widgets_colour_idx', 'widgets_name_idx', 'widgets_pkey'],
    );
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_colour', '003_index']);
  });
});

describe('migrate: a broken file', () => {
  it('a syntax error is exit 1 naming file:line:column after non-ASCII text; earlier migrations stay, nothing of the broken one', async () => {
    const broken = `-- Größe und Maß: 😀 ☕
CREATE TABLE IF NOT EXISTS half_done (id int);
  SELEC 1;
`;
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir({ ...widgets, '003_broken.sql': broken }) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /003_broken\.sql:3:3/);
    assert.match(run.lastMessage, /SQLSTATE 42601/);
    assert.match(run.lastMessage, /syntax error at or near "SELEC"/);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_colour']);
    assert.equal(await tableExists('half_done'), false);
    const last = run.logs.at(-1)!;
    assert.equal(last.migrationFile, '003_broken.sql');
    assert.equal(last.migrationLine, 3);
    assert.equal(last.sqlstate, '42601');
  });

  it("a runtime error names the failing statement's line, with detail", async () => {
    const broken = `CREATE TABLE dupes (id int PRIMARY KEY);
INSERT INTO dupes VALUES (1);

INSERT INTO dupes VALUES (1);
`;
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir({ '001_initial_schema.sql': broken }) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /001_initial_schema\.sql:4:1/);
    assert.match(run.lastMessage, /23505/);
    assert.match(run.lastMessage, /Key \(id\)=\(1\) already exists/);
    assert.equal(await tableExists('dupes'), false);
    assert.equal(await tableExists('schema_migrations'), true, 'the ledger itself was created');
    assert.deepEqual(await ledgerIds(), []);
  });

  it('CREATE INDEX CONCURRENTLY in an ordinary file fails with a hint to add the directive', async () => {
    const files = { ...widgets, '003_index.sql': 'CREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);' };
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    assert.equal(run.code, 1);
    assert.match(run.lastMessage, /25001/);
    assert.match(run.lastMessage, /-- xyn:no-transaction/);
  });

  it('a failed concurrent index build is reported, and the rerun drops the INVALID index and builds it again', async () => {
    const files = {
      '001_initial_schema.sql': "CREATE TABLE IF NOT EXISTS codes (code text); INSERT INTO codes VALUES ('a'), ('a');",
      '002_unique.sql':
        '-- xyn:no-transaction\nCREATE TABLE IF NOT EXISTS other (id int);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS codes_code_key ON codes (code);\n',
    };
    const dir = migrationsDir(files);
    const failed = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(failed.code, 1);
    assert.match(failed.lastMessage, /002_unique\.sql:3:1/);
    assert.match(failed.lastMessage, /1 of 2 of its statements ran and stay applied/);
    assert.match(failed.lastMessage, /codes_code_key INVALID/);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
    assert.equal((await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'codes_code_key'::regclass`))[0]!.indisvalid, false);
    await db.query(`DELETE FROM codes WHERE ctid = (SELECT max(ctid) FROM codes)`);
    const rerun = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(rerun.logs.some((l) => /INVALID index left by an earlier failed concurrent build/.test(String(l.msg))));
    assert.equal((await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'codes_code_key'::regclass`))[0]!.indisvalid, true);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_unique']);
  });

  it('writes the one-sentence reason to XYN_TERMINATION_LOG', async () => {
    const terminationLog = join(tmpdir(), `xyn-termination-${process.pid}-${Date.now()}`);
    const run = await runCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: migrationsDir({ '001_initial_schema.sql': 'SELEC 1;' }),
      XYN_TERMINATION_LOG: terminationLog,
    });
    assert.equal(run.code, 1);
    assert.equal(readFileSync(terminationLog, 'utf8').trim(), run.lastMessage);
    rmSync(terminationLog, { force: true });
  });
});

describe('migrate: bad configuration', () => {
  it('names every invalid variable in one message, exits 2, and touches nothing', async () => {
    const run = await runCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: migrationsDir(widgets),
      XYN_WAIT_TIMEOUT: 'soon',
      XYN_LOCK_TIMEOUT: '-1',
      XYN_LOG_FORMAT: 'xml',
    });
    assert.equal(run.code, 2);
    for (const variable of ['XYN_WAIT_TIMEOUT', 'XYN_LOCK_TIMEOUT', 'XYN_LOG_FORMAT']) assert.match(run.lastMessage, new RegExp(variable));
    assert.equal(await tableExists('schema_migrations'), false);
  });

  it('refuses misnamed and colliding files before connecting (exit 2, file named)', async () => {
    const misnamed = await runCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: migrationsDir({ ...widgets, '3_oops.sql': 'SELECT 1;' }),
    });
    assert.equal(misnamed.code, 2);
    assert.match(misnamed.lastMessage, /3_oops\.sql/);
    const colliding = await runCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: migrationsDir({ ...widgets, '0002_again.sql': 'SELECT 1;' }),
    });
    assert.equal(colliding.code, 2);
    assert.match(colliding.lastMessage, /0002_again\.sql and 002_add_colour\.sql share the number 2/);
    assert.equal(await tableExists('schema_migrations'), false);
  });
});

describe('migrate: waiting for PostgreSQL', () => {
  it('waits for a PostgreSQL that starts listening seconds after the runner', async () => {
    const proxy = await proxyTo(testServer().port);
    try {
      const { child, result } = startCli([], {
        DATABASE_URL: urlFor(db.name, testServer(), { port: proxy.port }),
        XYN_MIGRATIONS_DIR: migrationsDir(widgets),
        XYN_WAIT_TIMEOUT: '30',
      });
      await untilLogged(child, 'waiting for PostgreSQL');
      await new Promise((r) => setTimeout(r, 500));
      await proxy.listen();
      const run = await result;
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.logs.some((l) => l.msg === 'waiting for PostgreSQL' && /ECONNREFUSED/.test(String(l.reason))));
      assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_colour']);
    } finally {
      await proxy.close();
    }
  });

  it('gives up near XYN_WAIT_TIMEOUT when nothing listens: exit 3', async () => {
    const port = await reservePort();
    const run = await runCli([], {
      DATABASE_URL: urlFor(db.name, testServer(), { port }),
      XYN_MIGRATIONS_DIR: migrationsDir(widgets),
      XYN_WAIT_TIMEOUT: '2',
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /not ready within 2s \(XYN_WAIT_TIMEOUT\)/);
    assert.ok(run.elapsedMs >= 1800 && run.elapsedMs < 6000, `took ${run.elapsedMs} ms`);
  });

  it('fails at once on a wrong password (exit 3) and never prints the password', async () => {
    const password = 'Wr0ng-p@ss:w/rd%-4711';
    const url = urlFor(db.name, testServer(), { password });
    const run = await runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: migrationsDir(widgets), XYN_WAIT_TIMEOUT: '30' });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /authentication failed/);
    assert.ok(run.elapsedMs < 5000, `took ${run.elapsedMs} ms`);
    for (const form of [password, encodeURIComponent(password)]) {
      assert.ok(!run.stderr.includes(form) && !run.stdout.includes(form), 'the password appears in the output');
    }
  });

  it('fails at once when the database does not exist (exit 3)', async () => {
    const run = await runCli([], { DATABASE_URL: urlFor('no_such_database', testServer()), XYN_MIGRATIONS_DIR: migrationsDir(widgets) });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /does not exist \(3D000\)/);
  });
});

describe('migrate: many runners and killed runners', () => {
  it('12 runners started at once on 40 migrations apply each exactly once', async () => {
    const files: Record<string, string> = {
      '001_initial_schema.sql':
        'CREATE TABLE IF NOT EXISTS applications (migration text NOT NULL, at timestamptz DEFAULT clock_timestamp());',
    };
    for (let n = 2; n <= 40; n++) {
      const id = String(n).padStart(3, '0');
      files[`${id}_step.sql`] = `CREATE TABLE IF NOT EXISTS t${id} (id int);\nINSERT INTO applications (migration) VALUES ('${id}');`;
    }
    const dir = migrationsDir(files);
    const runs = await Promise.all(Array.from({ length: 12 }, () => runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const counts = await db.query('SELECT migration, count(*)::int AS n FROM applications GROUP BY migration');
    assert.equal(counts.length, 39);
    assert.ok(
      counts.every((c) => c.n === 1),
      JSON.stringify(counts.filter((c) => c.n !== 1)),
    );
    assert.equal((await ledgerIds()).length, 40);
    assert.equal(await advisoryLocks(), 0);
  });

  it('SIGTERM during a long statement: exit 143 within seconds, nothing of it left, no lock held', async () => {
    const files = { ...widgets, '003_slow.sql': 'CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(60);' };
    const { child, result } = startCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
    await untilRunning(db, 'pg_sleep(60)');
    const signalled = Date.now();
    child.kill('SIGTERM');
    const run = await result;
    assert.equal(run.code, 143, run.stderr);
    assert.ok(Date.now() - signalled < 5000);
    assert.match(run.lastMessage, /SIGTERM/);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_colour']);
    assert.equal(await tableExists('slow_marker'), false);
    await waitFor('the runner session to end', async () => (await advisoryLocks()) === 0, 5000);
  });

  it('a runner killed with SIGKILL mid-migration leaves a consistent state, and a rerun completes', async () => {
    const files = { ...widgets, '003_slow.sql': 'CREATE TABLE IF NOT EXISTS slow_marker (id int);\nSELECT pg_sleep(2);' };
    const dir = migrationsDir(files);
    const { child, result } = startCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    await untilRunning(db, 'pg_sleep(2)');
    child.kill('SIGKILL');
    assert.equal((await result).signal, 'SIGKILL');
    const [state] = await db.query(
      `SELECT to_regclass('slow_marker') IS NOT NULL AS has_table, EXISTS (SELECT 1 FROM schema_migrations WHERE id = '003_slow') AS has_row`,
    );
    assert.equal(state!.has_table, state!.has_row, 'the migration and its ledger row are committed together or not at all');
    const rerun = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_LOCK_TIMEOUT: '30' });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_add_colour', '003_slow']);
    assert.ok(await tableExists('slow_marker'));
  });
});
