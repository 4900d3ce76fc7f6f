/**
 * The `-- xyn:` comments of a file, as they stand between statements (where the lexer has already
 * ruled out quotes, so what is left there is whitespace and comments):
 *
 *   -- xyn:no-transaction                        (read by migrate; before the first statement)
 *   -- xyn:post-deploy                           (read by migrate; before the first statement)
 *   -- xyn:lint-ignore <rule-id> [<rule-id>…] [: why]      silences the rules in the whole file
 *   -- xyn:lint-ignore-next <rule-id> [<rule-id>…] [: why] silences them for the next statement
 */
import { migrationMode, migrationPhase, type MigrationMode } from '../migrations/naming.js';
import { blockCommentEnd, lineEnd, type Statement } from '../migrations/sql.js';
import { isRuleId, lintRules, ruleIds, type RuleId } from './rules.js';

export interface Comment {
  /** index of the comment's first character in the file text */
  readonly index: number;
  /** the text inside `--` … end of line, or inside `/*` … `*\/`, trimmed */
  readonly body: string;
  readonly kind: 'line' | 'block';
}

export interface Directives {
  readonly mode: MigrationMode;
  /** applied after the rollout (`--phase post`), when no release still reads what it drops */
  readonly postDeploy: boolean;
  readonly fileIgnores: ReadonlySet<RuleId>;
  /** statement number (its index in the file's statement list) → rules silenced for it */
  readonly statementIgnores: ReadonlyMap<number, ReadonlySet<RuleId>>;
  /** directives that have no effect: each is a `directive` finding */
  readonly problems: readonly { readonly index: number; readonly message: string }[];
}

const DIRECTIVE = /^xyn:([A-Za-z_-]*)(.*)$/s;

export function readDirectives(text: string, statements: readonly Statement[]): Directives {
  const firstStatement = statements[0]?.start ?? text.length;
  const mode = migrationMode(text, firstStatement);
  const postDeploy = migrationPhase(text, firstStatement) === 'post';
  const fileIgnores = new Set<RuleId>();
  const statementIgnores = new Map<number, Set<RuleId>>();
  const problems: { index: number; message: string }[] = [];
  for (const comment of commentsBetweenStatements(text, statements)) {
    const match = DIRECTIVE.exec(comment.body);
    if (!match) continue;
    const [, name = '', rest = ''] = match;
    const problem = (message: string) => problems.push({ index: comment.index, message });
    if (name === 'no-transaction' || name === 'post-deploy') {
      const effect = name === 'no-transaction' ? 'makes a file run without a transaction' : 'makes a file post-deploy';
      const otherwise = name === 'no-transaction' ? 'this file runs in a transaction' : 'this file runs before the rollout';
      if (comment.index > firstStatement) problem(`-- xyn:${name} after the first statement is ignored: ${otherwise}.`);
      else if (comment.kind === 'block') problem(`/* xyn:${name} */ is ignored: only a line comment, -- xyn:${name}, ${effect}.`);
    } else if (name === 'lint-ignore' || name === 'lint-ignore-next') {
      const rules = ruleList(rest, problem);
      if (name === 'lint-ignore') rules.forEach((rule) => fileIgnores.add(rule));
      else silenceNext(statements, comment.index, rules, statementIgnores, problem);
    } else {
      problem(
        `"xyn:${name}" is not a directive; the directives are xyn:no-transaction, xyn:post-deploy, xyn:lint-ignore and xyn:lint-ignore-next.`,
      );
    }
  }
  return { mode, postDeploy, fileIgnores, statementIgnores, problems };
}

/** "index-without-concurrently, syntax: the reason" → the rule ids before the reason. */
function ruleList(rest: string, problem: (message: string) => void): RuleId[] {
  const head = rest.split(/:|--|\u2014/, 1)[0] ?? '';
  const words = head.split(/[\s,]+/).filter((word) => word !== '');
  if (words.length === 0)
    problem('xyn:lint-ignore names no rule; write e.g. -- xyn:lint-ignore index-without-concurrently: why it is safe here.');
  const rules: RuleId[] = [];
  for (const word of words) {
    if (!isRuleId(word)) problem(`xyn:lint-ignore names "${word}", which is not a lint rule; the rules are ${silenceableRules()}.`);
    else if (!lintRules[word].silenceable) problem(`${word} cannot be silenced: ${lintRules[word].why}`);
    else rules.push(word);
  }
  return rules;
}

const silenceableRules = () => ruleIds.filter((rule) => lintRules[rule].silenceable).join(', ');

function silenceNext(
  statements: readonly Statement[],
  index: number,
  rules: readonly RuleId[],
  into: Map<number, Set<RuleId>>,
  problem: (message: string) => void,
): void {
  const next = statements.findIndex((statement) => statement.start > index);
  if (next < 0) return problem('xyn:lint-ignore-next has no statement after it.');
  const silenced = into.get(next) ?? new Set<RuleId>();
  rules.forEach((rule) => silenced.add(rule));
  into.set(next, silenced);
}

/** The comments outside every statement: before the first, between two, after the last. */
function commentsBetweenStatements(text: string, statements: readonly Statement[]): Comment[] {
  const comments: Comment[] = [];
  let from = 0;
  for (const statement of [...statements, undefined]) {
    const to = statement?.start ?? text.length;
    comments.push(...commentsIn(text, from, to));
    from = statement?.next ?? text.length;
  }
  return comments;
}

/** Comments in a stretch of text that holds nothing else (the lexer found no statement there). */
function commentsIn(text: string, from: number, to: number): Comment[] {
  const comments: Comment[] = [];
  let i = from;
  while (i < to) {
    if (text.startsWith('--', i)) {
      const end = Math.min(lineEnd(text, i), to);
      comments.push({ index: i, body: text.slice(i + 2, end).trim(), kind: 'line' });
      i = end;
    } else if (text.startsWith('/*', i)) {
      const closed = blockCommentEnd(text, i, to);
      const end = closed < 0 ? to : closed;
      comments.push({ index: i, body: text.slice(i + 2, end - 2).trim(), kind: 'block' });
      i = end;
    } else i++;
  }
  return comments;
}
