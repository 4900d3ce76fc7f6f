/**
 * The changes the release still running during a rolling update cannot live with: a dropped or
 * renamed column or table (moving it to another schema renames it too), a column's new type. They belong in a `-- xyn:post-deploy` file,
 * applied after the rollout. A table the same file creates is exempt: no release knows it yet.
 */
import type { AlterObjectSchemaStmt, DropStmt, RenameStmt } from 'libpg-query';
import { objectName, tableName } from './expressions.js';
import type { Observation, StatementScope } from './observation.js';

/** `what` ("DROP COLUMN note on orders") in a file that runs before the rollout. */
export function breakingChange(what: string, location: number | undefined, scope: StatementScope): Observation[] {
  if (scope.postDeploy) return [];
  const message = `${what} runs before the rollout (no -- xyn:post-deploy): the release still serving uses what it changes.`;
  return [{ rule: 'breaking-change', location, message }];
}

export function rename(statement: RenameStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  if (scope.history.isNewTable(table)) return [];
  const at = statement.relation?.location;
  if (statement.renameType === 'OBJECT_COLUMN' && statement.relationType === 'OBJECT_TABLE')
    return breakingChange(`RENAME COLUMN ${statement.subname ?? '?'} TO ${statement.newname ?? '?'} on ${table}`, at, scope);
  if (statement.renameType === 'OBJECT_TABLE')
    return breakingChange(`ALTER TABLE ${table} RENAME TO ${statement.newname ?? '?'}`, at, scope);
  return [];
}

export function dropTables(statement: DropStmt, scope: StatementScope): Observation[] {
  const tables = (statement.objects ?? []).map(objectName).filter((table) => !scope.history.isNewTable(table));
  return tables.length === 0 ? [] : breakingChange(`DROP TABLE ${tables.join(', ')}`, undefined, scope);
}

export function setSchema(statement: AlterObjectSchemaStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  if (statement.objectType !== 'OBJECT_TABLE' || scope.history.isNewTable(table)) return [];
  return breakingChange(`ALTER TABLE ${table} SET SCHEMA ${statement.newschema ?? '?'}`, statement.relation?.location, scope);
}
