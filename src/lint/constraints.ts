/**
 * Constraints as SchemaHistory remembers them: by name, with the columns a CHECK proves NOT NULL;
 * and as a finding names them: their kind and the name PostgreSQL gives an unnamed one.
 */
import type { Constraint, Node } from 'libpg-query';
import { columnsProvenNotNull, columnsReferenced, names } from './expressions.js';
import type { SchemaHistory } from './history.js';

/** The SQL words of a table constraint's kind, and the suffix of PostgreSQL's default name for it. */
const KINDS: Partial<Record<NonNullable<Constraint['contype']>, { readonly words: string; readonly suffix: string }>> = {
  CONSTR_PRIMARY: { words: 'PRIMARY KEY', suffix: 'pkey' },
  CONSTR_UNIQUE: { words: 'UNIQUE', suffix: 'key' },
  CONSTR_FOREIGN: { words: 'FOREIGN KEY', suffix: 'fkey' },
  CONSTR_CHECK: { words: 'CHECK', suffix: 'check' },
  CONSTR_EXCLUSION: { words: 'EXCLUDE', suffix: 'excl' },
  CONSTR_NOTNULL: { words: 'NOT NULL', suffix: 'not_null' },
};

/** "PRIMARY KEY", "FOREIGN KEY", "CHECK"… */
export function constraintKind(constraint: Constraint): string {
  return KINDS[constraint.contype ?? 'CONSTR_NULL']?.words ?? 'CONSTRAINT';
}

/**
 * The constraint's name, or the one PostgreSQL gives it when it has none: `t_pkey`, `t_a_b_key`,
 * `t_a_fkey`, `t_a_excl`, `t_a_not_null`, and `t_a_check` for a CHECK on the one column `a`
 * (`t_check` when it reads several or none). USING INDEX without a name takes the index's name.
 * PostgreSQL's truncation of names beyond 63 bytes is left out.
 */
function constraintName(table: string, constraint: Constraint): string {
  if (constraint.conname) return constraint.conname;
  if (constraint.indexname) return constraint.indexname;
  const relation = table.slice(table.lastIndexOf('.') + 1);
  const suffix = KINDS[constraint.contype ?? 'CONSTR_NULL']?.suffix ?? 'check';
  const columns = constraintColumns(constraint);
  return [relation, ...columns, suffix].join('_');
}

function constraintColumns(constraint: Constraint): string[] {
  switch (constraint.contype) {
    case 'CONSTR_PRIMARY':
      return [];
    case 'CONSTR_FOREIGN':
      return names(constraint.fk_attrs);
    case 'CONSTR_CHECK': {
      const columns = columnsReferenced(constraint.raw_expr);
      return columns.length === 1 ? columns : [];
    }
    case 'CONSTR_EXCLUSION':
      return (constraint.exclusions ?? []).flatMap(exclusionColumn);
    default:
      return names(constraint.keys);
  }
}

/** An EXCLUDE element is a list of (index element, operator): the element's column. */
function exclusionColumn(element: Node): string[] {
  const first = 'List' in element ? element.List.items?.[0] : undefined;
  return first && 'IndexElem' in first && first.IndexElem.name ? [first.IndexElem.name] : [];
}

/** Remembers the constraint; returns its name (PostgreSQL's default one for an unnamed constraint). */
export function recordConstraint(history: SchemaHistory, table: string, constraint: Constraint): string {
  const name = constraintName(table, constraint);
  const notNull = constraint.contype === 'CONSTR_CHECK' ? columnsProvenNotNull(constraint.raw_expr) : [];
  history.constraintAdded(table, name, notNull, constraint.skip_validation !== true);
  return name;
}
