import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  blank,
  concurrentIndex,
  copiesFromClient,
  indexOfPosition,
  lex,
  lineColumn,
  refusedCharacter,
  transactionControl,
  withoutLiterals,
  type Statement,
} from '../../src/migrations/sql.js';

const texts = (sql: string): string[] => lex(sql).statements.map((s) => s.text);

const onlyStatement = (sql: string): Statement => {
  const { statements } = lex(sql);
  assert.equal(
    statements.length,
    1,
    `expected one statement in ${JSON.stringify(sql)}, got ${JSON.stringify(statements.map((s) => s.text))}`,
  );
  return statements[0]!;
};

describe('lex: statement boundaries', () => {
  it('splits plain statements at their semicolons', () => {
    assert.deepEqual(texts('CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n'), ['CREATE TABLE a (id int)', 'CREATE TABLE b (id int)']);
  });

  it('finds a last statement that has no semicolon', () => {
    assert.deepEqual(texts('SELECT 1;\nSELECT 2\n'), ['SELECT 1', 'SELECT 2']);
  });

  it('makes no statement of empty text, whitespace, comments or stray semicolons', () => {
    assert.deepEqual(texts(''), []);
    assert.deepEqual(texts('  \n\t\n'), []);
    assert.deepEqual(texts('-- only a comment\n/* and another */\n'), []);
    assert.deepEqual(texts(';;\n ; '), []);
  });

  it("a semicolon inside a '' string does not end the statement", () => {
    assert.deepEqual(texts("INSERT INTO t VALUES ('a;b');SELECT 2;"), ["INSERT INTO t VALUES ('a;b')", 'SELECT 2']);
  });

  it("a doubled '' inside a string is an escaped quote, not the string's end", () => {
    assert.deepEqual(texts("INSERT INTO t VALUES ('it''s; fine');SELECT 2;"), ["INSERT INTO t VALUES ('it''s; fine')", 'SELECT 2']);
  });

  it("a backslash in a standard '' string escapes nothing: the next quote ends the string", () => {
    assert.deepEqual(texts("SELECT 'C:\\';SELECT 2;"), ["SELECT 'C:\\'", 'SELECT 2']);
  });

  it("in an E'' string a backslash escapes the quote (E'\\'')", () => {
    assert.deepEqual(texts("SELECT E'\\'';SELECT 2;"), ["SELECT E'\\''", 'SELECT 2']);
  });

  it("in an E'' string an escaped quote followed by a semicolon stays inside the string", () => {
    assert.deepEqual(texts("SELECT E'a\\';b';SELECT 2;"), ["SELECT E'a\\';b'", 'SELECT 2']);
  });

  it("a lower-case e'' string also takes backslash escapes", () => {
    assert.deepEqual(texts("SELECT e'\\';';SELECT 2;"), ["SELECT e'\\';'", 'SELECT 2']);
  });

  it("an E'' string ending in an escaped backslash (E'\\\\') closes at the following quote", () => {
    assert.deepEqual(texts("SELECT E'\\\\';SELECT 2;"), ["SELECT E'\\\\'", 'SELECT 2']);
  });

  it("a word ending in e before a quote (DATE'…') is not an E'' prefix", () => {
    assert.deepEqual(texts("SELECT DATE'2020-01-01\\';SELECT 2;"), ["SELECT DATE'2020-01-01\\'", 'SELECT 2']);
  });

  it('a semicolon inside a "quoted;identifier" does not end the statement', () => {
    assert.deepEqual(texts('CREATE TABLE "odd;name" ("a""b;" int);SELECT 2;'), ['CREATE TABLE "odd;name" ("a""b;" int)', 'SELECT 2']);
  });

  it('a semicolon inside a $$ dollar-quoted body does not end the statement', () => {
    const sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 'x'; $$;\nSELECT 2;";
    assert.deepEqual(texts(sql), ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 'x'; $$", 'SELECT 2']);
  });

  it('a $tag$ dollar quote ends only at the same tag, not at an inner $$ or another tag', () => {
    const sql = 'SELECT $fn$ a; $$ b; $$ $other$ c; $fn$;SELECT 2;';
    assert.deepEqual(texts(sql), ['SELECT $fn$ a; $$ b; $$ $other$ c; $fn$', 'SELECT 2']);
  });

  it('dollar-quote tags are case-sensitive', () => {
    assert.deepEqual(texts('SELECT $A$ x; $a$ y; $A$;SELECT 2;'), ['SELECT $A$ x; $a$ y; $A$', 'SELECT 2']);
  });

  it('quotes and comment markers inside a dollar-quoted body are plain text', () => {
    assert.deepEqual(texts("SELECT $$ it's -- not /* a comment $$;SELECT 2;"), ["SELECT $$ it's -- not /* a comment $$", 'SELECT 2']);
  });

  it('$1 parameters are not dollar quotes', () => {
    const sql = 'PREPARE p (int, int) AS SELECT $1 + $2;\nEXECUTE p(1, 2);';
    assert.deepEqual(texts(sql), ['PREPARE p (int, int) AS SELECT $1 + $2', 'EXECUTE p(1, 2)']);
    assert.equal(lex(sql).unterminated, undefined);
  });

  it('a $ inside an identifier (a$b) starts no dollar quote', () => {
    assert.deepEqual(texts('SELECT a$b$ FROM t;SELECT 2;'), ['SELECT a$b$ FROM t', 'SELECT 2']);
  });

  it('a semicolon in a -- comment does not end the statement', () => {
    assert.deepEqual(texts('SELECT 1 -- one; two\n+ 1;SELECT 2;'), ['SELECT 1 -- one; two\n+ 1', 'SELECT 2']);
  });

  it('a semicolon in a /* */ comment does not end the statement', () => {
    assert.deepEqual(texts('SELECT /* ; */ 1;SELECT 2;'), ['SELECT /* ; */ 1', 'SELECT 2']);
  });

  it('block comments nest: /* /* */ ; */ is one comment', () => {
    assert.deepEqual(texts('SELECT /* outer /* inner */ still; comment */ 1;SELECT 2;'), [
      'SELECT /* outer /* inner */ still; comment */ 1',
      'SELECT 2',
    ]);
  });

  it('a quote inside a comment opens no string', () => {
    assert.deepEqual(texts("-- don't\nSELECT 1; /* it's */ SELECT 2;"), ['SELECT 1', 'SELECT 2']);
    assert.equal(lex("-- don't\nSELECT 1;").unterminated, undefined);
  });

  it('semicolons inside a CREATE FUNCTION … BEGIN ATOMIC … END body do not end the statement', () => {
    const fn = 'CREATE FUNCTION add_two(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + 1;\n  SELECT a + 2;\nEND';
    assert.deepEqual(texts(`${fn};\nSELECT 2;`), [fn, 'SELECT 2']);
  });

  it('CASE … END inside a BEGIN ATOMIC body does not close the body early', () => {
    const fn =
      "CREATE OR REPLACE FUNCTION sign_of(a int) RETURNS text LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a < 0 THEN '-' ELSE '+' END;\n  SELECT 'done';\nEND";
    assert.deepEqual(texts(`${fn};\nSELECT 2;`), [fn, 'SELECT 2']);
  });

  it('CREATE PROCEDURE … BEGIN ATOMIC … END is one statement', () => {
    const proc = 'CREATE PROCEDURE ins() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); END';
    assert.deepEqual(texts(`${proc};SELECT 2;`), [proc, 'SELECT 2']);
  });

  it('a RETURN CASE … END function without BEGIN ATOMIC ends at its semicolon', () => {
    const fn = 'CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql RETURN CASE WHEN a > 0 THEN 1 ELSE 0 END';
    assert.deepEqual(texts(`${fn};SELECT 2;`), [fn, 'SELECT 2']);
  });

  it('a parameter named begin in a CREATE FUNCTION with a $$ body opens no BEGIN ATOMIC body (psql counts BEGIN only outside parentheses)', () => {
    const fn = 'CREATE FUNCTION starts_at(begin timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT begin $$';
    assert.deepEqual(texts(`${fn};\nSELECT 2;`), [fn, 'SELECT 2']);
  });

  it('a CREATE TABLE with columns named procedure and begin is no routine: its semicolon ends it', () => {
    const table = 'CREATE TABLE shifts (procedure text, begin time, "end" time)';
    assert.deepEqual(texts(`${table};\nSELECT 2;`), [table, 'SELECT 2']);
  });

  it('a DO block with semicolons in its $$ body is one statement', () => {
    const block = "DO $$\nBEGIN\n  RAISE NOTICE 'a;b';\n  PERFORM 1;\nEND\n$$";
    assert.deepEqual(texts(`${block};\nSELECT 2;`), [block, 'SELECT 2']);
  });

  it('a DO block with a $tag$ body and a LANGUAGE clause is one statement', () => {
    const block = 'DO LANGUAGE plpgsql $do$ BEGIN IF true THEN PERFORM 1; END IF; END $do$';
    assert.deepEqual(texts(`${block};SELECT 2;`), [block, 'SELECT 2']);
  });

  it('a semicolon inside the parentheses of a multi-action CREATE RULE does not end the statement', () => {
    const rule = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t_changed)';
    assert.deepEqual(texts(`${rule};SELECT 2;`), [rule, 'SELECT 2']);
  });
});

