import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  advisoryLocksIn,
  freshDatabase,
  ledgerIdsOf,
  testServer,
  urlFor,
  untilRunning,
  waitFor,
  type TestDatabase,
} from '../support/postgres.js';
import { migrationsDir, runCli, startCli } from '../support/cli.js';
import { proxyTo, reservePort } from '../support/proxy.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const base = {
  '001_initial_schema.sql':
    'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY); INSERT INTO widgets SELECT generate_series(1, 100) ON CONFLICT DO NOTHING;',
};
const ledgerIds = () => ledgerIdsOf(db);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const advisoryLocks = () => advisoryLocksIn(db);

describe('DDL behind a long transaction', () => {
  it('gives up on the table lock quickly so queries keep flowing, retries, and applies once the blocker is gone', async () => {
    const dir = migrationsDir(base);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    writeFileSync(join(dir, '002_colour.sql'), 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS colour text;');
    const blocker = await db.client();
    await blocker.query('BEGIN; SELECT count(*) FROM widgets;'); // holds ACCESS SHARE, like a long report
    const { child, result } = startCli([], {
      DATABASE_URL: db.url,
      XYN_MIGRATIONS_DIR: dir,
      XYN_DDL_LOCK_TIMEOUT: '0.2',
      XYN_DDL_RETRIES: '30',
    });
    // The blocker stays until the runner has given up once (a loaded machine may start it late).
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const reader = await db.client();
    let slowest = 0;
    const until = Date.now() + 1500;
    const deadline = Date.now() + 30_000;
    while ((Date.now() < until || !stderr.includes('gave up waiting for a table lock')) && Date.now() < deadline) {
      const started = Date.now();
      await reader.query('SELECT count(*) FROM widgets');
      slowest = Math.max(slowest, Date.now() - started);
    }
    await blocker.query('COMMIT');
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(slowest < 1000, `an ordinary query waited ${slowest} ms behind the migration`);
    const retries = run.logs.filter((l) => /gave up waiting for a table lock/.test(String(l.msg)));
    assert.ok(retries.length >= 1, 'the migration retried');
    const blockerPid = (blocker as unknown as { processID: number }).processID;
    assert.ok(
      retries.some((l) => (l.oldestTransactions as { pid: number }[]).some((t) => t.pid === blockerPid)),
      'the log names the blocking pid',
    );
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_colour']);
  });

  it('exits 1 with a clear message when the retries run out, and leaves nothing of the migration', async () => {
    const dir = migrationsDir(base);
    assert.equal((await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir })).code, 0);
    writeFileSync(join(dir, '002_colour.sql'), 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS colour text;');
    const blocker = await db.client();
    await blocker.query('BEGIN; SELECT count(*) FROM widgets;');
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, XYN_DDL_LOCK_TIMEOUT: '0.1', XYN_DDL_RETRIES: '1' });
    await blocker.query('ROLLBACK');
    assert.equal(run.code, 1);
    assert.match(run.lastMessage, /002_colour\.sql:1:1/);
    assert.match(run.lastMessage, /55P03/);
    assert.match(run.lastMessage, /XYN_DDL_LOCK_TIMEOUT/);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
    const columns = await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'widgets' AND column_name = 'colour'`);
    assert.equal(columns.length, 0);
  });
});

describe('connection lost mid-migration', () => {
  it('a terminated backend is exit 1 with a clear message, nothing of the migration, no lock; a rerun completes', async () => {
    const dir = migrationsDir({ ...base, '002_slow.sql': 'CREATE TABLE IF NOT EXISTS slow_marker (id int);\nSELECT pg_sleep(3);' });
    const { result } = startCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    await untilRunning(db, 'pg_sleep(3)');
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'xyn-migrate'`, [
      db.name,
    ]);
    const run = await result;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /connection to PostgreSQL was lost while applying 002_slow\.sql/);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
    assert.equal((await db.query(`SELECT to_regclass('slow_marker') AS t`))[0]!.t, null);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
    await waitFor('the session to end', async () => (await advisoryLocks()) === 0, 5000);
    const rerun = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_slow']);
  });
});

describe('the TCP connection dropped mid-migration', () => {
  it('is exit 1 with a clear message, never a hang; the server rolls the migration back and a rerun completes', async () => {
    const dir = migrationsDir({ ...base, '002_slow.sql': 'CREATE TABLE IF NOT EXISTS slow_marker (id int);\nSELECT pg_sleep(2);' });
    const proxy = await proxyTo(testServer().port);
    await proxy.listen();
    try {
      const { result } = startCli([], { DATABASE_URL: urlFor(db.name, testServer(), { port: proxy.port }), XYN_MIGRATIONS_DIR: dir });
      await untilRunning(db, 'pg_sleep(2)');
      proxy.cutAll();
      const run = await result;
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.lastMessage, /connection to PostgreSQL was lost while applying 002_slow\.sql/);
    } finally {
      await proxy.close();
    }
    // The server notices the dead client when the statement ends, and rolls back.
    await waitFor('the orphaned session to end', async () => (await advisoryLocks()) === 0, 10_000);
    assert.equal((await db.query(`SELECT to_regclass('slow_marker') AS t`))[0]!.t, null);
    const rerun = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_slow']);
  });
});

