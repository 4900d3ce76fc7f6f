/**
 * One migration file through every rule: psql meta-commands and unclosed quotes (from the runner's
 * own lexer), its xyn: directives, then statement by statement, split exactly where migrate
 * splits them: transaction control, then the parser's tree.
 */
import type { LedgerName } from '../migrations/ledger-name.js';
import {
  blank,
  copiesFromClient,
  COPY_FROM_CLIENT,
  lex,
  lineColumn,
  lineEnd,
  refusedCharacter,
  transactionControlVerdict,
  type MetaCommand,
  type Statement,
} from '../migrations/sql.js';
import { checkStatement } from './checks.js';
import { readDirectives, type Directives } from './directives.js';
import { checkDoBlock } from './do-blocks.js';
import { newFinding, type Finding } from './findings.js';
import type { SchemaHistory } from './history.js';
import { indexOfByteOffset, type SqlParser } from './parser.js';
import type { StatementScope } from './observation.js';
import { lintRules, type RuleId } from './rules.js';

/** A finding before it has a line and column: `index` is into the file text. */
interface Draft {
  readonly rule: RuleId;
  readonly index: number;
  readonly message: string;
  /** the statement it belongs to, by its number in the file */
  readonly statement?: number;
}

export function lintFile(fileName: string, text: string, parser: SqlParser, history: SchemaHistory, ledger: LedgerName): Finding[] {
  history.startFile();
  const original = lex(text);
  const drafts: Draft[] = original.metaCommands.map((meta) => ({
    rule: 'psql-meta-command',
    index: meta.index,
    message: `"${meta.text}" is a psql meta-command.`,
  }));
  const refused = refusedCharacter(text);
  if (refused) drafts.push({ rule: 'unreadable-file', index: refused.index, message: `The file holds ${refused.what}.` });
  // Blanked (same length and lines), a meta-command no longer glues itself to the next statement.
  const sql = withoutMetaCommands(text, original.metaCommands);
  const lexed = original.metaCommands.length > 0 ? lex(sql) : original;
  const unclosed = lexed.unterminated;
  if (unclosed) drafts.push({ rule: 'unreadable-file', index: unclosed.index, message: `The ${unclosed.what} here is never closed.` });
  const directives = readDirectives(sql, lexed.statements);
  drafts.push(...directives.problems.map((problem) => ({ rule: 'directive' as const, ...problem })));
  const scope: StatementScope = {
    mode: directives.mode,
    postDeploy: directives.postDeploy,
    history,
    migrationId: fileName.replace(/(\.up)?\.sql$/, ''),
    ledger,
  };
  lexed.statements.forEach((statement, number) => {
    if (unclosed && statement.end > unclosed.index) return; // its text runs to the end of the file
    drafts.push(...lintStatement(statement, number, scope, parser));
  });
  return drafts
    .filter((draft) => !silenced(draft, directives))
    .map((draft) => newFinding(fileName, lineColumn(text, draft.index), draft.rule, draft.message));
}

function lintStatement(statement: Statement, number: number, scope: StatementScope, parser: SqlParser): Draft[] {
  if (copiesFromClient(statement)) {
    const sentence = COPY_FROM_CLIENT.charAt(0).toUpperCase() + COPY_FROM_CLIENT.slice(1);
    return [{ rule: 'psql-meta-command', index: statement.start, message: `${sentence}.`, statement: number }];
  }
  const control = transactionControlVerdict(statement, scope.mode);
  if (control === 'neutralised') return [];
  if (control !== 'not transaction control') {
    const sentence = control.refused.charAt(0).toUpperCase() + control.refused.slice(1);
    return [{ rule: 'transaction-control', index: statement.start, message: sentence, statement: number }];
  }
  const parsed = parser.parse(statement.text);
  if (parsed.kind === 'rejected') {
    return [
      { rule: 'syntax', index: statement.start + parsed.index, message: `PostgreSQL's parser: ${parsed.message}.`, statement: number },
    ];
  }
  return parsed.nodes.flatMap((node) =>
    [...checkStatement(node, scope), ...('DoStmt' in node ? checkDoBlock(node.DoStmt, statement.text, scope, parser) : [])].map(
      (observation) => ({
        rule: observation.rule,
        index: statement.start + (observation.location === undefined ? 0 : indexOfByteOffset(statement.text, observation.location)),
        message: observation.message,
        statement: number,
      }),
    ),
  );
}

function withoutMetaCommands(text: string, metaCommands: readonly MetaCommand[]): string {
  return metaCommands.reduce((sql, meta) => {
    return blank(sql, meta.index, lineEnd(sql, meta.index));
  }, text);
}

function silenced(draft: Draft, directives: Directives): boolean {
  if (!lintRules[draft.rule].silenceable) return false;
  if (directives.fileIgnores.has(draft.rule)) return true;
  return draft.statement !== undefined && (directives.statementIgnores.get(draft.statement)?.has(draft.rule) ?? false);
}
