/**
 * The rules that read one parsed statement: guards, CONCURRENTLY, the statements that block
 * production traffic and those that break the release still running. A DO block's own
 * statements come here too (do-blocks.ts), without the guard rules.
 */
import type { CreateStmt, CreateTableAsStmt, DropStmt, IndexStmt, InsertStmt, Node } from 'libpg-query';
import { isLedgerTable, ledgerSqlName } from '../migrations/ledger-name.js';
import { alterTable } from './alter-table.js';
import { dropTables, rename, setSchema } from './breaking-change.js';
import { recordConstraint } from './constraints.js';
import { holdsText, tableName } from './expressions.js';
import { cluster, deleteRows, dropIndexes, lockTable, reindex, update, vacuum } from './long-locks.js';
import { concurrently, type Observation, type StatementScope } from './observation.js';

export function checkStatement(node: Node, scope: StatementScope): Observation[] {
  if ('CreateStmt' in node) return createTable(node.CreateStmt, scope);
  if ('CreateTableAsStmt' in node) return createTableAs(node.CreateTableAsStmt, scope);
  if ('IndexStmt' in node) return createIndex(node.IndexStmt, scope);
  if ('AlterTableStmt' in node) return alterTable(node.AlterTableStmt, scope);
  if ('InsertStmt' in node) return insert(node.InsertStmt, scope);
  if ('CreateSchemaStmt' in node)
    return unguarded(node.CreateSchemaStmt.if_not_exists, `CREATE SCHEMA ${node.CreateSchemaStmt.schemaname ?? ''}`, undefined);
  if ('CreateSeqStmt' in node) {
    const { sequence, if_not_exists } = node.CreateSeqStmt;
    return unguarded(if_not_exists, `CREATE SEQUENCE ${tableName(sequence)}`, sequence?.location);
  }
  if ('CreateExtensionStmt' in node)
    return unguarded(node.CreateExtensionStmt.if_not_exists, `CREATE EXTENSION ${node.CreateExtensionStmt.extname ?? ''}`, undefined);
  if ('DropStmt' in node) return drop(node.DropStmt, scope);
  if ('ReindexStmt' in node) {
    const concurrent = (node.ReindexStmt.params ?? []).some((p) => 'DefElem' in p && p.DefElem.defname === 'concurrently');
    return concurrent ? concurrently('REINDEX … CONCURRENTLY', scope) : reindex(node.ReindexStmt, scope);
  }
  if ('RenameStmt' in node) return rename(node.RenameStmt, scope);
  if ('AlterObjectSchemaStmt' in node) return setSchema(node.AlterObjectSchemaStmt, scope);
  if ('VacuumStmt' in node) return vacuum(node.VacuumStmt, scope);
  if ('ClusterStmt' in node) return cluster(node.ClusterStmt, scope);
  if ('LockStmt' in node) return lockTable(node.LockStmt, scope);
  if ('UpdateStmt' in node) return update(node.UpdateStmt, scope);
  if ('DeleteStmt' in node) return deleteRows(node.DeleteStmt, scope);
  return [];
}

function drop(statement: DropStmt, scope: StatementScope): Observation[] {
  if (statement.removeType === 'OBJECT_TABLE') return dropTables(statement, scope);
  if (statement.removeType !== 'OBJECT_INDEX') return [];
  return statement.concurrent ? concurrently('DROP INDEX CONCURRENTLY', scope) : dropIndexes(statement, scope);
}

function unguarded(ifNotExists: boolean | undefined, what: string, location: number | undefined): Observation[] {
  return ifNotExists ? [] : [{ rule: 'missing-if-not-exists', location, message: `${what} has no IF NOT EXISTS.` }];
}

function createTable(statement: CreateStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  scope.history.tableCreated(table);
  for (const element of statement.tableElts ?? []) {
    if ('Constraint' in element) recordConstraint(scope.history, table, element.Constraint);
  }
  return unguarded(statement.if_not_exists, `CREATE TABLE ${table}`, statement.relation?.location);
}

function createTableAs(statement: CreateTableAsStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.into?.rel);
  scope.history.tableCreated(table);
  const what = statement.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE … AS';
  return unguarded(statement.if_not_exists, `${what} ${table}`, statement.into?.rel?.location);
}

function createIndex(statement: IndexStmt, scope: StatementScope): Observation[] {
  const table = tableName(statement.relation);
  const location = undefined; // the statement's start: an IndexStmt carries no location of its own
  const index = statement.idxname ? `CREATE INDEX ${statement.idxname}` : `an unnamed CREATE INDEX on ${table}`;
  // an index lives in its table's schema
  if (statement.idxname) scope.history.indexCreated(tableName({ ...statement.relation, relname: statement.idxname }), table);
  const observations: Observation[] = [];
  if (!statement.if_not_exists) {
    const message = statement.idxname
      ? `${index} has no IF NOT EXISTS.`
      : `${index} cannot have IF NOT EXISTS: every run builds one more index.`;
    observations.push({ rule: 'missing-if-not-exists', location, message });
  }
  if (statement.concurrent) {
    observations.push(...concurrently(`${index} CONCURRENTLY`, scope));
  } else if (!scope.history.isNewTable(table)) {
    const message = `${index} builds without CONCURRENTLY on ${table}, a table this file does not create: writes to ${table} wait until it is built.`;
    observations.push({ rule: 'index-without-concurrently', location, message });
  }
  return observations;
}

/** A file recording its own id (`INSERT INTO … VALUES ('<its id>')`) anywhere but the configured ledger. */
function insert(statement: InsertStmt, scope: StatementScope): Observation[] {
  const relation = statement.relation;
  if (!relation?.relname || isLedgerTable(relation.schemaname, relation.relname, scope.ledger)) return [];
  if (!holdsText(statement.selectStmt, scope.migrationId)) return [];
  const message = `This file records its id ${scope.migrationId} in ${tableName(relation)}, but the ledger is ${ledgerSqlName(scope.ledger)} (XYN_LEDGER_SCHEMA=${scope.ledger.schema}, XYN_LEDGER_TABLE=${scope.ledger.table}).`;
  return [{ rule: 'foreign-ledger-insert', location: relation.location, message }];
}
