/**
 * The SQL a DO block runs. A file guards what PostgreSQL cannot (ADD CONSTRAINT has no IF NOT
 * EXISTS) with a DO block that looks in the catalog first, so the block's statements are read
 * like top-level ones, with the same history, for every rule but the guards: the block is the
 * guard. SQL built at run time (EXECUTE) is not read.
 */
import type { DoStmt } from 'libpg-query';
import { checkStatement } from './checks.js';
import type { Observation, StatementScope } from './observation.js';
import type { SqlParser } from './parser.js';
import type { RuleId } from './rules.js';

/** What the DO block's own IF NOT EXISTS … THEN decides at run time. */
const GUARD_RULES: ReadonlySet<RuleId> = new Set(['missing-if-not-exists', 'unguarded-constraint']);

/** Observations on the block's statements; each location is a byte offset into the DO statement's text. */
export function checkDoBlock(statement: DoStmt, statementText: string, scope: StatementScope, parser: SqlParser): Observation[] {
  if (language(statement) !== 'plpgsql') return [];
  const observations: Observation[] = [];
  let searchFrom = 0;
  for (const sql of parser.sqlInDoBlock(statementText)) {
    // PL/pgSQL keeps each statement's text as written, so it is found in order in the block
    const found = statementText.indexOf(sql, searchFrom);
    const index = found < 0 ? 0 : found;
    if (found >= 0) searchFrom = found + sql.length;
    const parsed = parser.parse(sql);
    if (parsed.kind !== 'parsed') continue;
    const offset = Buffer.byteLength(statementText.slice(0, index));
    for (const node of parsed.nodes) {
      for (const observation of checkStatement(node, scope)) {
        if (!GUARD_RULES.has(observation.rule)) observations.push({ ...observation, location: offset + (observation.location ?? 0) });
      }
    }
  }
  return observations;
}

function language(statement: DoStmt): string {
  for (const arg of statement.args ?? []) {
    if ('DefElem' in arg && arg.DefElem.defname === 'language' && arg.DefElem.arg && 'String' in arg.DefElem.arg)
      return (arg.DefElem.arg.String.sval ?? '').toLowerCase();
  }
  return 'plpgsql';
}