describe('lex: statement positions and keywords', () => {
  it("records each statement's start offset at its first significant character, after comments and blanks", () => {
    const sql = '  SELECT 1;\n-- note\n/* c */ SELECT 2;';
    const [first, second] = lex(sql).statements;
    assert.equal(first?.start, 2);
    assert.equal(second?.start, sql.indexOf('SELECT 2'));
  });

  it('end is just past the last token (before spaces and the semicolon), next is just past the semicolon', () => {
    const sql = 'SELECT 1  ;SELECT 2';
    const [first] = lex(sql).statements;
    assert.equal(first?.end, 'SELECT 1'.length);
    assert.equal(first?.next, 'SELECT 1  ;'.length);
  });

  it('a trailing comment is not part of the statement text', () => {
    assert.deepEqual(texts('SELECT 1 -- done\n;'), ['SELECT 1']);
  });

  it('offsets count UTF-16 units of the text, also after non-ASCII characters', () => {
    const sql = "SELECT 'é😀';SELECT 2;";
    const second = lex(sql).statements[1];
    assert.equal(second?.start, sql.indexOf('SELECT 2'));
    assert.equal(sql.slice(second.start, second.end), 'SELECT 2');
  });

  it('keeps the first four words upper-cased as keywords', () => {
    assert.deepEqual(onlyStatement('create unique index concurrently if not exists i on t (a)').keywords, [
      'CREATE',
      'UNIQUE',
      'INDEX',
      'CONCURRENTLY',
    ]);
  });

  it('statements with the same first words share one frozen keywords array (a large seed file holds one, not one each)', () => {
    const [a, b, c] = lex('INSERT INTO t VALUES (1); insert into t values (2); UPDATE t SET v = 3').statements;
    assert.equal(a!.keywords, b!.keywords);
    assert.ok(Object.isFrozen(a!.keywords));
    assert.deepEqual(c!.keywords, ['UPDATE', 'T', 'SET', 'V']);
  });

  it('keywords skip strings, comments and punctuation', () => {
    assert.deepEqual(onlyStatement('/* x */ begin -- y\n transaction isolation level serializable').keywords, [
      'BEGIN',
      'TRANSACTION',
      'ISOLATION',
      'LEVEL',
    ]);
  });
});