describe('a read-only database', () => {
  it('is waited for until the deadline, then exit 3 saying it is read-only', async () => {
    await db.query(`ALTER DATABASE ${db.name} SET default_transaction_read_only = on`);
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(base), XYN_WAIT_TIMEOUT: '1.5' });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /read-only/);
    assert.ok(run.logs.some((l) => l.msg === 'waiting for PostgreSQL' && /read-only/.test(String(l.reason))));
  });

  it('becomes writable during the wait (a failover): each attempt is a fresh connection, so the job proceeds', async () => {
    await db.query(`ALTER DATABASE ${db.name} SET default_transaction_read_only = on`);
    const { result } = startCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(base), XYN_WAIT_TIMEOUT: '20' });
    await sleep(1500);
    await db.query(`ALTER DATABASE ${db.name} RESET default_transaction_read_only`);
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
  });
});

describe('several hosts in one URL', () => {
  it('a dead first host costs only its connect attempt: migrate uses the next one, and says which answered', async () => {
    const dead = await reservePort();
    const server = testServer();
    const url = urlFor(db.name, server).replace(`@${server.host}:${server.port}/`, `@127.0.0.1:${dead},${server.host}:${server.port}/`);
    const run = await runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: migrationsDir(base) });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.logs.some((l) => l.msg === 'waiting for PostgreSQL'), 'the first attempt succeeded: the dead host cost no wait');
    assert.ok(
      run.logs.some((l) => l.msg === 'PostgreSQL is ready' && l.host === `${server.host}:${server.port}/${db.name}`),
      'names the host that answered',
    );
    assert.deepEqual(await ledgerIds(), ['001_initial_schema']);
    assert.ok(!run.stderr.includes(server.password));
    const status = await runCli(['status'], {
      PGHOST: `127.0.0.1,${server.host}`,
      PGPORT: `${dead},${server.port}`,
      PGUSER: server.user,
      PGPASSWORD: server.password,
      PGDATABASE: db.name,
      XYN_MIGRATIONS_DIR: migrationsDir(base),
    });
    assert.equal(status.code, 0, status.stderr);
  });

  it('when no host answers, exit 3 names each host and why', async () => {
    const [one, two] = [await reservePort(), await reservePort()];
    const url = urlFor(db.name).replace(/@[^/]+\//, `@127.0.0.1:${one},127.0.0.1:${two}/`);
    const run = await runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: migrationsDir(base), XYN_WAIT_TIMEOUT: '1' });
    assert.equal(run.code, 3);
    assert.match(
      run.lastMessage,
      new RegExp(`127\\.0\\.0\\.1:${one}/${db.name}: ECONNREFUSED.*127\\.0\\.0\\.1:${two}/${db.name}: ECONNREFUSED`),
    );
  });
});

describe('bad inputs', () => {
  it('a password full of URL special characters works, percent-encoded, and is never printed', async () => {
    const password = 'p@ss:w/rd%?#&=+ é';
    await db.query(`CREATE ROLE odd_${db.name} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
    await db.query(`ALTER DATABASE ${db.name} OWNER TO odd_${db.name}`);
    const url = urlFor(db.name, testServer(), { user: `odd_${db.name}`, password });
    const run = await runCli([], { DATABASE_URL: url, XYN_MIGRATIONS_DIR: migrationsDir({ ...base, '002_bad.sql': 'SELEC 1;' }) });
    assert.equal(run.code, 1, run.stderr);
    for (const form of [password, encodeURIComponent(password)]) assert.ok(!run.stderr.includes(form) && !run.stdout.includes(form));
    await db.query(`REASSIGN OWNED BY odd_${db.name} TO postgres; DROP OWNED BY odd_${db.name}`);
    await db.query(`ALTER DATABASE ${db.name} OWNER TO postgres`);
    await db.query(`DROP ROLE odd_${db.name}`);
  });

  it('a malformed DATABASE_URL is exit 2 without echoing it', async () => {
    const run = await runCli([], { DATABASE_URL: 'postgres://app:Sup3rSecret@db:notaport/xyn', XYN_MIGRATIONS_DIR: migrationsDir(base) });
    assert.equal(run.code, 2);
    assert.match(run.lastMessage, /DATABASE_URL/);
    assert.ok(!run.stderr.includes('Sup3rSecret'));
  });

  it('an empty folder, a dangling file and a file that is not UTF-8 are exit 2 naming what is wrong', async () => {
    const empty = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir({}) });
    assert.equal(empty.code, 2);
    assert.match(empty.lastMessage, /holds no \.sql files/);
    const dangling = migrationsDir(base);
    symlinkSync('/nonexistent/file.sql', join(dangling, '002_gone.sql'));
    const unreadable = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dangling });
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.lastMessage, /002_gone\.sql cannot be read \(ENOENT\)/);
    const latin1 = migrationsDir(base);
    writeFileSync(
      join(latin1, '002_latin1.sql'),
      Buffer.from([0x2d, 0x2d, 0x20, 0xe9, 0x0a, 0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x31, 0x3b]),
    );
    const notUtf8 = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: latin1 });
    assert.equal(notUtf8.code, 2);
    assert.match(notUtf8.lastMessage, /002_latin1\.sql is not UTF-8/);
    assert.equal((await db.query(`SELECT to_regclass('schema_migrations') AS t`))[0]!.t, null);
  });

  it('a 100 MB migration file applies correctly', async () => {
    const comment = `-- ${'x'.repeat(1022)}\n`;
    const big = comment.repeat(100 * 1024) + 'CREATE TABLE IF NOT EXISTS after_the_comment (id int);\n';
    const run = await runCli([], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir({ ...base, '002_big.sql': big }) });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await ledgerIds(), ['001_initial_schema', '002_big']);
  });
});
