/**
 * Constraints as SchemaHistory remembers them: by name, with the columns a CHECK proves NOT NULL.
 */
import type { Constraint } from 'libpg-query';
import { columnsProvenNotNull } from './expressions.js';
import type { SchemaHistory } from './history.js';

/** The constraint's name, or the one PostgreSQL gives an unnamed CHECK (`table_column_check`). */
function constraintName(table: string, constraint: Constraint): string {
  if (constraint.conname) return constraint.conname;
  const relation = table.slice(table.lastIndexOf('.') + 1);
  const [column] = columnsProvenNotNull(constraint.raw_expr);
  const kind = constraint.contype === 'CONSTR_FOREIGN' ? 'fkey' : 'check';
  return column === undefined ? `${relation}_${kind}` : `${relation}_${column}_${kind}`;
}

export function recordConstraint(history: SchemaHistory, table: string, constraint: Constraint): string {
  const name = constraintName(table, constraint);
  const notNull = constraint.contype === 'CONSTR_CHECK' ? columnsProvenNotNull(constraint.raw_expr) : [];
  history.constraintAdded(table, name, notNull, constraint.skip_validation !== true);
  return name;
}