describe('lex: unterminated quotes and comments', () => {
  it('reports an unterminated string literal at its opening quote', () => {
    const sql = "SELECT 1;\nSELECT 'oops;\n";
    assert.deepEqual(lex(sql).unterminated, { index: sql.indexOf("'"), what: 'string literal' });
  });

  it("reports an unterminated E'' string whose last quote is escaped", () => {
    const sql = "SELECT E'abc\\';";
    assert.equal(lex(sql).unterminated?.index, sql.indexOf("'"));
  });

  it('reports an unterminated quoted identifier', () => {
    const sql = 'SELECT "col;';
    assert.deepEqual(lex(sql).unterminated, { index: 7, what: 'quoted identifier' });
  });

  it('reports an unterminated dollar quote, naming its tag', () => {
    const sql = 'DO $body$ BEGIN PERFORM 1; END $$;';
    const found = lex(sql).unterminated;
    assert.equal(found?.index, 3);
    assert.match(found?.what ?? '', /\$body\$/);
  });

  it('reports an unterminated block comment, also when only the inner one was closed', () => {
    const sql = 'SELECT 1; /* outer /* inner */ never closed';
    assert.deepEqual(lex(sql).unterminated, { index: sql.indexOf('/*'), what: 'comment /* … */' });
  });

  it('reports nothing when every quote and comment is closed', () => {
    assert.equal(lex("SELECT 'a', E'\\'', \"b\", $$c$$ /* d /* e */ */; -- f").unterminated, undefined);
  });
});

