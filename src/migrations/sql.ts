/**
 * A small SQL lexer: enough of PostgreSQL's lexical rules (scan.l: strings and their prefixes and
 * continuations, quoted identifiers, dollar quotes, nested comments, \r as a line end; and the
 * grammar's BEGIN ATOMIC bodies) to find statement boundaries exactly where the server does.
 * Never a regular expression over raw SQL. test/unit/lexer-differential.test.ts holds it to
 * libpg-query (PostgreSQL's own parser).
 */

export interface Statement {
  /** index of the statement's first character in the file text (UTF-16 units) */
  readonly start: number;
  /** index just past its last character, before any `;` */
  readonly end: number;
  /** index just past the `;` that ends it (or the text's length at end of file) */
  readonly next: number;
  readonly text: string;
  /** the first words, upper-cased: enough to classify it */
  readonly keywords: readonly string[];
}

export interface MetaCommand {
  readonly index: number;
  readonly text: string;
}

export interface Lexed {
  readonly statements: readonly Statement[];
  /** a backslash outside quotes and comments: a psql meta-command (`\set`, `\i`, `\gset`) */
  readonly metaCommands: readonly MetaCommand[];
  /** the text ends inside a quote or comment that was never closed */
  readonly unterminated: { readonly index: number; readonly what: string } | undefined;
  /**
   * the opening quote of the first plain '…' string holding a backslash: with the server's
   * standard_conforming_strings off, such a string takes backslash escapes, unlike here
   */
  readonly backslashInPlainString: number | undefined;
}

// Character codes, not regular expressions: these run for every character of a file (a 9 MiB
// seed file included), and the regular expressions made enough garbage to grow the young heap.
const isLetter = (k: number) => (k >= 97 && k <= 122) || (k >= 65 && k <= 90) || k === 95 || k >= 128; // a-z A-Z _ non-ASCII
const isIdentStart = (c: string | undefined) => c !== undefined && isLetter(c.charCodeAt(0));
const isIdentChar = (c: string | undefined) => {
  if (c === undefined) return false;
  const k = c.charCodeAt(0);
  return isLetter(k) || (k >= 48 && k <= 57) || k === 36; // or 0-9 $
};
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
/** PostgreSQL's lexer ends a line at \n and at \r alike (scan.l: newline [\n\r]). */
const isNewline = (c: string | undefined) => c === '\n' || c === '\r';

/** Index of the \n or \r that ends the line holding `from`, or the text's length. */
export function lineEnd(sql: string, from: number): number {
  for (let i = from; i < sql.length; i++) if (isNewline(sql[i])) return i;
  return sql.length;
}

/**
 * How a string literal's body is read, by its prefix (scan.l's xq, xe, xus, xb/xh states):
 * `escapes` — E'…' (and '…' when standard_conforming_strings is off): a backslash escapes the next character;
 * `plain` — '…', N'…': only a doubled quote stands for a quote (when standard_conforming_strings is on);
 * `unicode` — U&'…': likewise, whatever that setting (the server refuses it when off);
 * `bits` — B'…', X'…': the first quote ends it.
 */
type StringKind = 'escapes' | 'plain' | 'unicode' | 'bits';

const KEYWORDS_KEPT = 4;

/**
 * One frozen array per distinct list of first words, shared by every statement that starts with
 * them: a seed file of a million INSERTs then holds one ['INSERT', 'INTO', 'T'], not a million
 * arrays (each with room for 17 words), which were most of the memory a large file took.
 */
function sharedKeywords(): (keywords: string[]) => readonly string[] {
  const seen = new Map<string, readonly string[]>();
  return (keywords) => {
    const key = keywords.join(' ');
    let kept = seen.get(key);
    if (kept === undefined) seen.set(key, (kept = Object.freeze(keywords)));
    return kept;
  };
}

