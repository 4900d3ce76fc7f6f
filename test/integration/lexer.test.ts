/**
 * Files the server reads differently from the obvious reading: migrate runs exactly what
 * PostgreSQL sees, or refuses the file (exit 2, naming file:line:column) before anything runs.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { migrationsDir, runCli } from '../support/cli.js';
import { freshDatabase, ledgerIdsOf, type TestDatabase } from '../support/postgres.js';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const migrate = (files: Record<string, string>) => runCli(['migrate'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(files) });
const tableExists = async (name: string) => (await db.query('SELECT to_regclass($1) IS NOT NULL AS e', [name]))[0]!.e as boolean;

describe('migrate runs what PostgreSQL reads', () => {
  it('a lone CR ends a -- comment: the statement after it runs in a no-transaction file, not swallowed by the comment', async () => {
    const run = await migrate({ '001_cr.sql': '-- xyn:no-transaction\n-- a note\rCREATE TABLE t (x int);\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await tableExists('t'), true);
    assert.deepEqual(await ledgerIdsOf(db), ['001_cr']);
  });

  it("a COMMIT inside an E'' string continued on the next line stays in the string: the stored text is the file's", async () => {
    const run = await migrate({
      '001_notes.sql':
        "CREATE TABLE notes (n int, body text);\nINSERT INTO notes VALUES (1, E'a'\n'\\';COMMIT;');\n" +
        // -- comments may stand between the parts (libpg-query disagrees; the server does not)
        "INSERT INTO notes VALUES (2, E'b' -- note\r\n  -- more\n'\\';COMMIT;');\n",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await db.query('SELECT body FROM notes ORDER BY n'), [{ body: "a';COMMIT;" }, { body: "b';COMMIT;" }]);
  });

  it("a function named begin is no BEGIN ATOMIC body: the file's own COMMIT after it is blanked, and a failure after it leaves nothing", async () => {
    const run = await migrate({
      '001_begin.sql':
        'CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\nSELECT 1/0;\n',
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.lastMessage, /001_begin\.sql:5:1/);
    assert.equal(await tableExists('t'), false);
    assert.deepEqual(await db.query(`SELECT proname FROM pg_proc WHERE proname = 'begin'`), []);
  });

  it('a failed CREATE UNIQUE INDEX CONCURRENTLY on a schema-qualified table: the rerun drops the INVALID index in that schema and rebuilds it, unique', async () => {
    const dir = migrationsDir({
      '001_codes.sql':
        "CREATE SCHEMA IF NOT EXISTS s;\nCREATE TABLE IF NOT EXISTS s.codes (code text);\nINSERT INTO s.codes VALUES ('a'), ('a');\n",
      '002_unique.sql': '-- xyn:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS codes_code_key ON s.codes (code);\n',
    });
    const env = { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir };
    const validity = async () =>
      (await db.query<{ indisvalid: boolean }>(`SELECT indisvalid FROM pg_index WHERE indexrelid = 's.codes_code_key'::regclass`))[0]
        ?.indisvalid;
    const failed = await runCli(['migrate'], env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.lastMessage, /codes_code_key INVALID on s\.codes/);
    assert.equal(await validity(), false);
    await db.query(`DELETE FROM s.codes WHERE ctid = (SELECT max(ctid) FROM s.codes)`);
    const rerun = await runCli(['migrate'], env);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(rerun.logs.some((l) => /INVALID index left by an earlier failed concurrent build/.test(String(l.msg))));
    assert.equal(await validity(), true);
    assert.deepEqual(await ledgerIdsOf(db), ['001_codes', '002_unique']);
    await assert.rejects(db.query(`INSERT INTO s.codes VALUES ('a')`), /duplicate key/);
  });
});

describe('migrate refuses what it cannot run as written (exit 2, before anything runs)', () => {
  it('a NUL byte: exit 2 naming file:line:column, and not even the earlier file is applied', async () => {
    const run = await migrate({ '001_ok.sql': 'CREATE TABLE a (x int);\n', '002_nul.sql': 'SELECT 1;\nSELECT \u00002;\n' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /002_nul\.sql:2:8: a NUL byte/);
    assert.equal(await tableExists('a'), false);
  });

  it('a file with two byte-order marks: exit 2 at 1:1, saying to keep one at most', async () => {
    const run = await migrate({ '001_bom.sql': '\uFEFF\uFEFFCREATE TABLE a (x int);\n' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /001_bom\.sql:1:1: a second byte-order mark/);
    assert.equal(await tableExists('a'), false);
  });

  it('one byte-order mark is removed and the file runs', async () => {
    const run = await migrate({ '001_bom.sql': '\uFEFFCREATE TABLE a (x int);\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await tableExists('a'), true);
  });

  it('COPY … FROM STDIN without its \\. data end: exit 2 saying what to write instead, not a statement-timeout hint', async () => {
    const run = await migrate({ '001_copy.sql': 'CREATE TABLE a (x int);\nCOPY a (x) FROM stdin;\n1\n2\n' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /001_copy\.sql:2:1: COPY … FROM STDIN reads its rows from the client/);
    assert.doesNotMatch(run.lastMessage, /XYN_STATEMENT_TIMEOUT/);
    assert.equal(await tableExists('a'), false);
  });

  it('standard_conforming_strings = off: a plain string holding a backslash in any pending file is exit 2 naming the setting, before anything runs; one without runs', async () => {
    await db.query(`ALTER DATABASE ${db.name} SET standard_conforming_strings = off`);
    const dir = {
      '001_plain.sql': "CREATE TABLE paths (p text);\nINSERT INTO paths VALUES ('it''s'), (E'C:\\\\temp');\n",
      '002_backslash.sql': "INSERT INTO paths VALUES ('C:\\temp');\n",
    };
    const planned = await runCli(['plan'], { DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: migrationsDir(dir) });
    assert.equal(planned.code, 2, 'plan refuses what migrate would');
    assert.match(planned.lastMessage, /002_backslash\.sql:1:27: .*standard_conforming_strings = off/);
    const run = await migrate(dir);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lastMessage, /002_backslash\.sql:1:27: .*standard_conforming_strings = off/);
    assert.equal(await tableExists('paths'), false);
    const fixed = await migrate({ '001_plain.sql': dir['001_plain.sql'] });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(await ledgerIdsOf(db), ['001_plain']);
    assert.deepEqual(await db.query('SELECT p FROM paths ORDER BY p'), [{ p: 'C:\\temp' }, { p: "it's" }]);
  });
});