describe('lex: psql meta-commands', () => {
  it('finds \\set with its index and text up to the end of the line', () => {
    const sql = 'CREATE TABLE a (id int);\n\\set x 1\nSELECT :x;';
    assert.deepEqual(lex(sql).metaCommands, [{ index: sql.indexOf('\\'), text: '\\set x 1' }]);
  });

  it('finds \\i at the very start of the text', () => {
    assert.deepEqual(lex('\\i other_file.sql\n').metaCommands, [{ index: 0, text: '\\i other_file.sql' }]);
  });

  it('finds every meta-command, in order', () => {
    const sql = '\\set ON_ERROR_STOP on\nSELECT 1 \\gset\n';
    assert.deepEqual(
      lex(sql).metaCommands.map((m) => m.index),
      [0, sql.indexOf('\\gset')],
    );
  });

  it('a backslash inside a string, E-string, quoted identifier, dollar quote or comment is not a meta-command', () => {
    const sql = "SELECT 'a\\b', E'\\n', \"x\\y\", $$ \\set $$; -- \\i f\n/* \\set */ SELECT 1;";
    assert.deepEqual(lex(sql).metaCommands, []);
  });
});

describe('transactionControl', () => {
  const control = (sql: string) => transactionControl(onlyStatement(sql));

  it('BEGIN, BEGIN WORK and BEGIN TRANSACTION ISOLATION LEVEL … begin a transaction', () => {
    assert.equal(control('BEGIN'), 'begin');
    assert.equal(control('begin work'), 'begin');
    assert.equal(control('BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE'), 'begin');
  });

  it('START TRANSACTION begins a transaction', () => {
    assert.equal(control('START TRANSACTION'), 'begin');
    assert.equal(control('start transaction read write'), 'begin');
  });

  it('COMMIT, COMMIT WORK and END commit', () => {
    assert.equal(control('COMMIT'), 'commit');
    assert.equal(control('commit work'), 'commit');
    assert.equal(control('END'), 'commit');
    assert.equal(control('END TRANSACTION'), 'commit');
  });

  it('ROLLBACK and ABORT roll back', () => {
    assert.equal(control('ROLLBACK'), 'rollback');
    assert.equal(control('rollback work'), 'rollback');
    assert.equal(control('ABORT'), 'rollback');
  });

  it('ROLLBACK TO SAVEPOINT is allowed (not transaction control of the whole unit)', () => {
    assert.equal(control('ROLLBACK TO SAVEPOINT s1'), undefined);
    assert.equal(control('ROLLBACK TO s1'), undefined);
  });

  it('COMMIT PREPARED and PREPARE TRANSACTION are other transaction commands', () => {
    assert.equal(control("COMMIT PREPARED 'gid'"), 'other-transaction-command');
    assert.equal(control("PREPARE TRANSACTION 'gid'"), 'other-transaction-command');
  });

  it('ROLLBACK PREPARED is an other transaction command, like COMMIT PREPARED (it cannot run inside a transaction block)', () => {
    assert.equal(control("ROLLBACK PREPARED 'gid'"), 'other-transaction-command');
  });

  it('ordinary statements, SAVEPOINT, RELEASE and PREPARE of a query are not transaction control', () => {
    assert.equal(control('CREATE TABLE t (id int)'), undefined);
    assert.equal(control('SAVEPOINT s1'), undefined);
    assert.equal(control('RELEASE SAVEPOINT s1'), undefined);
    assert.equal(control('PREPARE q AS SELECT 1'), undefined);
    assert.equal(control('SELECT 1 AS begin'), undefined);
  });

  it('BEGIN inside a DO body or a BEGIN ATOMIC function is not top-level transaction control', () => {
    const { statements } = lex('DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;');
    assert.deepEqual(statements.map(transactionControl), [undefined, undefined]);
  });
});