export function lex(sql: string): Lexed {
  const statements: Statement[] = [];
  const shared = sharedKeywords();
  const metaCommands: MetaCommand[] = [];
  let unterminated: Lexed['unterminated'];
  let backslashInPlainString: number | undefined;
  let nextBackslash = -1;

  let start = -1; // first significant character of the current statement
  let keywords: string[] = [];
  let atomicDepth = 0; // inside CREATE FUNCTION ... BEGIN ATOMIC ... END
  let parenDepth = 0; // a semicolon inside parentheses (CREATE RULE ... DO (a; b)) ends nothing
  let lastSignificantEnd = -1;
  let previousWord: string | undefined; // the token before this one, when it was a word

  const finish = (end: number, next: number) => {
    if (start >= 0) statements.push({ start, end, next, text: sql.slice(start, end), keywords: shared(keywords) });
    start = -1;
    keywords = [];
    atomicDepth = 0;
    parenDepth = 0;
    lastSignificantEnd = -1;
    previousWord = undefined;
  };
  const mark = (i: number) => {
    if (start < 0) start = i;
  };
  /** Lexes the string literal whose opening quote is at `open`; returns the index past it. */
  const stringLiteral = (open: number, kind: StringKind): number => {
    const end = stringLiteralEnd(sql, open, kind);
    if (end < 0) {
      unterminated ??= { index: open, what: 'string literal' };
      return n;
    }
    if (kind === 'plain' && backslashInPlainString === undefined) {
      // one forward search for the whole file, not a slice per string (seed files hold millions)
      if (nextBackslash < open) nextBackslash = sql.indexOf('\\', open) >>> 0; // none: 2^32 - 1
      if (nextBackslash < end) backslashInPlainString = open;
    }
    return end;
  };

  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const d = sql[i + 1];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '-' && d === '-') {
      i = lineEnd(sql, i);
      continue;
    }
    if (c === '/' && d === '*') {
      const end = blockCommentEnd(sql, i, n);
      if (end < 0) unterminated ??= { index: i, what: 'comment /* … */' };
      i = end < 0 ? n : end;
      continue;
    }
    if (c === ';' && atomicDepth === 0 && parenDepth === 0) {
      finish(lastSignificantEnd, i + 1);
      i++;
      continue;
    }
    mark(i);
    let word: string | undefined;
    if (c === "'") {
      i = stringLiteral(i, 'plain');
    } else if (c === '"') {
      i = quotedIdentifier(i);
    } else if (c === '$' && dollarTag(sql, i) !== undefined) {
      // (a $ inside a word never gets here: the word took it)
      const tag = dollarTag(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) {
        unterminated ??= { index: i, what: `dollar-quoted text ${tag}` };
        i = n;
      } else i = close + tag.length;
    } else if (c === '\\') {
      const end = lineEnd(sql, i);
      metaCommands.push({ index: i, text: sql.slice(i, end).trim() });
      i = end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql[j])) j++;
      const prefixed = prefixedString(sql, i, j);
      if (prefixed) {
        i = prefixed.kind === 'identifier' ? quotedIdentifier(prefixed.quote) : stringLiteral(prefixed.quote, prefixed.kind);
      } else {
        word = sql.slice(i, j).toUpperCase();
        if (keywords.length < KEYWORDS_KEPT) keywords.push(word);
        if (parenDepth === 0 && isRoutineDefinition(keywords)) atomicDepth = trackAtomicBody(word, previousWord, atomicDepth);
        i = j;
      }
    } else {
      if (c === '(') parenDepth++;
      else if (c === ')' && parenDepth > 0) parenDepth--;
      i++;
    }
    previousWord = word;
    lastSignificantEnd = i;
  }
  finish(lastSignificantEnd, n);
  return { statements, metaCommands, unterminated, backslashInPlainString };

  function quotedIdentifier(open: number): number {
    const close = closingQuote(sql, open);
    if (close < 0) unterminated ??= { index: open, what: 'quoted identifier' };
    return close < 0 ? n : close + 1;
  }
}

/**
 * A one-letter word glued to a quote is a string prefix, as in scan.l, where `E'` outmatches the
 * word `E`: E'…', B'…', X'…', N'…', and U&'…' / U&"…". `from`..`to` is the word.
 */
function prefixedString(
  sql: string,
  from: number,
  to: number,
): { readonly kind: StringKind | 'identifier'; readonly quote: number } | undefined {
  if (to !== from + 1) return undefined;
  const letter = sql[from]!.toUpperCase();
  if (sql[to] === "'") {
    if (letter === 'E') return { kind: 'escapes', quote: to };
    if (letter === 'B' || letter === 'X') return { kind: 'bits', quote: to };
    if (letter === 'N') return { kind: 'plain', quote: to };
  }
  if (letter === 'U' && sql[to] === '&') {
    if (sql[to + 1] === "'") return { kind: 'unicode', quote: to + 1 };
    if (sql[to + 1] === '"') return { kind: 'identifier', quote: to + 1 };
  }
  return undefined;
}

/**
 * Index just past the string literal opening at `open`, continuation included: a closing quote
 * followed by white space holding a newline and another quote continues the same literal, of
 * the same kind (scan.l's xqs state: E'a'<newline>'\'' is one string). -1 when never closed.
 */
