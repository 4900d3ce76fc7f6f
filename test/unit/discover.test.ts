import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { discoverMigrations } from '../../src/migrations/discover.js';
import { MAX_MIGRATION_FILE_BYTES } from '../../src/migrations/file-rules.js';
import { assertConfigError } from '../support/assertions.js';

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir holding `files` (name → text or bytes). */
function migrationsFolder(files: Record<string, string | Buffer>): string {
  const folder = mkdtempSync(join(tmpdir(), 'xyn-discover-'));
  folders.push(folder);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
  return folder;
}

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

describe('discoverMigrations: naming', () => {
  it('reads NNN_name.sql files with their id, number, file name and path', () => {
    const folder = migrationsFolder({ '001_initial_schema.sql': 'CREATE TABLE a (id int);\n' });
    const [file] = discoverMigrations(folder);
    assert.equal(file?.id, '001_initial_schema');
    assert.equal(file?.number, 1n);
    assert.equal(file?.fileName, '001_initial_schema.sql');
    assert.equal(file?.path, join(folder, '001_initial_schema.sql'));
  });

  for (const misnamed of ['1_a.sql', '01_a.sql', 'abc.sql', '001-a.sql', '001_.sql', '001_a.SQL']) {
    it(`a .sql file named ${misnamed} is a ConfigError naming the file, not silently skipped`, () => {
      const folder = migrationsFolder({ '001_ok.sql': 'SELECT 1;', [misnamed]: 'SELECT 1;' });
      const error = assertConfigError(() => discoverMigrations(folder), new RegExp(misnamed.replace(/\./g, '\\.')));
      assert.equal(error.fields.file, misnamed);
    });
  }

  it('001_a.sql and 0001_b.sql share the number 1 and collide, naming both files', () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 2;' });
    assertConfigError(() => discoverMigrations(folder), /001_a\.sql/, /0001_b\.sql/);
  });

  it('orders by number, not lexicographically: 1000_x.sql comes after 999_y.sql', () => {
    const folder = migrationsFolder({
      '1000_x.sql': 'SELECT 1;',
      '999_y.sql': 'SELECT 2;',
      '002_b.sql': 'SELECT 3;',
      '010_c.sql': 'SELECT 4;',
    });
    const files = discoverMigrations(folder);
    assert.deepEqual(
      files.map((f) => f.id),
      ['002_b', '010_c', '999_y', '1000_x'],
    );
    assert.deepEqual(
      files.map((f) => f.number),
      [2n, 10n, 999n, 1000n],
    );
  });

  it('numbers longer than a double can hold are compared exactly', () => {
    const folder = migrationsFolder({ '20240101000000001_a.sql': 'SELECT 1;', '20240101000000002_b.sql': 'SELECT 2;' });
    assert.deepEqual(
      discoverMigrations(folder).map((f) => f.number),
      [20240101000000001n, 20240101000000002n],
    );
  });

  it('ignores files that do not end in .sql and subdirectories', () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;', 'README.md': '# notes', '002_b.sql.bak': 'SELECT 2;', '.gitkeep': '' });
    mkdirSync(join(folder, 'archive'));
    writeFileSync(join(folder, 'archive', '003_old.sql'), 'SELECT 3;');
    assert.deepEqual(
      discoverMigrations(folder).map((f) => f.id),
      ['001_a'],
    );
  });

  it('a down file (NNN_name.down.sql) is refused naming it and saying what to do, never applied forward', () => {
    const folder = migrationsFolder({ '007_a.sql': 'SELECT 1;', '008_add_tags.down.sql': 'DROP TABLE tags;' });
    const error = assertConfigError(() => discoverMigrations(folder), /008_add_tags\.down\.sql/, /forward only/, /subfolder/);
    assert.equal(error.fields.file, '008_add_tags.down.sql');
  });

  it('a golang-migrate pair is told about its down file, not told to renumber one of them', () => {
    const folder = migrationsFolder({ '008_x.up.sql': 'CREATE TABLE x ();', '008_x.down.sql': 'DROP TABLE x;' });
    const error = assertConfigError(() => discoverMigrations(folder), /008_x\.down\.sql is a down \(rollback\) migration/);
    assert.doesNotMatch(error.message, /renumber/);
  });

  it('NNN_name.up.sql is the migration NNN_name, so renaming it to NNN_name.sql later keeps its id', () => {
    const folder = migrationsFolder({ '007_a.sql': 'SELECT 1;', '008_x.up.sql': 'CREATE TABLE x ();' });
    const files = discoverMigrations(folder);
    assert.deepEqual(
      files.map((f) => [f.id, f.number, f.fileName]),
      [
        ['007_a', 7n, '007_a.sql'],
        ['008_x', 8n, '008_x.up.sql'],
      ],
    );
  });

  it('NNN_x.up.sql beside NNN_x.sql is one number twice: exit 2 naming both', () => {
    const folder = migrationsFolder({ '008_x.up.sql': 'SELECT 1;', '008_x.sql': 'SELECT 1;' });
    assertConfigError(() => discoverMigrations(folder), /008_x\.sql/, /008_x\.up\.sql/);
  });

  it('timestamp numbers and mixed-case names are migrations (as dbmate and Prisma name them)', () => {
    const folder = migrationsFolder({ '20240101120000_AddTags.sql': 'SELECT 1;', '20240102090000_add_Users.sql': 'SELECT 2;' });
    assert.deepEqual(
      discoverMigrations(folder).map((f) => [f.id, f.number]),
      [
        ['20240101120000_AddTags', 20240101120000n],
        ['20240102090000_add_Users', 20240102090000n],
      ],
    );
  });

  it('a folder named like a migration is a ConfigError naming it, not silently skipped', () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;' });
    mkdirSync(join(folder, '004_dir.sql'));
    const error = assertConfigError(() => discoverMigrations(folder), /Migration file 004_dir\.sql is a folder, not a regular file/);
    assert.equal(error.fields.file, '004_dir.sql');
  });

  it('a link to a device (/dev/null) is a ConfigError naming it; a link to a regular file (a ConfigMap volume) is read', () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;' });
    // A ConfigMap volume: ..data/ holds the files, each name is a link into it.
    mkdirSync(join(folder, '..data'));
    writeFileSync(join(folder, '..data', '002_b.sql'), 'SELECT 2;');
    symlinkSync(join('..data', '002_b.sql'), join(folder, '002_b.sql'));
    assert.deepEqual(
      discoverMigrations(folder).map((f) => [f.id, f.text, f.checksum]),
      [
        ['001_a', 'SELECT 1;', sha256('SELECT 1;')],
        ['002_b', 'SELECT 2;', sha256('SELECT 2;')],
      ],
    );
    symlinkSync('/dev/null', join(folder, '003_c.sql'));
    assertConfigError(() => discoverMigrations(folder), /Migration file 003_c\.sql is a character device, not a regular file/);
  });

  it('a socket named like a migration is a ConfigError naming it', async () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(folder, '002_socket.sql'), resolve));
    try {
      assertConfigError(() => discoverMigrations(folder), /Migration file 002_socket\.sql is a socket, not a regular file/);
    } finally {
      server.close();
    }
  });

  it(`a file larger than ${MAX_MIGRATION_FILE_BYTES / 1024 / 1024} MiB is a ConfigError naming it, before it is read`, () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;' });
    // A sparse file: no disk.
    writeFileSync(join(folder, '002_big.sql'), '');
    truncateSync(join(folder, '002_big.sql'), MAX_MIGRATION_FILE_BYTES + 1);
    const error = assertConfigError(
      () => discoverMigrations(folder, { lazy: true }),
      /Migration file 002_big\.sql is larger than 256 MiB/,
      /split it/,
    );
    assert.equal(error.fields.file, '002_big.sql');
  });

  it('an empty folder is a ConfigError', () => {
    const folder = migrationsFolder({});
    assertConfigError(() => discoverMigrations(folder), /no \.sql files/);
  });

  it('a folder with no .sql file among other files is a ConfigError', () => {
    const folder = migrationsFolder({ 'README.md': '# notes' });
    assertConfigError(() => discoverMigrations(folder), /no \.sql files/);
  });

  it('a missing folder is a ConfigError naming the folder and XYN_MIGRATIONS_DIR', () => {
    const missing = join(tmpdir(), `xyn-discover-missing-${process.pid}-${Date.now()}`);
    const error = assertConfigError(() => discoverMigrations(missing), /cannot be read/, /ENOENT/);
    assert.ok(error.message.includes(missing));
    assert.equal(error.fields.variable, 'XYN_MIGRATIONS_DIR');
  });
});

