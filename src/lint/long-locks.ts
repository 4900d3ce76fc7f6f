/**
 * Statements besides ALTER TABLE that hold a lock on a live table for as long as they run (or,
 * in a transactional file, until the file commits): index maintenance, table rewrites, explicit
 * locks and one-statement writes to every row. A table or index the same file created is exempt:
 * nobody else can see it yet.
 */
import type { ClusterStmt, DefElem, DeleteStmt, DropStmt, LockStmt, Node, ReindexStmt, UpdateStmt, VacuumStmt } from 'libpg-query';
import { columnsReferenced, objectName, tableName } from './expressions.js';
import type { Observation, StatementScope } from './observation.js';

export function reindex(statement: ReindexStmt, scope: StatementScope): Observation[] {
  const at = statement.relation?.location;
  const relation = tableName(statement.relation);
  switch (statement.kind) {
    case 'REINDEX_OBJECT_INDEX':
      return scope.history.isNewIndex(relation) ? [] : [reindexFinding(`REINDEX INDEX ${relation}`, at)];
    case 'REINDEX_OBJECT_TABLE':
      return scope.history.isNewTable(relation) ? [] : [reindexFinding(`REINDEX TABLE ${relation}`, at)];
    default:
      return [reindexFinding(`REINDEX ${(statement.kind ?? '').replace('REINDEX_OBJECT_', '')} ${statement.name ?? ''}`.trimEnd(), at)];
  }
}

const reindexFinding = (what: string, location: number | undefined): Observation => ({
  rule: 'reindex-without-concurrently',
  location,
  message: `${what} without CONCURRENTLY: writes to the table, and queries that use its indexes, wait for the rebuild.`,
});

export function dropIndexes(statement: DropStmt, scope: StatementScope): Observation[] {
  const indexes = (statement.objects ?? []).map(objectName).filter((index) => !scope.history.isNewIndex(index));
  if (indexes.length === 0) return [];
  const message = `DROP INDEX ${indexes.join(', ')} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table.`;
  return [{ rule: 'drop-index-without-concurrently', location: undefined, message }];
}

export function vacuum(statement: VacuumStmt, scope: StatementScope): Observation[] {
  const full = (statement.options ?? []).some((option) => 'DefElem' in option && option.DefElem.defname === 'full' && isOn(option.DefElem));
  if (!statement.is_vacuumcmd || !full) return [];
  const relations = (statement.rels ?? []).flatMap((rel) => ('VacuumRelation' in rel ? [rel.VacuumRelation.relation] : []));
  const live = relations.filter((relation) => !scope.history.isNewTable(tableName(relation)));
  if (relations.length > 0 && live.length === 0) return [];
  const what = live.length === 0 ? 'every table of the database' : live.map(tableName).join(', ');
  const message = `VACUUM FULL rewrites ${what} under an ACCESS EXCLUSIVE lock: no reads, no writes until it ends.`;
  return [{ rule: 'vacuum-full', location: live[0]?.location, message }];
}

/** `FULL`, `FULL true`, `FULL 1`, `FULL on` are on; `FULL false`, `FULL 0`, `FULL off` are not. */
function isOn(option: DefElem): boolean {
  const arg = option.arg;
  if (!arg) return true;
  if ('Boolean' in arg) return arg.Boolean.boolval === true;
  if ('Integer' in arg) return arg.Integer.ival !== undefined && arg.Integer.ival !== 0;
  if ('String' in arg) return !['false', 'off', 'no', '0'].includes((arg.String.sval ?? '').toLowerCase());
  return true;
}

export function cluster(statement: ClusterStmt, scope: StatementScope): Observation[] {
  const table = statement.relation ? tableName(statement.relation) : undefined;
  if (table !== undefined && scope.history.isNewTable(table)) return [];
  const what = table ?? 'every table clustered before';
  const message = `CLUSTER rewrites ${what} under an ACCESS EXCLUSIVE lock: no reads, no writes until it ends.`;
  return [{ rule: 'cluster', location: statement.relation?.location, message }];
}

/** PostgreSQL's lock modes by number, as LOCK TABLE's tree holds them (1 = ACCESS SHARE … 8). */
const LOCK_MODES = [
  '',
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
];
const ACCESS_EXCLUSIVE = 8;
/** SHARE, the weakest mode that conflicts with ROW EXCLUSIVE (what INSERT, UPDATE and DELETE take) */
const BLOCKS_WRITES = 5;

export function lockTable(statement: LockStmt, scope: StatementScope): Observation[] {
  const mode = statement.mode ?? ACCESS_EXCLUSIVE;
  if (mode < BLOCKS_WRITES) return [];
  const relations = (statement.relations ?? []).flatMap((node) => ('RangeVar' in node ? [node.RangeVar] : []));
  const live = relations.filter((relation) => !scope.history.isNewTable(tableName(relation)));
  if (live.length === 0) return [];
  const blocked = mode === ACCESS_EXCLUSIVE ? 'every read and write' : 'every write';
  const message = `LOCK TABLE ${live.map(tableName).join(', ')} IN ${LOCK_MODES[mode] ?? 'ACCESS EXCLUSIVE'} MODE: ${blocked} waits until the file commits.`;
  return [{ rule: 'lock-table', location: live[0]?.location, message }];
}

/**
 * UPDATE of every row: no WHERE, or a WHERE that reads only the columns the UPDATE sets — the
 * shape of a one-statement backfill (`SET c = … WHERE c IS NULL`), which selects rows by the value
 * it rewrites rather than by a batch of keys.
 */
export function update(statement: UpdateStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  if (scope.history.isNewTable(table)) return [];
  const set = (statement.targetList ?? []).flatMap((target) =>
    'ResTarget' in target && target.ResTarget.name ? [target.ResTarget.name] : [],
  );
  const where = statement.whereClause;
  let why: string;
  if (!where) why = 'has no WHERE';
  else if (columnsReferenced(where).length === 0) why = 'has a WHERE that reads no column';
  else if (!hasSubquery(where) && columnsReferenced(where).every((column) => set.includes(column)))
    why = `selects rows only by ${set.length === 1 ? 'the column it sets' : 'the columns it sets'}, not by a batch of keys`;
  else return [];
  const message = `UPDATE ${table} ${why}: every row it changes stays locked until the file commits.`;
  return [{ rule: 'whole-table-write', location: statement.relation?.location, message }];
}

export function deleteRows(statement: DeleteStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  if (statement.whereClause || scope.history.isNewTable(table)) return [];
  const message = `DELETE FROM ${table} has no WHERE: every row stays locked until the file commits.`;
  return [{ rule: 'whole-table-write', location: statement.relation?.location, message }];
}

function hasSubquery(tree: Node): boolean {
  return JSON.stringify(tree).includes('"SubLink"');
}