describe('concurrentIndex', () => {
  const indexOf = (sql: string) => concurrentIndex(onlyStatement(sql));
  it('names the index a CREATE INDEX CONCURRENTLY builds, as PostgreSQL stores it, and its table as written', () => {
    assert.deepEqual(indexOf('CREATE INDEX CONCURRENTLY Runs_State_Idx ON runs (state)'), {
      name: 'runs_state_idx',
      relname: 'runs_state_idx',
      table: 'runs',
    });
    assert.deepEqual(indexOf('create unique index concurrently if not exists runs_key on only core.runs (key)'), {
      name: 'runs_key',
      relname: 'runs_key',
      table: 'core.runs',
    });
    assert.deepEqual(indexOf('CREATE INDEX CONCURRENTLY "Runs ""Hot"" Idx" ON "Core"."Runs" (id)'), {
      name: '"Runs ""Hot"" Idx"',
      relname: 'Runs "Hot" Idx',
      table: '"Core"."Runs"',
    });
  });
  it('is undefined for an unnamed index and for other statements', () => {
    assert.equal(indexOf('CREATE INDEX CONCURRENTLY ON runs (state)'), undefined);
    assert.equal(indexOf('CREATE INDEX runs_state_idx ON runs (state)'), undefined);
    assert.equal(indexOf('DROP INDEX CONCURRENTLY runs_state_idx'), undefined);
  });
  it('skips comments in the statement head', () => {
    const expected = { name: 'idx', relname: 'idx', table: 's.t' };
    assert.deepEqual(indexOf('CREATE INDEX CONCURRENTLY /* q */ idx ON s.t (x)'), expected);
    assert.deepEqual(indexOf('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS -- q\n idx ON /* a */ s.t (x)'), expected);
  });
  it('folds only ASCII A–Z to lower case, as PostgreSQL does', () => {
    assert.deepEqual(indexOf('CREATE INDEX CONCURRENTLY Ärger_IDX ON Tbl (x)'), { name: 'Ärger_idx', relname: 'Ärger_idx', table: 'tbl' });
  });
});

describe('copiesFromClient', () => {
  it('reads FROM STDIN only outside strings and comments', () => {
    assert.equal(copiesFromClient(onlyStatement('COPY t FROM STDIN')), true);
    assert.equal(copiesFromClient(onlyStatement("COPY t FROM '/srv/from stdin.csv'")), false);
    assert.equal(copiesFromClient(onlyStatement("COPY t FROM E'/srv/from stdin.csv'")), false);
    assert.equal(copiesFromClient(onlyStatement("COPY t /* from stdin */ FROM '/srv/t.csv'")), false);
  });
});

describe('blank', () => {
  it('replaces a range with spaces, keeping the length and every other character', () => {
    const sql = 'BEGIN;\nSELECT 1;\nCOMMIT;';
    const out = blank(sql, 0, 6);
    assert.equal(out, '      \nSELECT 1;\nCOMMIT;');
    assert.equal(out.length, sql.length);
  });

  it('keeps newlines inside the blanked range, so every line stays where it was', () => {
    const sql = 'a\nBEGIN\n  ;\nb';
    const out = blank(sql, 2, 11);
    assert.equal(out, 'a\n     \n   \nb');
    assert.deepEqual(
      out.split('\n').map((l) => l.length),
      sql.split('\n').map((l) => l.length),
    );
  });

  it('an empty range changes nothing', () => {
    assert.equal(blank('SELECT 1;', 3, 3), 'SELECT 1;');
  });
});

describe('lineColumn', () => {
  it('is 1:1 at the start of the text', () => {
    assert.deepEqual(lineColumn('SELECT 1;', 0), { line: 1, column: 1 });
  });

  it('counts lines by newline and columns from the start of the line, 1-based', () => {
    const text = 'SELECT 1;\n\n  SELECT oops;';
    assert.deepEqual(lineColumn(text, text.indexOf('oops')), { line: 3, column: 10 });
  });

  it('the index of a newline is still on the line it ends', () => {
    assert.deepEqual(lineColumn('ab\ncd', 2), { line: 1, column: 3 });
    assert.deepEqual(lineColumn('ab\ncd', 3), { line: 2, column: 1 });
  });

  it('counts columns in characters: é is one, and 😀 (two UTF-16 units) is one', () => {
    const text = "-- x\nSELECT 'é😀' + oops;";
    // line 2 before 'oops': S E L E C T _ ' é 😀 ' _ + _ → 14 characters (15 UTF-16 units)
    assert.deepEqual(lineColumn(text, text.indexOf('oops')), { line: 2, column: 15 });
  });
});