describe('discoverMigrations: content', () => {
  it('a file that is not valid UTF-8 is a ConfigError naming the file', () => {
    const folder = migrationsFolder({
      '001_a.sql': 'SELECT 1;',
      '002_latin1.sql': Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x27, 0xe9, 0x27, 0x3b]),
    });
    assertConfigError(() => discoverMigrations(folder), /002_latin1\.sql/, /UTF-8/);
  });

  it('the checksum is the sha256 of the file bytes, in hex', () => {
    const content = 'CREATE TABLE a (id int);\n-- café 😀\n';
    const folder = migrationsFolder({ '001_a.sql': content });
    const [file] = discoverMigrations(folder);
    assert.equal(file?.checksum, sha256(Buffer.from(content, 'utf8')));
    assert.match(file?.checksum ?? '', /^[0-9a-f]{64}$/);
  });

  it('a byte-order mark is dropped from the text but still counted in the checksum', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT 1;\n')]);
    const folder = migrationsFolder({ '001_a.sql': bytes });
    const [file] = discoverMigrations(folder);
    assert.equal(file?.text, 'SELECT 1;\n');
    assert.equal(file?.checksum, sha256(bytes));
  });

  it('files differing by one byte have different checksums', () => {
    const folder = migrationsFolder({ '001_a.sql': 'SELECT 1;', '002_b.sql': 'SELECT 1; ' });
    const [a, b] = discoverMigrations(folder);
    assert.notEqual(a?.checksum, b?.checksum);
  });

  it('keeps the file text and its lexed statements', () => {
    const content = 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.text, content);
    assert.deepEqual(
      file?.statements.map((s) => s.text),
      ['CREATE TABLE a (id int)', 'CREATE TABLE b (id int)'],
    );
  });
});

