/**
 * The runner's statement splitter against PostgreSQL's own parser (libpg-query: the server's
 * scan.l and gram.y compiled to WebAssembly): on the repository's SQL files and on seeded random
 * files mixing comments, every kind of quote, CR/LF/CRLF line ends, semicolons inside literals and
 * BEGIN/COMMIT/END words in odd places, both must find the same statements at the same places.
 * A disagreement prints the seed and the smallest file that still disagrees.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModule, parseSync, scanSync } from 'libpg-query';
import { lex } from '../../src/migrations/sql.js';

/** Where a statement starts and where its `;` is (null: it runs to the end), in UTF-8 bytes. */
type Boundaries = readonly (readonly [start: number, semicolon: number | null])[];

function serverBoundaries(sql: string): Boundaries | { readonly rejected: string } {
  try {
    return (parseSync(sql).stmts ?? []).map((s) => {
      const start = s.stmt_location ?? 0;
      return [start, s.stmt_len ? start + s.stmt_len : null] as const;
    });
  } catch (error) {
    return { rejected: error instanceof Error ? error.message : String(error) };
  }
}

function ourBoundaries(sql: string): Boundaries | { readonly rejected: string } {
  const lexed = lex(sql);
  if (lexed.unterminated) return { rejected: `${lexed.unterminated.what} never closed` };
  const bytes = (index: number) => Buffer.byteLength(sql.slice(0, index));
  return lexed.statements.map((s) => [bytes(s.start), sql[s.next - 1] === ';' ? bytes(s.next - 1) : null] as const);
}

/** undefined when both agree; else what each side found. */
function disagreement(sql: string): string | undefined {
  const server = serverBoundaries(sql);
  const ours = ourBoundaries(sql);
  if ('rejected' in server || 'rejected' in ours) {
    if ('rejected' in server && 'rejected' in ours) return undefined;
    return `PostgreSQL: ${JSON.stringify(server)}; the lexer: ${JSON.stringify(ours)}`;
  }
  return JSON.stringify(server) === JSON.stringify(ours)
    ? undefined
    : `PostgreSQL: ${JSON.stringify(server)}; the lexer: ${JSON.stringify(ours)}`;
}

before(async () => {
  await loadModule();
});

describe('the lexer agrees with PostgreSQL on statement boundaries', () => {
  it('on every .sql file of the repository (migrations/, test/fixtures/)', () => {
    const files = ['migrations', 'test/fixtures'].flatMap((dir) =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.sql'))
        .map((name) => join(dir, name)),
    );
    assert.ok(files.length >= 7, `expected the repository's SQL files, found ${files.join(', ')}`);
    for (const file of files) {
      const sql = readFileSync(file, 'utf8');
      assert.ok(!('rejected' in (serverBoundaries(sql) as object)), `${file} should parse`);
      assert.equal(disagreement(sql), undefined, file);
    }
  });

  it('on the cases the issue names, and their neighbours', () => {
    for (const sql of KNOWN_CASES) {
      assert.ok(!('rejected' in (serverBoundaries(sql) as object)), `${JSON.stringify(sql)} should parse`);
      assert.equal(disagreement(sql), undefined, JSON.stringify(sql));
    }
  });

  it("on statements the parser rejects, by the scanner's semicolons", () => {
    for (const sql of SCANNED_CASES) {
      const server = scanSync(sql)
        .tokens.filter((token) => token.text === ';')
        .map((token) => token.start);
      const ours = lex(sql).statements.map((s) => Buffer.byteLength(sql.slice(0, s.next - 1)));
      assert.deepEqual(ours, server, JSON.stringify(sql));
    }
  });

  it('on 2,000 seeded random files', () => {
    const seed = Number(process.env.XYN_LEXER_SEED ?? 20261206);
    const random = mulberry32(seed);
    let compared = 0;
    for (let n = 0; n < 2000; n++) {
      const file = randomFile(random);
      const sql = render(file);
      if ('rejected' in (serverBoundaries(sql) as object)) continue; // the generator made invalid SQL: nothing to compare
      compared++;
      if (disagreement(sql) === undefined) continue;
      const smallest = render(shrink(file));
      assert.fail(
        `seed ${seed}, file ${n}: the lexer disagrees with PostgreSQL (rerun with XYN_LEXER_SEED=${seed}).\n` +
          `smallest file: ${JSON.stringify(smallest)}\n${disagreement(smallest) ?? ''}`,
      );
    }
    // most generated files must be valid SQL, or this compares little
    assert.ok(compared > 1900, `only ${compared} of 2000 generated files parsed`);
  });
});