function stringLiteralEnd(sql: string, open: number, kind: StringKind): number {
  let j = open + 1;
  while (j < sql.length) {
    const ch = sql[j];
    if (ch === '\\' && kind === 'escapes') j += 2;
    else if (ch === "'" && kind !== 'bits' && sql[j + 1] === "'") j += 2;
    else if (ch === "'") {
      const continued = quoteContinuation(sql, j + 1);
      if (continued < 0) return j + 1;
      j = continued + 1;
    } else j++;
  }
  return -1;
}

/**
 * The quote at which a string literal ending just before `from` continues, or -1: scan.l's
 * quotecontinue, {horiz_whitespace}*{newline}{special_whitespace}*{quote}, where horizontal white
 * space includes -- comments and special white space is spaces or a -- comment and its newline.
 * A block comment in between ends the literal.
 */
function quoteContinuation(sql: string, from: number): number {
  let i = from;
  for (;;) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v') i++;
    else if (c === '-' && sql[i + 1] === '-') i = lineEnd(sql, i);
    else break;
  }
  if (!isNewline(sql[i])) return -1;
  i++;
  for (;;) {
    if (isSpace(sql[i])) i++;
    else if (sql[i] === '-' && sql[i + 1] === '-') {
      i = lineEnd(sql, i);
      if (i === sql.length) return -1;
      i++;
    } else break;
  }
  return sql[i] === "'" ? i : -1;
}

/** Index of the first character after the leading white space and comments: where directives end. */
export function leadingCommentsEnd(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && isSpace(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      i = lineEnd(sql, i);
    } else if (sql.startsWith('/*', i)) {
      const end = blockCommentEnd(sql, i, sql.length);
      i = end < 0 ? sql.length : end;
    } else {
      return i;
    }
  }
}

/**
 * Index just past the `*\/` that closes the block comment opening at `open` (block comments nest
 * in PostgreSQL), looking no further than `limit`; -1 when it is not closed by then.
 */
export function blockCommentEnd(sql: string, open: number, limit: number): number {
  let depth = 1;
  let i = open + 2;
  while (i < limit) {
    const c = sql.charCodeAt(i);
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42) {
      depth++;
      i += 2;
    } else if (c === 42 /* * */ && sql.charCodeAt(i + 1) === 47) {
      i += 2;
      if (--depth === 0) return i;
    } else i++;
  }
  return -1;
}

/** Index of the `"` that closes the quoted identifier opening at `open` (`""` stands for `"`), or -1. */
function closingQuote(sql: string, open: number): number {
  let j = open + 1;
  while (j < sql.length) {
    if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
    else if (sql[j] === '"') return j;
    else j++;
  }
  return -1;
}

/** `$$` or `$tag$` at index i, or undefined when the `$` starts no dollar quote (e.g. `$1`). */
function dollarTag(sql: string, i: number): string | undefined {
  let j = i + 1;
  if (sql[j] === '$') return '$$';
  if (!/[A-Za-z_\u0080-\uffff]/.test(sql[j] ?? '')) return undefined;
  while (j < sql.length && /[A-Za-z0-9_\u0080-\uffff]/.test(sql[j]!)) j++;
  return sql[j] === '$' ? sql.slice(i, j + 1) : undefined;
}

/**
 * SQL-standard function bodies (`CREATE FUNCTION … BEGIN ATOMIC … END`) hold semicolons that do
 * not end the statement. The body opens only at the two words BEGIN ATOMIC, as in the grammar: a
 * function or parameter named begin opens nothing (psql counts any BEGIN, and gets that wrong).
 * Inside, CASE … END pairs are counted so that the body's own END is found.
 */
function trackAtomicBody(word: string, previousWord: string | undefined, depth: number): number {
  if (depth === 0) return word === 'ATOMIC' && previousWord === 'BEGIN' ? 1 : 0;
  if (word === 'CASE') return depth + 1;
  if (word === 'END') return depth - 1;
  return depth;
}

/** CREATE [OR REPLACE] FUNCTION|PROCEDURE, as psql recognises it. */
function isRoutineDefinition(keywords: readonly string[]): boolean {
  if (keywords[0] !== 'CREATE') return false;
  const kind = keywords[1] === 'OR' && keywords[2] === 'REPLACE' ? keywords[3] : keywords[1];
  return kind === 'FUNCTION' || kind === 'PROCEDURE';
}

/**
 * A character the server must not be given as this file's text, or undefined: a NUL (it ends the
 * query string of the protocol message, and the server drops the connection over the rest), or a
 * byte-order mark left at the start after reading removed the first (the server would take it as
 * part of the first word).
 */
