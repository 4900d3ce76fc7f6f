/**
 * PostgreSQL's own parser (libpg_query compiled to WebAssembly, the npm package libpg-query),
 * loaded only when `lint` runs: its 1.7 MB module must cost migrate's start-up nothing. The
 * package stays outside the one-file bundle (build.mjs marks it external), because it reads its
 * .wasm from beside its own script; so it comes from node_modules at run time.
 */
import { ConfigError } from '../errors.js';
import { indexOfPosition } from '../migrations/sql.js';
import type { Node } from 'libpg-query';

export type ParsedStatement =
  | { readonly kind: 'parsed'; readonly nodes: readonly Node[] }
  /** `index`: where in the statement text the parser stopped (UTF-16 units) */
  | { readonly kind: 'rejected'; readonly message: string; readonly index: number };

export interface SqlParser {
  /** one statement as the lexer split it, without its `;` */
  parse(statementText: string): ParsedStatement;
  /**
   * The plain SQL statements in a DO block's PL/pgSQL body, in order, each as written there;
   * not the strings EXECUTE runs. Empty when PL/pgSQL's parser rejects the body: the server says
   * so when the file runs, with a line in the body lint could not place reliably.
   */
  sqlInDoBlock(doStatementText: string): string[];
}

const PACKAGE = 'libpg-query';

export async function loadParser(): Promise<SqlParser> {
  let parser: typeof import('libpg-query');
  try {
    parser = await import('libpg-query');
    await parser.loadModule();
  } catch (error) {
    throw parserMissing(error);
  }
  return {
    parse(statementText) {
      try {
        const result = parser.parseSync(statementText);
        return { kind: 'parsed', nodes: (result.stmts ?? []).flatMap((raw) => (raw.stmt ? [raw.stmt] : [])) };
      } catch (error) {
        return rejection(error, statementText);
      }
    },
    sqlInDoBlock(doStatementText) {
      try {
        return plainSqlStatements(parser.parsePlPgSQLSync(doStatementText));
      } catch {
        return [];
      }
    },
  };
}

/** The query of every PLpgSQL_stmt_execsql in the tree, in the order they are written. */
function plainSqlStatements(tree: unknown): string[] {
  if (Array.isArray(tree)) return tree.flatMap(plainSqlStatements);
  if (tree === null || typeof tree !== 'object') return [];
  return Object.entries(tree).flatMap(([key, value]) => {
    if (key !== 'PLpgSQL_stmt_execsql') return plainSqlStatements(value);
    const query = (value as { sqlstmt?: { PLpgSQL_expr?: { query?: string } } }).sqlstmt?.PLpgSQL_expr?.query;
    return query === undefined ? [] : [query];
  });
}

function parserMissing(error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return new ConfigError(
      `lint needs the PostgreSQL parser package ${PACKAGE}, which is not installed here (the container image ships without it); run lint from a checkout after npm ci, or npm install ${PACKAGE} beside xyn-migrate.`,
      { package: PACKAGE },
    );
  }
  return new ConfigError(
    `lint could not load the PostgreSQL parser (${PACKAGE}): ${error instanceof Error ? error.message : String(error)}.`,
    {
      package: PACKAGE,
    },
  );
}

function rejection(error: unknown, statementText: string): ParsedStatement {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  const message = details?.message ?? (error instanceof Error ? error.message : String(error));
  // the parser's cursor counts characters (code points) from 0; indexOfPosition wants them from 1
  const cursor = details?.cursorPosition;
  const index = cursor !== undefined && cursor >= 0 ? indexOfPosition(statementText, cursor + 1) : 0;
  return { kind: 'rejected', message, index };
}

/**
 * The parser's node locations count UTF-8 bytes of the text it was given; a JavaScript string
 * index counts UTF-16 units. Converts one to the other.
 */
export function indexOfByteOffset(text: string, byteOffset: number): number {
  let bytes = 0;
  let index = 0;
  while (index < text.length && bytes < byteOffset) {
    const code = text.codePointAt(index)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    index += code > 0xffff ? 2 : 1;
  }
  return index;
}