describe('indexOfPosition', () => {
  it('position 1 is index 0', () => {
    assert.equal(indexOfPosition('SELECT 1', 1), 0);
  });

  it('in ASCII text a server position is the index plus one', () => {
    const text = 'SELECT * FROM nosuch';
    assert.equal(indexOfPosition(text, text.indexOf('nosuch') + 1), text.indexOf('nosuch'));
  });

  it('é before the position is one character and one UTF-16 unit', () => {
    const text = "SELECT 'é', nosuch";
    // the server counts: S E L E C T _ ' é ' , _ n → 'nosuch' is character 13
    assert.equal(indexOfPosition(text, 13), text.indexOf('nosuch'));
  });

  it('😀 before the position is one server character but two UTF-16 units', () => {
    const text = "SELECT 'é😀', x";
    // characters: S E L E C T _ ' é 😀 ' , _ x → 'x' is character 14, at UTF-16 index 14
    assert.equal(indexOfPosition(text, 14), 14);
    assert.equal(text[14], 'x');
  });

  it('maps a server position through to the file line and column with non-ASCII text before it', () => {
    const text = "-- añadir 😀\nSELECT 'ß😀' FROM nosuch;";
    const serverPosition = [...text.slice(0, text.indexOf('nosuch'))].length + 1;
    const index = indexOfPosition(text, serverPosition);
    assert.equal(text.slice(index, index + 6), 'nosuch');
    assert.deepEqual(lineColumn(text, index), { line: 2, column: 18 });
  });

  it('a position past the end stops at the end of the text', () => {
    assert.equal(indexOfPosition('ab', 10), 2);
  });
});

describe('lex: agreeing with PostgreSQL where it differs from the obvious', () => {
  it('a lone CR ends a -- comment (scan.l: newline is [\\n\\r]): the statement after it is seen', () => {
    assert.deepEqual(texts('-- a note\rCREATE TABLE t (x int);'), ['CREATE TABLE t (x int)']);
    assert.deepEqual(texts('SELECT 1 -- a; note\rFROM t;\r\nSELECT 2'), ['SELECT 1 -- a; note\rFROM t', 'SELECT 2']);
  });

  it("a string, a newline and another string are ONE literal, and an E'' literal keeps its backslash escapes across it", () => {
    // the server reads E'a' + '\';' as the one string a';  — its COMMIT is inside the literal
    assert.deepEqual(texts("SELECT E'a'\n'\\';COMMIT;';\nSELECT 2;"), ["SELECT E'a'\n'\\';COMMIT;'", 'SELECT 2']);
    assert.deepEqual(texts("SELECT E'a'\r'\\';';SELECT 2"), ["SELECT E'a'\r'\\';'", 'SELECT 2']);
    assert.deepEqual(texts("SELECT E'a' -- note\n  -- more\n'\\';';SELECT 2"), ["SELECT E'a' -- note\n  -- more\n'\\';'", 'SELECT 2']);
  });

  it('without a newline, or with a block comment between, the second quote starts a new literal', () => {
    assert.deepEqual(texts("SELECT E'a' '\\';SELECT 2"), ["SELECT E'a' '\\'", 'SELECT 2']);
    assert.deepEqual(texts("SELECT E'a' /* c */\n'\\';SELECT 2"), ["SELECT E'a' /* c */\n'\\'", 'SELECT 2']);
  });

  it("B'' and X'' literals end at their first quote; U&'' and N'' take no backslash escapes", () => {
    assert.deepEqual(texts("SELECT B'0''\\';SELECT 2"), ["SELECT B'0''\\'", 'SELECT 2']);
    assert.deepEqual(texts("SELECT U&'\\';SELECT 2"), ["SELECT U&'\\'", 'SELECT 2']);
    assert.deepEqual(texts("SELECT N'\\';SELECT 2"), ["SELECT N'\\'", 'SELECT 2']);
  });

  it('a $$ right after a number or a $1 parameter opens a dollar quote', () => {
    assert.deepEqual(texts('SELECT 1$$;$$;SELECT 2'), ['SELECT 1$$;$$', 'SELECT 2']);
    assert.deepEqual(texts('SELECT $1$$;$$;SELECT 2'), ['SELECT $1$$;$$', 'SELECT 2']);
  });

  it('a function named begin opens no BEGIN ATOMIC body: the file’s BEGIN and COMMIT after it stay statements of their own', () => {
    const sql = 'CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;';
    const statements = lex(sql).statements;
    assert.deepEqual(
      statements.map((s) => transactionControl(s)),
      [undefined, 'begin', undefined, 'commit'],
    );
    assert.deepEqual(texts('CREATE OR REPLACE FUNCTION begin() RETURNS int RETURN 1; COMMIT;'), [
      'CREATE OR REPLACE FUNCTION begin() RETURNS int RETURN 1',
      'COMMIT',
    ]);
  });

  it('BEGIN ATOMIC with a comment between the two words still opens the body', () => {
    assert.deepEqual(texts('CREATE PROCEDURE p() LANGUAGE sql BEGIN /* x */ ATOMIC SELECT 1; END; COMMIT;'), [
      'CREATE PROCEDURE p() LANGUAGE sql BEGIN /* x */ ATOMIC SELECT 1; END',
      'COMMIT',
    ]);
  });

  it('notes the first plain string holding a backslash (read otherwise with standard_conforming_strings off)', () => {
    assert.equal(lex("SELECT E'\\n', 'a', 'C:\\temp';").backslashInPlainString, 19);
    assert.equal(lex("SELECT E'\\n', U&'\\0041', $$\\$$;").backslashInPlainString, undefined);
  });
});