export function refusedCharacter(text: string): { readonly index: number; readonly what: string } | undefined {
  if (text.startsWith('\uFEFF')) {
    return {
      index: 0,
      what: 'a second byte-order mark (U+FEFF), which PostgreSQL would read as part of the first word; save the file as UTF-8 with at most one',
    };
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) return { index: nul, what: 'a NUL byte, which PostgreSQL cannot take in a query; remove it' };
  return undefined;
}

/**
 * `COPY … FROM STDIN`: its rows come from the client (psql sends the lines after it, up to `\.`),
 * which a migration file run by a program cannot supply.
 */
export function copiesFromClient(statement: Statement): boolean {
  if (statement.keywords[0] !== 'COPY') return false;
  const tokens = identifierTokens(statement.text, 200);
  return tokens.some((token, i) => token === 'from' && tokens[i + 1] === 'stdin');
}

export const COPY_FROM_CLIENT =
  'COPY … FROM STDIN reads its rows from the client, which a migration file cannot supply (rows after it ended by \\. are psql syntax); put the rows in an INSERT … VALUES, or COPY FROM a file on the database server';

export type TransactionControl = 'begin' | 'commit' | 'rollback' | 'other-transaction-command' | undefined;

/** How a top-level statement touches the transaction the runner owns. */
export function transactionControl(s: Statement): TransactionControl {
  const [first, second] = s.keywords;
  if (first === 'BEGIN' || first === 'START') return 'begin';
  if (first === 'COMMIT' || first === 'END') return second === 'PREPARED' ? 'other-transaction-command' : 'commit';
  if (first === 'ROLLBACK' || first === 'ABORT') {
    if (second === 'TO') return undefined; // ROLLBACK TO SAVEPOINT stays inside our transaction
    return second === 'PREPARED' ? 'other-transaction-command' : 'rollback';
  }
  if (first === 'PREPARE' && second === 'TRANSACTION') return 'other-transaction-command';
  return undefined;
}

export type TransactionControlVerdict = 'not transaction control' | 'neutralised' | { readonly refused: string };

/**
 * What the runner does with a top-level transaction-control statement, for discover.ts and lint
 * alike: a transactional file's own BEGIN/COMMIT are neutralised (the runner owns the
 * transaction); anything else cannot be honoured and is refused.
 */
export function transactionControlVerdict(statement: Statement, mode: 'transaction' | 'no-transaction'): TransactionControlVerdict {
  const control = transactionControl(statement);
  if (control === undefined) return 'not transaction control';
  const words = statement.keywords.slice(0, 2).join(' ');
  if (mode === 'no-transaction') {
    return {
      refused: `${statement.keywords[0]} in a -- xyn:no-transaction file, which runs statement by statement without a transaction; remove it.`,
    };
  }
  if (control === 'rollback')
    return { refused: `a top-level ${words} cannot run inside the transaction that applies this file; remove it.` };
  if (control === 'other-transaction-command')
    return { refused: `${words} (two-phase commit) cannot run inside the transaction that applies this file; remove it.` };
  return 'neutralised';
}

/** Blank a range with spaces, keeping line breaks, so every other position and line stays put. */
export function blank(sql: string, from: number, to: number): string {
  return sql.slice(0, from) + sql.slice(from, to).replace(/[^\n\r]/g, ' ') + sql.slice(to);
}

/**
 * Line and column (1-based, counted in characters) of a UTF-16 index into `text`. A line ends at
 * \n, \r\n or a lone \r, as PostgreSQL's lexer and editors see it.
 */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: [...text.slice(lineStart, index)].length + 1 };
}

/**
 * PostgreSQL's error `position` is 1-based and counts characters (code points), not UTF-16
 * units: convert it to a string index into `text`.
 */
export function indexOfPosition(text: string, position: number): number {
  let index = 0;
  for (let chars = 1; chars < position && index < text.length; chars++) {
    index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  }
  return index;
}

export interface ConcurrentIndex {
  /** the index's name as written (unquoted ones lower-cased, quoted ones with their quotes) */
  readonly name: string;
  /** the same name as PostgreSQL stores it (pg_class.relname, before truncation to 63 bytes) */
  readonly relname: string;
  /** its table as written, possibly schema-qualified: an index always lives in its table's schema */
  readonly table: string;
}

/**
 * The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table …`
 * statement builds; undefined for any other statement or an unnamed index. (The grammar takes
 * no schema before the index's name: the index goes to its table's schema.)
 */
