/**
 * A small SQL lexer: enough of PostgreSQL's lexical rules (strings, E'' strings, quoted
 * identifiers, dollar quotes, nested comments, BEGIN ATOMIC bodies) to find statement
 * boundaries exactly where the server does. Never a regular expression over raw SQL.
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

  let start = -1; // first significant character of the current statement
  let keywords: string[] = [];
  let atomicDepth = 0; // inside CREATE FUNCTION ... BEGIN ATOMIC ... END
  let parenDepth = 0; // a semicolon inside parentheses (CREATE RULE ... DO (a; b)) ends nothing
  let lastSignificantEnd = -1;

  const finish = (end: number, next: number) => {
    if (start >= 0) statements.push({ start, end, next, text: sql.slice(start, end), keywords: shared(keywords) });
    start = -1;
    keywords = [];
    atomicDepth = 0;
    parenDepth = 0;
    lastSignificantEnd = -1;
  };
  const mark = (i: number) => {
    if (start < 0) start = i;
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
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
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
    if (c === "'" || c === '"') {
      // E'…' strings take backslash escapes
      const escapes = c === "'" && (sql[i - 1] === 'e' || sql[i - 1] === 'E') && !isIdentChar(sql[i - 2]);
      const close = closingQuote(sql, i, escapes);
      if (close < 0) unterminated ??= { index: i, what: c === "'" ? 'string literal' : 'quoted identifier' };
      i = close < 0 ? n : close + 1;
    } else if (c === '$' && !isIdentChar(sql[i - 1]) && dollarTag(sql, i) !== undefined) {
      const tag = dollarTag(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) {
        unterminated ??= { index: i, what: `dollar-quoted text ${tag}` };
        i = n;
      } else i = close + tag.length;
    } else if (c === '\\') {
      const nl = sql.indexOf('\n', i);
      const lineEnd = nl < 0 ? n : nl;
      metaCommands.push({ index: i, text: sql.slice(i, lineEnd).trim() });
      i = lineEnd;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (keywords.length < KEYWORDS_KEPT) keywords.push(word);
      if (parenDepth === 0) atomicDepth = trackAtomicBody(keywords, word, atomicDepth);
      i = j;
    } else {
      if (c === '(') parenDepth++;
      else if (c === ')' && parenDepth > 0) parenDepth--;
      i++;
    }
    lastSignificantEnd = i;
  }
  finish(lastSignificantEnd, n);
  return { statements, metaCommands, unterminated };
}

/** Index of the first character after the leading white space and comments: where directives end. */
export function leadingCommentsEnd(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && isSpace(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
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

/** Index of the quote that closes the one at `open` (doubled quotes and, if asked, backslashes escape), or -1. */
function closingQuote(sql: string, open: number, backslashEscapes: boolean): number {
  const quote = sql[open];
  let j = open + 1;
  while (j < sql.length) {
    const ch = sql[j];
    if (backslashEscapes && ch === '\\') j += 2;
    else if (ch === quote && sql[j + 1] === quote) j += 2;
    else if (ch === quote) return j;
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
 * not end the statement. Like psql, count BEGIN/CASE … END once a CREATE FUNCTION/PROCEDURE is seen.
 */
function trackAtomicBody(keywords: readonly string[], word: string, depth: number): number {
  if (!isRoutineDefinition(keywords)) return depth;
  if (word === 'BEGIN' || (word === 'CASE' && depth > 0)) return depth + 1;
  if (word === 'END' && depth > 0) return depth - 1;
  return depth;
}

/** CREATE [OR REPLACE] FUNCTION|PROCEDURE, as psql recognises it. */
function isRoutineDefinition(keywords: readonly string[]): boolean {
  if (keywords[0] !== 'CREATE') return false;
  const kind = keywords[1] === 'OR' && keywords[2] === 'REPLACE' ? keywords[3] : keywords[1];
  return kind === 'FUNCTION' || kind === 'PROCEDURE';
}

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

/** Blank a range with spaces, keeping newlines, so every other position and line stays put. */
export function blank(sql: string, from: number, to: number): string {
  return sql.slice(0, from) + sql.slice(from, to).replace(/[^\n]/g, ' ') + sql.slice(to);
}

/** Line and column (1-based, counted in characters) of a UTF-16 index into `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text[i] === '\n') {
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

/**
 * The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON …` statement builds, as
 * a (possibly schema-qualified) name PostgreSQL would resolve; undefined for any other statement
 * or an unnamed index.
 */
export function concurrentIndexName(statement: Statement): string | undefined {
  const [create, second, third] = statement.keywords;
  if (create !== 'CREATE') return undefined;
  const isIndex =
    (second === 'INDEX' && third === 'CONCURRENTLY') ||
    (second === 'UNIQUE' && third === 'INDEX' && statement.keywords[3] === 'CONCURRENTLY');
  if (!isIndex) return undefined;
  const tokens = identifierTokens(statement.text, 10);
  let i = tokens.indexOf('concurrently') + 1;
  if (tokens[i] === 'if' && tokens[i + 1] === 'not' && tokens[i + 2] === 'exists') i += 3;
  const name = tokens[i];
  if (name === undefined || name === 'on') return undefined;
  return tokens[i + 1] === '.' ? `${name}.${tokens[i + 2] ?? ''}` : name;
}

/** The first `limit` words of a statement: unquoted ones lower-cased, quoted ones kept, '.' kept. */
export function identifierTokens(text: string, limit: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length && tokens.length < limit) {
    const c = text[i]!;
    if (c === '"') {
      const close = closingQuote(text, i, false);
      const end = close < 0 ? text.length : close + 1;
      tokens.push(`"${text.slice(i + 1, end - 1)}"`);
      i = end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j])) j++;
      tokens.push(text.slice(i, j).toLowerCase());
      i = j;
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
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = blockCommentEnd(sql, i, sql.length);
      i = end < 0 ? sql.length : end;
    } else if (c === '"') {
      const close = closingQuote(sql, i, false);
      i = close < 0 ? sql.length : close + 1;
    } else if (c === "'") {
      const start = i - literalPrefixLength(sql, i);
      const close = closingQuote(sql, i, start < i && (sql[start] === 'e' || sql[start] === 'E'));
      replace(start, close < 0 ? sql.length : close + 1);
    } else if (c === '$' && !isIdentChar(sql[i - 1]) && dollarTag(sql, i) !== undefined) {
      const tag = dollarTag(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      replace(i, close < 0 ? sql.length : close + tag.length);
    } else if (isIdentStart(c)) {
      i++;
      while (i < sql.length && isIdentChar(sql[i])) i++;
    } else i++;
  }
  return kept + sql.slice(from);
}

/** The length of the E, B, X, N or U& that makes the quote at `quote` a literal of that kind (0 for none). */
function literalPrefixLength(sql: string, quote: number): number {
  if ((sql[quote - 2] === 'u' || sql[quote - 2] === 'U') && sql[quote - 1] === '&' && !isIdentChar(sql[quote - 3])) return 2;
  return 'eEbBxXnN'.includes(sql[quote - 1] ?? '-') && !isIdentChar(sql[quote - 2]) ? 1 : 0;
}