describe('discoverMigrations: -- xyn:no-transaction', () => {
  it('a file without the directive runs in a transaction', () => {
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': 'CREATE TABLE a (id int);\n' }));
    assert.equal(file?.mode, 'transaction');
  });

  it('the directive on the first line makes the file no-transaction, its executable text unchanged', () => {
    const content = '-- xyn:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.mode, 'no-transaction');
    assert.equal(file?.executable, content);
  });

  it('the directive among the leading comments, after other comment lines, still counts', () => {
    const content = '-- Add an index without blocking writes.\n\n--   xyn:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.mode, 'no-transaction');
  });

  it('the directive after the first statement does not count', () => {
    const content = 'CREATE TABLE a (id int);\n-- xyn:no-transaction\nCREATE TABLE b (id int);\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.mode, 'transaction');
  });

  it('the directive inside a string does not count', () => {
    const content = "SELECT '\n-- xyn:no-transaction\n';\n";
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.mode, 'transaction');
  });

  it('a no-transaction file with its own BEGIN is a ConfigError naming file:line', () => {
    const folder = migrationsFolder({ '001_a.sql': '-- xyn:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n' });
    assertConfigError(() => discoverMigrations(folder), /001_a\.sql:2:1/, /BEGIN/);
  });
});

describe('discoverMigrations: -- xyn:post-deploy', () => {
  it('the directive among the leading comments makes the file post-deploy; with no-transaction beside it, both count', () => {
    const files = discoverMigrations(
      migrationsFolder({
        '001_a.sql': 'CREATE TABLE a (id int, note text);\n',
        '002_drop.sql': '-- The old release reads a.note.\n-- xyn:post-deploy\nALTER TABLE a DROP COLUMN IF EXISTS note;\n',
        '003_idx.sql': '-- xyn:no-transaction\n-- xyn:post-deploy\nDROP INDEX CONCURRENTLY IF EXISTS i;\n',
      }),
    );
    assert.deepEqual(
      files.map((f) => [f.id, f.phase, f.mode]),
      [
        ['001_a', 'pre', 'transaction'],
        ['002_drop', 'post', 'transaction'],
        ['003_idx', 'post', 'no-transaction'],
      ],
    );
  });

  it('a longer word that starts with the directive does not count; one followed by a space or CRLF does', () => {
    const files = discoverMigrations(
      migrationsFolder({
        '001_a.sql': '-- xyn:post-deploy-later\n-- xyn:no-transaction-please\nCREATE TABLE a (id int);\n',
        '002_b.sql': '-- xyn:post-deploy (the old release reads a)\r\n-- xyn:no-transaction\r\nDROP TABLE a;\n',
      }),
    );
    assert.deepEqual(
      files.map((f) => [f.phase, f.mode]),
      [
        ['pre', 'transaction'],
        ['post', 'no-transaction'],
      ],
    );
  });

  it('the directive after the first statement, or inside a string, does not count', () => {
    const files = discoverMigrations(
      migrationsFolder({
        '001_a.sql': 'CREATE TABLE a (id int);\n-- xyn:post-deploy\nCREATE TABLE b (id int);\n',
        '002_b.sql': "SELECT '\n-- xyn:post-deploy\n';\n",
      }),
    );
    assert.deepEqual(
      files.map((f) => f.phase),
      ['pre', 'pre'],
    );
  });
});

