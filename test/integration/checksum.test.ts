import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, runCli } from '../support/cli.js';

const files = {
  '001_widgets.sql':
    'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY);\nINSERT INTO widgets VALUES (1) ON CONFLICT DO NOTHING;\n',
  '002_gadgets.sql': 'CREATE TABLE IF NOT EXISTS gadgets (id bigint PRIMARY KEY);\n',
};
/** 001 as a Git autocrlf checkout and an editor leave it: CRLF, trailing spaces, no final newline. */
const crlfWithTrailingSpaces =
  'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY);   \r\nINSERT INTO widgets VALUES (1) ON CONFLICT DO NOTHING;\t';

let db: TestDatabase;
beforeEach(async () => (db = await freshDatabase()));
afterEach(async () => db.drop());

const env = (dir: string) => ({ DATABASE_URL: db.url, XYN_MIGRATIONS_DIR: dir });
const ledger = () =>
  db.query<{ id: string; checksum: string; content_checksum: string | null }>(
    `SELECT id, checksum, content_checksum FROM schema_migrations ORDER BY id`,
  );

describe('line endings and trailing whitespace are not drift', () => {
  it('an applied file converted to CRLF with trailing spaces: migrate and verify exit 0, noted at info, status says whitespace only', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    const before = await ledger();
    assert.ok(before.every((r) => r.content_checksum !== null && r.content_checksum.length === 64));

    writeFileSync(join(dir, '001_widgets.sql'), crlfWithTrailingSpaces);
    const migrate = await runCli([], env(dir));
    assert.equal(migrate.code, 0, migrate.stderr);
    const note = migrate.logs.find((l) => /whitespace only/.test(String(l.msg)));
    assert.equal(note?.level, 30, 'logged at info');
    assert.match(String(note?.msg), /001_widgets\.sql differs from the applied file in whitespace only/);
    assert.equal((await runCli(['verify'], env(dir))).code, 0);

    const status = await runCli(['status', '--json'], env(dir));
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as { migrations: { id: string; state: string; difference: string | null }[] };
    assert.deepEqual(
      doc.migrations.map((m) => [m.id, m.state, m.difference]),
      [
        ['001_widgets', 'applied', 'whitespace only'],
        ['002_gadgets', 'applied', null],
      ],
    );
    assert.match((await runCli(['status'], env(dir))).stdout, /001_widgets\s+applied \(whitespace only\)/);
    assert.deepEqual(await ledger(), before, 'the ledger keeps the checksums of what was applied');

    writeFileSync(join(dir, '001_widgets.sql'), crlfWithTrailingSpaces.replace('VALUES (1)', 'VALUES (2)'));
    for (const command of ['migrate', 'verify']) {
      const run = await runCli([command], env(dir));
      assert.equal(run.code, 5, `${command}: ${run.stderr}`);
      assert.match(run.lastMessage, /001_widgets\.sql changed after it was applied/);
    }
    assert.deepEqual(
      (await db.query(`SELECT id FROM widgets`)).map((r) => r.id as string),
      ['1'],
    );
  });

  it('baseline records the content checksum too: a baselined file converted to CRLF verifies', async () => {
    const dir = migrationsDir(files);
    const run = await runCli(['baseline', '002_gadgets'], env(dir));
    assert.equal(run.code, 0, run.stderr);
    assert.ok((await ledger()).every((r) => r.content_checksum?.length === 64));
    writeFileSync(join(dir, '001_widgets.sql'), crlfWithTrailingSpaces);
    const verify = await runCli(['verify'], env(dir));
    assert.equal(verify.code, 0, verify.stderr);
  });

  it('a ledger of an earlier version (raw checksums, no content_checksum column) accepts the CRLF file, and migrate records its content checksum', async () => {
    const dir = migrationsDir(files);
    assert.equal((await runCli([], env(dir))).code, 0);
    await db.query(`ALTER TABLE schema_migrations DROP COLUMN content_checksum`);
    const rawBefore = await db.query<{ id: string; checksum: string }>(`SELECT id, checksum FROM schema_migrations ORDER BY id`);

    writeFileSync(join(dir, '001_widgets.sql'), files['001_widgets.sql'].replaceAll('\n', '\r\n').trimEnd());
    const verify = await runCli(['verify'], env(dir));
    assert.equal(verify.code, 0, verify.stderr);

    const migrate = await runCli([], env(dir));
    assert.equal(migrate.code, 0, migrate.stderr);
    const after = await ledger();
    assert.deepEqual(
      after.map((r) => [r.id, r.checksum]),
      rawBefore.map((r) => [r.id, r.checksum]),
      'raw checksums kept: an older image rolled back to still compares them',
    );
    assert.ok(
      after.every((r) => r.content_checksum?.length === 64),
      'content checksums recorded',
    );

    // Now the row holds a content checksum: trailing whitespace is recognised too.
    writeFileSync(join(dir, '001_widgets.sql'), crlfWithTrailingSpaces);
    assert.equal((await runCli(['verify'], env(dir))).code, 0);
    assert.equal((await runCli([], env(dir))).code, 0);
  });
});
