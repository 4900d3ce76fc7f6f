/**
 * ALTER TABLE, command by command: guarded ADD COLUMN, guarded constraints, and the changes that
 * lock or rewrite a table other sessions are using. A table created earlier in the same file is
 * exempt from the locking rules: nobody else can see it yet.
 */
import type { AlterTableCmd, AlterTableStmt, ColumnDef } from 'libpg-query';
import { recordConstraint } from './constraints.js';
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
    case 'AT_AddConstraint': {
      if (!def || !('Constraint' in def)) return [];
      const name = recordConstraint(history, table, def.Constraint);
      const message = `ADD CONSTRAINT ${name} on ${table} outside a DO block that checks pg_constraint first.`;
      return [{ rule: 'unguarded-constraint', location: def.Constraint.location ?? at, message }];
    }
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
      const location = def && 'ColumnDef' in def ? def.ColumnDef.location : undefined;
      return [{ rule: 'column-type-change', location: location ?? at, message: `ALTER COLUMN ${cmd.name ?? '?'} TYPE on ${table}.` }];
    }
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
  const perRow = isNew ? undefined : perRowDefault(column);
  if (perRow) {
    const message = `ADD COLUMN ${name} on ${table} with ${perRow.what}: every existing row gets its own value, so ${table} is rewritten.`;
    observations.push({ rule: 'volatile-default', location: perRow.location ?? column.location, message });
  }
  return observations;
}