describe('discoverMigrations: the file’s own transaction control', () => {
  const seed = [
    '-- 002_seed: in the style of the seed template',
    'BEGIN;',
    '',
    'CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY, name text NOT NULL);',
    "INSERT INTO widgets VALUES (1, 'BEGIN; COMMIT;') ON CONFLICT DO NOTHING;",
    '',
    'COMMIT;',
    '',
    '-- verification',
    'SELECT count(*) FROM widgets;',
    "INSERT INTO schema_migrations (id) VALUES ('002_seed') ON CONFLICT (id) DO NOTHING;",
    '',
  ].join('\n');

  it('a seed-style file keeps its length and lines, with its own BEGIN and COMMIT blanked by spaces', () => {
    const [file] = discoverMigrations(migrationsFolder({ '002_seed.sql': seed }));
    const executable = file!.executable;
    assert.equal(file?.mode, 'transaction');
    assert.equal(executable.length, seed.length);
    const lines = executable.split('\n');
    const originalLines = seed.split('\n');
    assert.equal(lines.length, originalLines.length);
    assert.equal(lines[1], ' '.repeat('BEGIN;'.length));
    assert.equal(lines[6], ' '.repeat('COMMIT;'.length));
    for (const i of [0, 2, 3, 4, 5, 7, 8, 9, 10, 11]) assert.equal(lines[i], originalLines[i], `line ${i + 1} is kept`);
  });

  it('everything after the file’s COMMIT (verification SELECT, its own ledger INSERT) stays in the executable text', () => {
    const [file] = discoverMigrations(migrationsFolder({ '002_seed.sql': seed }));
    const executable = file!.executable;
    assert.ok(executable.includes('SELECT count(*) FROM widgets;'));
    assert.ok(executable.includes("INSERT INTO schema_migrations (id) VALUES ('002_seed') ON CONFLICT (id) DO NOTHING;"));
  });

  it('BEGIN and COMMIT inside a string literal are not blanked', () => {
    const [file] = discoverMigrations(migrationsFolder({ '002_seed.sql': seed }));
    assert.ok(file!.executable.includes("INSERT INTO widgets VALUES (1, 'BEGIN; COMMIT;') ON CONFLICT DO NOTHING;"));
  });

  it('the text as read is left untouched', () => {
    const [file] = discoverMigrations(migrationsFolder({ '002_seed.sql': seed }));
    assert.equal(file?.text, seed);
  });

  it('a file with CRLF line endings keeps its CR and LF characters outside the blanked BEGIN; and COMMIT;', () => {
    const content = 'BEGIN;\r\nCREATE TABLE a (id int);\r\nCOMMIT;\r\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.executable, '      \r\nCREATE TABLE a (id int);\r\n       \r\n');
  });

  it('START TRANSACTION …; and END; are blanked like BEGIN and COMMIT', () => {
    const content = 'START TRANSACTION ISOLATION LEVEL READ COMMITTED;\nCREATE TABLE a (id int);\nEND;\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(
      file?.executable,
      `${' '.repeat('START TRANSACTION ISOLATION LEVEL READ COMMITTED;'.length)}\nCREATE TABLE a (id int);\n${' '.repeat(4)}\n`,
    );
  });

  it('BEGIN inside a DO body, a BEGIN ATOMIC function or a comment is kept', () => {
    const content = [
      '-- BEGIN; this comment stays',
      'DO $$ BEGIN PERFORM 1; END $$;',
      'CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;',
      '',
    ].join('\n');
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.executable, content);
  });

  it('the file’s COMMIT after a function with a parameter named begin is still blanked', () => {
    const fn = 'CREATE FUNCTION starts_at(begin timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT begin $$;';
    const content = `BEGIN;\n${fn}\nCOMMIT;\n`;
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.executable, `${' '.repeat(6)}\n${fn}\n${' '.repeat(7)}\n`);
  });

  it('ROLLBACK TO SAVEPOINT is allowed and kept', () => {
    const content = 'SAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;\n';
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.executable, content);
  });

  it('a top-level ROLLBACK is a ConfigError naming file:line', () => {
    const folder = migrationsFolder({ '003_undo.sql': 'BEGIN;\nCREATE TABLE a (id int);\n\nROLLBACK;\n' });
    assertConfigError(() => discoverMigrations(folder), /003_undo\.sql:4:1/, /ROLLBACK/);
  });

  it('a top-level ABORT is a ConfigError naming file:line', () => {
    const folder = migrationsFolder({ '003_undo.sql': 'CREATE TABLE a (id int);\n  ABORT;\n' });
    assertConfigError(() => discoverMigrations(folder), /003_undo\.sql:2:3/);
  });

  it('a top-level COMMIT PREPARED or PREPARE TRANSACTION is a ConfigError naming file:line', () => {
    assertConfigError(() => discoverMigrations(migrationsFolder({ '001_a.sql': "SELECT 1;\nCOMMIT PREPARED 'x';\n" })), /001_a\.sql:2:1/);
    assertConfigError(() => discoverMigrations(migrationsFolder({ '001_a.sql': "PREPARE TRANSACTION 'x';\n" })), /001_a\.sql:1:1/);
  });

  it('a top-level ROLLBACK PREPARED is a ConfigError naming file:line, like COMMIT PREPARED', () => {
    const folder = migrationsFolder({ '001_a.sql': "SELECT 1;\nROLLBACK PREPARED 'x';\n" });
    assertConfigError(() => discoverMigrations(folder), /001_a\.sql:2:1/);
  });
});