describe('refusedCharacter', () => {
  it('finds a NUL byte, with its index', () => {
    assert.deepEqual(refusedCharacter('SELECT 1;\nSELECT \u00002;')?.index, 17);
    assert.match(refusedCharacter('SELECT \u0000')?.what ?? '', /NUL/);
  });

  it('finds a byte-order mark left at the start (the first was removed on reading)', () => {
    assert.equal(refusedCharacter('\uFEFFSELECT 1;')?.index, 0);
    assert.match(refusedCharacter('\uFEFFSELECT 1;')?.what ?? '', /byte-order mark/);
  });

  it('finds nothing in ordinary text', () => {
    assert.equal(refusedCharacter("SELECT 'é\uFEFF';"), undefined);
  });
});

describe('lineColumn with CR and CRLF line ends', () => {
  it('a lone CR ends a line, and CRLF is one line end, not two', () => {
    assert.deepEqual(lineColumn('a\rb\rcd', 5), { line: 3, column: 2 });
    assert.deepEqual(lineColumn('a\r\nb\r\ncd', 7), { line: 3, column: 2 });
  });
});

describe('withoutLiterals', () => {
  it('replaces every kind of string literal and dollar-quoted text by $n; numbers, identifiers and comments stay', () => {
    assert.equal(
      withoutLiterals(`SELECT 'token=a''b', E'it\\'s', U&'d\\0061t', b'101', X'ff', N'n', $q$s$q$, $$t$$, "col'", 42, name -- 'note'`),
      `SELECT $1, $2, $3, $4, $5, $6, $7, $8, "col'", 42, name -- 'note'`,
    );
  });

  it('a -- comment ends at a lone CR, so a literal on the next line is replaced too; a continued literal is one', () => {
    assert.equal(withoutLiterals("SELECT 1 -- note\r'token=abc'"), 'SELECT 1 -- note\r$1');
    assert.equal(withoutLiterals("SELECT E'a'\n'\\'token=abc'"), 'SELECT $1');
  });

  it('a literal cut short (track_activity_query_size) is replaced to the end', () => {
    assert.equal(withoutLiterals(`INSERT INTO s VALUES (1, 'password=hun`), 'INSERT INTO s VALUES (1, $1');
    assert.equal(withoutLiterals('SELECT $body$ secret'), 'SELECT $1');
  });

  it('a plain literal holding a backslash is replaced to the end: where it ends depends on standard_conforming_strings', () => {
    assert.equal(withoutLiterals("SELECT 'it\\'s', 'token=abc123' FROM t"), 'SELECT $1');
    assert.equal(withoutLiterals("SELECT 'a\\b', 1"), 'SELECT $1');
  });
});
