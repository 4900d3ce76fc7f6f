/**
 * ALTER TABLE, command by command: guarded ADD COLUMN, guarded constraints, and the changes that
 * lock or rewrite a table other sessions are using. A table created earlier in the same file is
 * exempt from the locking rules: nobody else can see it yet.
 */
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint } from 'libpg-query';
import { breakingChange } from './breaking-change.js';
import { constraintKind, recordConstraint } from './constraints.js';
import { perRowDefault, tableName } from './expressions.js';
import { concurrently, type Observation, type StatementScope } from './observation.js';

export function alterTable(statement: AlterTableStmt, scope: StatementScope): Observation[] {
  if (statement.objtype !== 'OBJECT_TABLE') return [];
  const table = tableName(statement.relation);
  const at = statement.relation?.location;
  return (statement.cmds ?? []).flatMap((cmd) => ('AlterTableCmd' in cmd ? alterTableCommand(cmd.AlterTableCmd, table, at, scope) : []));
}

function alterTableCommand(cmd: AlterTableCmd, table: string, at: number | undefined, scope: StatementScope): Observation[] {
  const { history } = scope;
  const isNew = history.isNewTable(table);
  const def = cmd.def;
  switch (cmd.subtype) {
    case 'AT_AddColumn':
      return def && 'ColumnDef' in def ? addColumn(cmd, def.ColumnDef, table, isNew) : [];
    case 'AT_AddConstraint':
      return def && 'Constraint' in def ? addConstraint(def.Constraint, table, at, scope) : [];
    case 'AT_ValidateConstraint': {
      const name = cmd.name ?? '?';
      const addedNotValidHere = history.constraintValidated(table, name);
      if (!addedNotValidHere || scope.mode === 'no-transaction') return [];
      const message = `VALIDATE CONSTRAINT ${name} on ${table} in the transaction that added it NOT VALID.`;
      return [{ rule: 'validate-in-same-transaction', location: at, message }];
    }
    case 'AT_DropConstraint':
      history.constraintDropped(table, cmd.name ?? '?');
      return [];
    case 'AT_SetNotNull': {
      const column = cmd.name ?? '?';
      if (isNew || history.hasValidatedNotNullCheck(table, column)) return [];
      const message = `ALTER COLUMN ${column} SET NOT NULL on ${table} with no validated CHECK (${column} IS NOT NULL) before it.`;
      return [{ rule: 'set-not-null-without-check', location: at, message }];
    }
    case 'AT_AlterColumnType': {
      if (isNew) return [];
      const column = cmd.name ?? '?';
      const location = (def && 'ColumnDef' in def ? def.ColumnDef.location : undefined) ?? at;
      const rewrite: Observation = { rule: 'column-type-change', location, message: `ALTER COLUMN ${column} TYPE on ${table}.` };
      return [rewrite, ...breakingChange(`ALTER COLUMN ${column} TYPE on ${table}`, location, scope)];
    }
    case 'AT_DropColumn':
      return isNew ? [] : breakingChange(`DROP COLUMN ${cmd.name ?? '?'} on ${table}`, at, scope);
    case 'AT_DetachPartition':
      return def && 'PartitionCmd' in def && def.PartitionCmd.concurrent ? concurrently('DETACH PARTITION … CONCURRENTLY', scope) : [];
    default:
      return [];
  }
}

function addColumn(cmd: AlterTableCmd, column: ColumnDef, table: string, isNew: boolean): Observation[] {
  const name = column.colname ?? '?';
  const observations: Observation[] = [];
  if (!cmd.missing_ok) {
    observations.push({
      rule: 'missing-if-not-exists',
      location: column.location,
      message: `ADD COLUMN ${name} on ${table} has no IF NOT EXISTS.`,
    });
  }
  if (isNew) return observations;
  const perRow = perRowDefault(column);
  if (perRow) {
    const message = `ADD COLUMN ${name} on ${table} with ${perRow.what}: every existing row gets its own value, so ${table} is rewritten.`;
    observations.push({ rule: 'volatile-default', location: perRow.location ?? column.location, message });
  }
  const constraints = (column.constraints ?? []).flatMap((node) => ('Constraint' in node ? [node.Constraint] : []));
  const has = (...kinds: Constraint['contype'][]) => constraints.some((constraint) => kinds.includes(constraint.contype));
  if (has('CONSTR_NOTNULL', 'CONSTR_PRIMARY') && !has('CONSTR_DEFAULT', 'CONSTR_IDENTITY', 'CONSTR_GENERATED') && !perRow) {
    const message = `ADD COLUMN ${name} on ${table} is NOT NULL without a DEFAULT: it fails where ${table} has rows.`;
    observations.push({ rule: 'not-null-column-without-default', location: column.location, message });
  }
  for (const constraint of constraints) {
    if (constraint.contype !== 'CONSTR_PRIMARY' && constraint.contype !== 'CONSTR_UNIQUE') continue;
    const message = `ADD COLUMN ${name} ${constraintKind(constraint)} on ${table} builds a unique index under an ACCESS EXCLUSIVE lock on ${table}.`;
    observations.push({ rule: 'constraint-builds-index', location: constraint.location ?? column.location, message });
  }
  return observations;
}

/**
 * ADD CONSTRAINT: the guard it lacks (a DO block drops that finding: it is the guard), and on a
 * table that already exists, the scan or the index build it does while holding its lock.
 */
function addConstraint(constraint: Constraint, table: string, at: number | undefined, scope: StatementScope): Observation[] {
  const name = recordConstraint(scope.history, table, constraint);
  const kind = constraintKind(constraint);
  const what = `ADD CONSTRAINT ${name} ${kind} on ${table}`;
  const location = constraint.location ?? at;
  const observations: Observation[] = [
    { rule: 'unguarded-constraint', location, message: `${what} outside a DO block that checks pg_constraint first.` },
  ];
  if (scope.history.isNewTable(table)) return observations;
  const validated = constraint.skip_validation !== true;
  if (validated && constraint.contype === 'CONSTR_CHECK') {
    const message = `${what} without NOT VALID: every row of ${table} is checked under an ACCESS EXCLUSIVE lock.`;
    observations.push({ rule: 'constraint-without-not-valid', location, message });
  } else if (validated && constraint.contype === 'CONSTR_FOREIGN') {
    const referenced = tableName(constraint.pktable);
    const message = `${what} without NOT VALID: every row of ${table} is checked against ${referenced} while writes to both wait.`;
    observations.push({ rule: 'constraint-without-not-valid', location, message });
  } else if (
    constraint.contype === 'CONSTR_PRIMARY' ||
    constraint.contype === 'CONSTR_UNIQUE' ||
    constraint.contype === 'CONSTR_EXCLUSION'
  ) {
    if (!constraint.indexname) {
      const message = `${what} builds its index under an ACCESS EXCLUSIVE lock on ${table}; no USING INDEX.`;
      observations.push({ rule: 'constraint-builds-index', location, message });
    }
  }
  return observations;
}