describe('discoverMigrations: what only psql understands, and broken files', () => {
  it('a psql meta-command is a ConfigError naming file:line and the command', () => {
    const folder = migrationsFolder({ '004_meta.sql': 'CREATE TABLE a (id int);\n\\set ON_ERROR_STOP on\n' });
    assertConfigError(() => discoverMigrations(folder), /004_meta\.sql:2:1/, /\\set ON_ERROR_STOP on/);
  });

  it('\\i is a ConfigError too', () => {
    const folder = migrationsFolder({ '004_meta.sql': '\\i other.sql\n' });
    assertConfigError(() => discoverMigrations(folder), /004_meta\.sql:1:1/, /\\i other\.sql/);
  });

  it('a backslash inside a string is not a meta-command', () => {
    const content = "INSERT INTO paths VALUES ('C:\\temp'), (E'\\\\server');\n";
    const [file] = discoverMigrations(migrationsFolder({ '001_a.sql': content }));
    assert.equal(file?.executable, content);
  });

  it('a NUL byte anywhere is a ConfigError naming file:line:column, before anything connects', () => {
    const folder = migrationsFolder({ '005_nul.sql': 'SELECT 1;\r\nSELECT \u00002;\n' });
    assertConfigError(() => discoverMigrations(folder), /005_nul\.sql:2:8/, /NUL byte/);
  });

  it('a file with two byte-order marks is a ConfigError at 1:1 (one is removed, the second would reach the server)', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const folder = migrationsFolder({ '005_bom.sql': Buffer.concat([bom, bom, Buffer.from('SELECT 1;\n')]) });
    assertConfigError(() => discoverMigrations(folder), /005_bom\.sql:1:1/, /second byte-order mark/);
    const one = discoverMigrations(migrationsFolder({ '005_bom.sql': Buffer.concat([bom, Buffer.from('SELECT 1;\n')]) }));
    assert.equal(one[0]?.text, 'SELECT 1;\n');
  });

  it('COPY … FROM STDIN is a ConfigError naming file:line:column and saying what to write instead', () => {
    const folder = migrationsFolder({ '005_copy.sql': 'CREATE TABLE t (x int);\nCOPY t (x) FROM stdin;\n1\n2\n' });
    assertConfigError(() => discoverMigrations(folder), /005_copy\.sql:2:1/, /COPY … FROM STDIN/, /INSERT … VALUES/);
    const withData = migrationsFolder({ '005_copy.sql': 'COPY t FROM STDIN WITH (FORMAT csv);\n1\n\\.\n' });
    assertConfigError(() => discoverMigrations(withData), /005_copy\.sql:1:1/, /COPY … FROM STDIN/);
  });

  it('a lone CR ends a -- comment: the statement after it is a statement of a no-transaction file, at its line', () => {
    const text = '-- xyn:no-transaction\n-- a note\rCREATE TABLE t (x int);\n';
    const [file] = discoverMigrations(migrationsFolder({ '006_cr.sql': text }));
    assert.deepEqual(
      file?.statements.map((s) => s.text),
      ['CREATE TABLE t (x int)'],
    );
  });

  it("a COMMIT inside an E'' literal continued on the next line is not blanked: the text the server gets is the file's", () => {
    const text = "INSERT INTO notes VALUES (E'a'\n'\\';COMMIT;');\nCOMMIT;\n";
    const [file] = discoverMigrations(migrationsFolder({ '006_e.sql': text }));
    assert.equal(file?.executable, "INSERT INTO notes VALUES (E'a'\n'\\';COMMIT;');\n       \n");
  });

  it('an unterminated string is a ConfigError naming file:line:column', () => {
    const folder = migrationsFolder({ '005_broken.sql': "SELECT 1;\nSELECT 'never closed;\n" });
    assertConfigError(() => discoverMigrations(folder), /005_broken\.sql:2:8/, /string literal/);
  });

  it('an unterminated block comment is a ConfigError naming file:line:column', () => {
    const folder = migrationsFolder({ '005_broken.sql': 'SELECT 1;\n/* outer /* inner */\n' });
    assertConfigError(() => discoverMigrations(folder), /005_broken\.sql:2:1/, /comment/);
  });

  it('line:column of an error counts characters after non-ASCII text', () => {
    const folder = migrationsFolder({ '005_broken.sql': "-- café 😀\nSELECT 'é😀', $$never closed;\n" });
    // line 2: S E L E C T _ ' é 😀 ' , _ → 13 characters before the $$, which is column 14
    assertConfigError(() => discoverMigrations(folder), /005_broken\.sql:2:14/);
  });
});
