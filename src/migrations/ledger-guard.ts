/**
 * The ledger is the program's: a pending file that would drop, rename or truncate it is refused
 * before anything runs (exit 2). Found on a real project: `DROP TABLE IF EXISTS schema_migrations;`
 * left over from the project's previous migration tool. Run inside a no-transaction file, such a
 * statement would destroy the record of what is applied, and the next run would apply every
 * migration again. Dynamic SQL (EXECUTE in a DO block) cannot be seen here; the runner catches
 * that case after the fact (exit 1, db/execute.ts).
 */
import { ConfigError } from '../errors.js';
import type { MigrationFile } from './discover.js';
import type { LedgerName } from './ledger-name.js';
import { identifierTokens, lineColumn, type Statement } from './sql.js';

const MANY = 500;

/** What the statement would do to the ledger, or undefined when it leaves it alone. */
function threat(statement: Statement, ledger: LedgerName): string | undefined {
  const [first, second] = statement.keywords;
  const words = () => identifierTokens(statement.text, MANY);
  if (first === 'DROP' && second === 'TABLE' && namesLedger(words().slice(2), ledger)) return 'drop';
  if (first === 'TRUNCATE' && namesLedger(words().slice(1), ledger)) return 'truncate';
  if (first === 'ALTER' && second === 'TABLE') {
    const tokens = words();
    const renames = tokens.includes('rename') || (tokens.includes('set') && tokens.includes('schema'));
    if (
      renames &&
      namesLedger(
        tokens.slice(
          2,
          tokens.findIndex((t) => t === 'rename' || t === 'set'),
        ),
        ledger,
      )
    )
      return 'rename or move';
  }
  if (first === 'DROP' && second === 'SCHEMA') {
    const tokens = words();
    if (tokens.includes('cascade') && tokens.slice(2).some((t) => unquote(t) === ledger.schema)) return 'drop (with its schema)';
  }
  return undefined;
}

/** Whether the tokens name the ledger: `table`, or `schema.table`, quoted or not. */
function namesLedger(tokens: readonly string[], ledger: LedgerName): boolean {
  return tokens.some((token, i) => {
    if (unquote(token) !== ledger.table) return false;
    const qualified = tokens[i - 1] === '.';
    return !qualified || unquote(tokens[i - 2] ?? '') === ledger.schema;
  });
}

const unquote = (token: string) => (token.startsWith('"') ? token.slice(1, -1) : token);

/** Throws the refusal for the first statement of `file` that would remove or empty the ledger. */
export function refuseLedgerRemoval(file: MigrationFile, ledger: LedgerName): void {
  for (const statement of file.statements) {
    const what = threat(statement, ledger);
    if (what === undefined) continue;
    const { line, column } = lineColumn(file.text, statement.start);
    const where = `${file.fileName}:${line}:${column}`;
    throw new ConfigError(
      `${where}: this statement would ${what} the ledger ${ledger.schema}.${ledger.table}, which records what is applied (XYN_LEDGER_TABLE); remove it (a leftover of a previous migration tool?), or give xyn-migrate another ledger with XYN_LEDGER_TABLE.`,
      { file: where, variable: 'XYN_LEDGER_TABLE' },
    );
  }
}