/**
 * Not here: a -- comment between the parts of a continued string (`'a' -- c` newline `'b'`). The
 * server (scan.l's quotecontinue) reads one string, libpg-query a syntax error; the lexer follows
 * the server, tested in test/integration/lexer.test.ts.
 */
const KNOWN_CASES = [
  '-- a note\rCREATE TABLE t (x int);',
  '-- a note\r\nCREATE TABLE t (x int);\r\nSELECT 1;',
  "SELECT E'a'\n'\\';';\nCOMMIT;\nSELECT 2;",
  "SELECT 'a'\r'b;' ;SELECT 2",
  "SELECT U&'\\0041;' ; SELECT N'x;', B'01', X'1F';",
  "SELECT 1 AS e, E'\\';'; SELECT 2;",
  'CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;',
  'CREATE FUNCTION begin() RETURNS int RETURN 1; SELECT 1;',
  'CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN begin > 0 THEN 1 END; SELECT 2; END; SELECT 3;',
  'CREATE PROCEDURE p() LANGUAGE sql BEGIN /* x */ ATOMIC SELECT 1; END; COMMIT;',
];

/** Invalid SQL (so the parser cannot split it), each statement ending in a `;`, no parentheses. */
const SCANNED_CASES = [
  'SELECT $1$$;$$; SELECT 2;',
  'SELECT 1$$;$$; SELECT 2;',
  "SELECT B'0''1;'; SELECT 1;",
  "SELECT E'a' /* c */\n'\\'; SELECT 1;",
];

// ---- the generator ----------------------------------------------------------------------------

type Random = () => number;

function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** A statement: tokens, each followed by a separator (white space or comments). */
interface Piece {
  readonly token: string;
  separator: string;
}
type GeneratedFile = Piece[][];

const NEWLINES = ['\n', '\r', '\r\n'];

function separator(random: Random): string {
  const newline = pick(random, NEWLINES);
  switch (Math.floor(random() * 10)) {
    case 0:
      return newline;
    case 1:
      return `  -- note; it's 'quoted' /* é 😀${newline}`;
    case 2:
      return " /* block; 'quote' $$ -- */ ";
    case 3:
      return ' /* outer /* inner; */ still; */ ';
    case 4:
      return `\t--${newline}${newline}`;
    case 5:
      return ` --a\r-- b${newline}`;
    case 6:
      return ` -- */ /* ${newline}`;
    default:
      return ' ';
  }
}

const LITERALS = [
  "'a;b'",
  "'it''s; fine'",
  "'C:\\'",
  "E'\\';'",
  "E'a\\\\'",
  "e'\\\\'",
  "E'x'\n';y'",
  "'a'\r\n'b;'",
  "'a'\r  \n\t'b;'",
  "U&'d\\0061t;a'",
  "N'n;'",
  "B'0101'",
  "X'1F'",
  "$$a;'b$$",
  '$tag$ ; $$ ; $tag$',
  '$_x$;$_x$',
  '"quoted;ident"',
  '1',
  '$1',
  "'é😀;'",
  '(1)',
  'CASE WHEN true THEN 1 END',
  "U&'d!0061t;a' UESCAPE '!'",
  "''''",
  "E''''",
  "E'\\\\'",
  '"a""b;"',
  '$a$ $a $a$',
  "B'01'\n'10'",
  'begin',
  '"begin"',
];

