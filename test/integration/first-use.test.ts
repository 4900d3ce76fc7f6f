/**
 * What a new user meets first: new on a fresh project, baseline by number, migrate --json, the
 * messages of a wrong password and of a refused plan, and log lines that say what they count.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, ledgerIdsOf, testServer, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

const files = {
  '001_initial_schema.sql': 'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY);',
  '002_add_name.sql': 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS name text;',
  '003_add_size.sql': 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS size int;',
};

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const env = (dir: string, more: Record<string, string> = {}) => ({ DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir, ...more });

describe('new', () => {
  it('on a fresh project creates the migrations folder and the first file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'xyn-fresh-')), 'migrations');
    const run = await runCli(['new', 'create_widgets'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(dir), ['001_create_widgets.sql']);
  });

  it('refuses a name that exists already, whatever its number (exit 2), and writes no second file', async () => {
    const dir = migrationsDir(files);
    const run = await runCli(['new', 'add', 'name'], { XYN_MIGRATIONS_DIR: dir });
    assert.equal(run.code, 2);
    assert.match(run.lastMessage, /^A migration named add_name exists already: 002_add_name\.sql/);
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(files));
    assert.equal((await runCli(['new', 'add_colour'], { XYN_MIGRATIONS_DIR: dir })).code, 0);
    assert.equal((await runCli(['new', 'add_colour'], { XYN_MIGRATIONS_DIR: dir })).code, 2);
    assert.ok(existsSync(join(dir, '004_add_colour.sql')) && !existsSync(join(dir, '005_add_colour.sql')));
  });
});

describe('baseline', () => {
  it('takes a number alone for the id, and logs what it recorded, not the whole ledger', async () => {
    const dir = migrationsDir(files);
    const run = await runCli(['baseline', '002'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_initial_schema', '002_add_name']);
    assert.ok(
      run.logs.every((l) => !('ledger' in l)),
      run.stderr,
    );
    assert.equal(run.lastMessage, 'baseline recorded: 2 migrations up to 002_add_name marked applied');
    const unknown = await runCli(['baseline', '7'], env(dir));
    assert.equal(unknown.code, 2);
    assert.match(unknown.lastMessage, /7 is not a migration of /);
  });
});

describe('migrate --json', () => {
  it('prints the result document on success: what this run applied, and the ledger', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli(['baseline', '001_initial_schema'], env(dir))).code, 0);
    await db.query('CREATE TABLE widgets (id bigint PRIMARY KEY)');
    const run = await runCli(['migrate', '--json'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { applied: { id: string; duration_ms: number; attempts: number }[]; ledger: { id: string }[] };
    assert.deepEqual(
      doc.applied.map((a) => [a.id, a.attempts]),
      [
        ['002_add_name', 1],
        ['003_add_size', 1],
      ],
    );
    assert.deepEqual(
      doc.ledger.map((r) => r.id),
      await ledgerIdsOf(db),
    );
    const again = JSON.parse((await runCli(['migrate', '--json'], env(dir))).stdout) as typeof doc;
    assert.deepEqual(again.applied, []);
    assert.equal(again.ledger.length, 3);
  });
});

describe('log lines that say what they count', () => {
  it('nothing to apply counts the files, the rows and what this run applied, each under its own name', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    await db.query(`INSERT INTO schema_migrations (id) VALUES ('007_from_a_newer_image')`);
    const run = await runCli([], env(dir));
    assert.equal(run.code, 0, run.stderr);
    const line = run.logs.find((l) => l.msg === 'nothing to apply');
    assert.ok(line, run.stderr);
    assert.deepEqual([line.applied, line.files, line.ledgerRows, 'migrations' in line], [0, 3, 4, false]);
  });

  it('verify names no empty list on its log line, and prints its document with --json', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    const run = await runCli(['verify'], env(dir, { XYN_LOG_FORMAT: 'pretty' }));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /verified: required migrations applied/);
    assert.ok(!/=\[\]/.test(run.stderr), run.stderr);
    const json = await runCli(['verify', '--json'], env(dir));
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { verified: true, allowed: [], ahead: [] });
  });

  it('plan says once what migrate would refuse', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    writeFileSync(join(dir, '002_add_name.sql'), 'ALTER TABLE widgets ADD COLUMN IF NOT EXISTS name varchar(10);');
    const run = await runCli(['plan'], env(dir, { XYN_LOG_FORMAT: 'pretty' }));
    assert.equal(run.code, 5);
    const said = `${run.stdout}${run.stderr}`.split('002_add_name.sql changed after it was applied').length - 1;
    assert.equal(said, 1, `${run.stdout}${run.stderr}`);
  });
});

describe('a refused login', () => {
  it('names the PG* variables it used when no DATABASE_URL is set', async () => {
    const server = testServer();
    const run = await runCli(['status'], {
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGUSER: server.user,
      PGPASSWORD: 'not-the-password',
      PGDATABASE: db.name,
      XYN_MIGRATIONS_DIR: migrationsDir(files),
    });
    assert.equal(run.code, 3);
    assert.match(run.lastMessage, /authentication failed .*check the user and password in PGUSER\/PGPASSWORD \(no DATABASE_URL is set\)/);
    assert.ok(!run.lastMessage.includes('DATABASE_URL`') && !run.lastMessage.includes('in DATABASE_URL'));
  });
});