export function concurrentIndex(statement: Statement): ConcurrentIndex | undefined {
  const [create, second, third] = statement.keywords;
  if (create !== 'CREATE') return undefined;
  const isIndex =
    (second === 'INDEX' && third === 'CONCURRENTLY') ||
    (second === 'UNIQUE' && third === 'INDEX' && statement.keywords[3] === 'CONCURRENTLY');
  if (!isIndex) return undefined;
  const tokens = identifierTokens(statement.text, 16);
  let i = tokens.indexOf('concurrently') + 1;
  if (tokens[i] === 'if' && tokens[i + 1] === 'not' && tokens[i + 2] === 'exists') i += 3;
  const name = tokens[i];
  if (name === undefined || name === 'on' || tokens[i + 1] !== 'on') return undefined;
  let t = i + 2;
  if (tokens[t] === 'only') t++;
  const table = tokens[t + 1] === '.' ? `${tokens[t] ?? ''}.${tokens[t + 2] ?? ''}` : tokens[t];
  if (table === undefined) return undefined;
  const relname = name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
  return { name, relname, table };
}

/**
 * The first `limit` words of a statement: unquoted ones folded to lower case as PostgreSQL folds
 * them (ASCII A–Z only), quoted ones kept, '.' kept. Comments, string literals and dollar-quoted
 * text are skipped: a word in them is no part of the statement's syntax.
 */
export function identifierTokens(text: string, limit: number): string[] {
  const tokens: string[] = [];
  const orEnd = (index: number) => (index < 0 ? text.length : index);
  let i = 0;
  while (i < text.length && tokens.length < limit) {
    const c = text[i]!;
    if (c === '-' && text[i + 1] === '-') i = lineEnd(text, i);
    else if (c === '/' && text[i + 1] === '*') i = orEnd(blockCommentEnd(text, i, text.length));
    else if (c === "'") i = orEnd(stringLiteralEnd(text, i, 'plain'));
    else if (c === '$' && dollarTag(text, i) !== undefined) {
      const tag = dollarTag(text, i)!;
      const close = text.indexOf(tag, i + tag.length);
      i = close < 0 ? text.length : close + tag.length;
    } else if (c === '"') {
      const close = closingQuote(text, i);
      const end = close < 0 ? text.length : close + 1;
      tokens.push(`"${text.slice(i + 1, end - 1)}"`);
      i = end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j])) j++;
      const prefixed = prefixedString(text, i, j);
      if (prefixed && prefixed.kind !== 'identifier') i = orEnd(stringLiteralEnd(text, prefixed.quote, prefixed.kind));
      else {
        tokens.push(text.slice(i, j).replace(/[A-Z]+/g, (upper) => upper.toLowerCase()));
        i = j;
      }
    } else {
      if (c === '.') tokens.push('.');
      i++;
    }
  }
  return tokens;
}

/**
 * `sql` with each string literal (with its E, B, X, N or U& prefix) and each dollar-quoted text
 * replaced by $1, $2…: another session's query, from pg_stat_activity, can then be logged without
 * what its literals hold (a token, a password). One cut short by track_activity_query_size is
 * replaced to the end. Numbers, identifiers and comments stay.
 */
export function withoutLiterals(sql: string): string {
  let kept = '';
  let from = 0;
  let replaced = 0;
  let i = 0;
  const replace = (start: number, end: number) => {
    kept += `${sql.slice(from, start)}$${++replaced}`;
    from = i = end;
  };
  const orEnd = (index: number) => (index < 0 ? sql.length : index);
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') i = lineEnd(sql, i);
    else if (c === '/' && sql[i + 1] === '*') i = orEnd(blockCommentEnd(sql, i, sql.length));
    else if (c === '"') i = orEnd(closingQuote(sql, i)) + 1;
    else if (c === "'") {
      // With standard_conforming_strings off a backslash escapes the quote after it, so where a
      // plain literal ends is unknown: replace all from its quote on rather than let a secret through.
      const end = orEnd(stringLiteralEnd(sql, i, 'plain'));
      replace(i, sql.slice(i, end).includes('\\') ? sql.length : end);
    } else if (c === '$' && dollarTag(sql, i) !== undefined) {
      const tag = dollarTag(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      replace(i, close < 0 ? sql.length : close + tag.length);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < sql.length && isIdentChar(sql[j])) j++;
      const prefixed = prefixedString(sql, i, j);
      if (prefixed?.kind === 'identifier') i = orEnd(closingQuote(sql, prefixed.quote)) + 1;
      else if (prefixed) replace(i, orEnd(stringLiteralEnd(sql, prefixed.quote, prefixed.kind)));
      else i = j;
    } else i++;
  }
  return kept + sql.slice(from);
}