function literalList(random: Random): string[] {
  const tokens = [pick(random, LITERALS)];
  while (random() < 0.4) tokens.push(',', pick(random, LITERALS));
  return tokens;
}

function randomStatement(random: Random): string[] {
  switch (Math.floor(random() * 14)) {
    case 0:
      return [pick(random, ['BEGIN', 'begin', 'START TRANSACTION', 'BEGIN WORK'])];
    case 1:
      return [pick(random, ['COMMIT', 'END', 'commit', 'ROLLBACK'])];
    case 2:
      return ['CREATE', 'TABLE', 'begin', '(', 'begin', 'int', ',', '"end"', 'text', ',', 'atomic', 'int', ')'];
    case 3:
      return ['CREATE', 'FUNCTION', 'begin', '(', ')', 'RETURNS', 'int', 'LANGUAGE', 'sql', 'AS', '$$ SELECT 1; $$'];
    case 4:
      return ['CREATE', 'FUNCTION', 'begin', '(', ')', 'RETURNS', 'int', 'RETURN', '1'];
    case 5:
      return [
        'CREATE',
        'OR',
        'REPLACE',
        'FUNCTION',
        'f',
        '(',
        'begin',
        'int',
        ')',
        'RETURNS',
        'int',
        'LANGUAGE',
        'sql',
        'BEGIN',
        'ATOMIC',
        'SELECT',
        'CASE',
        'WHEN',
        'begin',
        '>',
        '0',
        'THEN',
        "'x;'",
        'END',
        ';',
        'SELECT',
        '2',
        ';',
        'END',
      ];
    case 6:
      return ['CREATE', 'PROCEDURE', 'p', '(', ')', 'LANGUAGE', 'sql', 'BEGIN', 'ATOMIC', 'SELECT', '1', ';', 'END'];
    case 7:
      return ['DO', "$do$BEGIN RAISE NOTICE 'x;'; END$do$"];
    case 8:
      return ['CREATE', 'RULE', 'r', 'AS', 'ON', 'INSERT', 'TO', 't', 'DO', 'ALSO', '(', 'SELECT', '1', ';', 'SELECT', '2', ')'];
    case 9:
      return ['SELECT', '1', 'AS', 'e', ',', "E'\\';'"];
    case 10:
      return ['SAVEPOINT', 'begin'];
    default:
      return ['SELECT', ...literalList(random)];
  }
}

function randomFile(random: Random): GeneratedFile {
  const file: GeneratedFile = [];
  const count = 1 + Math.floor(random() * 6);
  for (let s = 0; s < count; s++) {
    const tokens = randomStatement(random);
    if (random() < 0.5 || s < count - 1) tokens.push(';');
    if (random() < 0.1) tokens.push(';'); // an empty statement
    file.push(tokens.map((token) => ({ token, separator: random() < 0.35 ? separator(random) : ' ' })));
  }
  return file;
}

function render(file: GeneratedFile): string {
  return file.map((statement) => statement.map((piece) => piece.token + piece.separator).join('')).join('');
}

/** Greedily removes statements, then plain-ifies separators, while the file still disagrees. */
function shrink(file: GeneratedFile): GeneratedFile {
  const stillDisagrees = (candidate: GeneratedFile) => {
    const sql = render(candidate);
    return !('rejected' in (serverBoundaries(sql) as object)) && disagreement(sql) !== undefined;
  };
  let smallest = file;
  for (let s = smallest.length - 1; s >= 0; s--) {
    const candidate = smallest.filter((_, i) => i !== s);
    if (candidate.length > 0 && stillDisagrees(candidate)) smallest = candidate;
  }
  for (const statement of smallest) {
    for (const piece of statement) {
      const kept = piece.separator;
      piece.separator = ' ';
      if (!stillDisagrees(smallest)) piece.separator = kept;
    }
  }
  return smallest;
}
